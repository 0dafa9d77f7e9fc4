"""Baseline of the gateway benchmark: a bare aiohttp handler that parses the same JSON and
answers 202 (no validation, no sealing, no Kafka). Run by bench/suite.py:

    .venv/bin/python bench/bare_gateway.py PORT
"""

from __future__ import annotations

import sys
import uuid

from aiohttp import web


async def post_feedback(request: web.Request) -> web.Response:
    body = await request.json()
    case_id = str(uuid.uuid4())
    return web.json_response(
        {"case_id": case_id, "status": "submitted", "title": body.get("title")},
        status=202,
        headers={"Location": f"/v1/cases/{case_id}"},
    )


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    app = web.Application()
    app.router.add_post("/v1/feedback", post_feedback)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
