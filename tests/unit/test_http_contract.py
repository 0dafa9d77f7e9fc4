"""One route table: the aiohttp routes and the OpenAPI document come from it and agree."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.http.errors import ERRORS, PROBLEM_JSON, ApiError
from gateway.http.middleware import errors_middleware
from gateway.http.openapi import openapi_document
from gateway.http.table import install
from gateway.routes import OPEN_DATA, TABLE

DOC = openapi_document(TABLE, "http://gateway.test")


def test_every_path_parameter_is_declared_and_every_operation_is_unique() -> None:
    ids = []
    for path, item in DOC["paths"].items():
        for op in item.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (path, declared)
            ids.append(op["operationId"])
    assert len(ids) == len(set(ids)) == len(TABLE)


def test_every_operation_documents_its_problems_and_who_may_call_it() -> None:
    for path, item in DOC["paths"].items():
        for method, op in item.items():
            codes = set(op["x-problem-codes"])
            assert codes <= set(ERRORS), (path, codes - set(ERRORS))
            statuses = {int(s) for s in op["responses"]}
            assert {ERRORS[c][0] for c in codes} <= statuses, (method, path)
            security = op.get("security", [])
            if any("bearer" in req for req in security):
                assert 401 in statuses, (method, path)
                assert {} in security or op["x-roles"], (method, path)  # optional, or its roles
            if "requestBody" in op:
                for media in op["requestBody"]["content"].values():
                    assert "schema" in media
                assert any("example" in m for m in op["requestBody"]["content"].values()) or (
                    method == "post" and path == "/v1/media"  # files: no JSON example
                ), (method, path)


def test_the_open_data_export_is_in_the_table_and_its_refusals_are_problems() -> None:
    assert OPEN_DATA and all(r in TABLE for r in OPEN_DATA)
    for r in OPEN_DATA:
        assert set(r.errors) <= set(ERRORS), r.operation_id


def test_a_problem_is_rfc_9457_with_the_stable_code_at_the_top() -> None:
    resp = ApiError("not_found").response()
    body = json.loads(resp.text or "")
    assert resp.content_type == PROBLEM_JSON and resp.status == 404
    assert body["type"] == "/problems/not_found" and body["status"] == 404
    assert body["code"] == "not_found" and body["title"] and body["detail"]
    assert body["message"] == {"vi": "Không tìm thấy.", "en": "Not found."}


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    app = web.Application(middlewares=[errors_middleware])
    install(app, TABLE)
    async with TestClient(TestServer(app)) as c:
        yield c


async def test_an_undeclared_method_is_405_with_the_paths_own_methods(client: TestClient) -> None:
    r = await client.delete("/v1/feedback")
    assert r.status == 405 and r.headers["Allow"] == "POST"
    assert (await r.json())["code"] == "method_not_allowed"
    r = await client.get("/v1/warnings/subscription")  # not taken for a warning id
    assert r.status == 405 and r.headers["Allow"] == "PUT"
    r = await client.delete("/open311/v2/requests.json")
    assert r.status == 405 and set(r.headers["Allow"].split(", ")) == {"GET", "POST"}
    assert (await r.json())[0]["code"] == 405  # GeoReport's own error list on its paths
