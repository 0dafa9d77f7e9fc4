"""HTTP plumbing of the gateway: problems (errors), validation, responses, the route table and the
OpenAPI document generated from it."""
