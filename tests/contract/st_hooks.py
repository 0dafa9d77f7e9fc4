"""schemathesis hooks (SCHEMATHESIS_HOOKS=tests.contract.st_hooks): a token per role.

Each operation of the gateway's document names its roles (`x-roles`, and the bearer security
requirement). This provider sends the token (``PAKN_ST_TOKENS``: JSON role -> token, minted by
the test) of a role allowed to do what the request asks: for a body naming a `command`, a role
of that action in gateway/http/auth.py ``RULES`` (the head where a head may), else the operation's
first role. Open311 POSTs get the api_key (``PAKN_ST_API_KEY``) as the `api_key` query
parameter, as the document's security scheme says.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

from gateway.http.auth import HEAD, RULES

TOKENS: dict[str, str] = json.loads(os.environ.get("PAKN_ST_TOKENS", "{}"))
API_KEY = os.environ.get("PAKN_ST_API_KEY", "")


def role_for(roles: list[str], body: Any, path: str) -> str:
    command = body.get("command") if isinstance(body, dict) else None
    if isinstance(command, str):
        action = f"warning_{command}" if path.startswith("/v1/warnings") else command
        if action in RULES:
            allowed = RULES[action].roles
            return HEAD if HEAD in allowed else sorted(allowed)[0]
    return HEAD if HEAD in roles else roles[0]


@schemathesis.auth(refresh_interval=None)  # a token per request: never one cached for all
class RoleTokens:
    def get(self, case: Any, ctx: Any) -> tuple[str, str] | None:
        definition = case.operation.definition.raw
        roles = definition.get("x-roles") or []
        if roles:
            return ("bearer", TOKENS[role_for(roles, case.body, case.operation.path)])
        if any("open311_api_key" in req for req in definition.get("security", [])):
            return ("api_key", API_KEY)
        return None

    def set(self, case: Any, data: tuple[str, str] | None, ctx: Any) -> None:
        if data is None:
            return
        kind, value = data
        if kind == "api_key":
            case.query = {**(case.query or {}), "api_key": value}
        else:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {value}"}
