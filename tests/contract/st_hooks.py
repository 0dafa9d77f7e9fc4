"""schemathesis hooks (SCHEMATHESIS_HOOKS=tests.contract.st_hooks): a token per role.

Each operation of the gateway's document names its roles (`x-roles`, and the bearer security
requirement); this provider sends a token of the first of them, from ``PAKN_ST_TOKENS`` (JSON:
role -> token) that the test minted. Open311 POSTs get the api_key (``PAKN_ST_API_KEY``) as the
``api_key`` query parameter, as the document's security scheme says.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

TOKENS: dict[str, str] = json.loads(os.environ.get("PAKN_ST_TOKENS", "{}"))
API_KEY = os.environ.get("PAKN_ST_API_KEY", "")


@schemathesis.auth(refresh_interval=None)  # a token per operation: never one cached for all
class RoleTokens:
    def get(self, case: Any, ctx: Any) -> str | None:
        definition = case.operation.definition.raw
        roles = definition.get("x-roles") or []
        if roles:
            return TOKENS.get(roles[0])
        if any("open311_api_key" in req for req in definition.get("security", [])):
            return API_KEY
        return None

    def set(self, case: Any, data: str | None, ctx: Any) -> None:
        if data is None:
            return
        if data == API_KEY:
            case.query = {**(case.query or {}), "api_key": data}
        else:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
