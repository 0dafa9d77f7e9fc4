"""The route table's shape, and how it becomes aiohttp routes.

One ``Route`` says everything a client needs: method, path (OpenAPI template), handler, the body /
query / path models, who may call it (the actions of gateway/http/auth.py ``RULES``, hence the
roles),
every answer it can give (success replies, and the problem codes of the catalogue it may raise),
examples. ``install`` adds the aiohttp routes; gateway/http/openapi.py writes the document from
the same table, so the two cannot disagree.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel

from gateway.http.errors import ApiError, FieldError
from gateway.http.validation import validated

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Auth = Literal["none", "bearer", "bearer_optional", "api_key"]
QUERY = web.RequestKey("query", object)  # the validated query model of the route, if any


@dataclass(frozen=True)
class Param:
    """A path or header parameter (query parameters come from the route's query model)."""

    name: str
    where: Literal["path", "header", "query"]
    schema: Mapping[str, Any]
    description: str = ""
    required: bool = True
    route_pattern: str | None = None  # aiohttp's regex when not the schema's `pattern`


@dataclass(frozen=True)
class Reply:
    """A success answer: its schema (a pydantic model or a JSON Schema) per media type."""

    description: str
    schema: type[BaseModel] | Mapping[str, Any] | None = None
    media_types: tuple[str, ...] = ("application/json",)
    headers: Mapping[str, str] = field(default_factory=dict)  # name -> description
    links: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # OpenAPI links


@dataclass(frozen=True)
class Body:
    """A request body: a schema per media type, with an example for each."""

    content: Mapping[str, type[BaseModel] | Mapping[str, Any]]
    examples: Mapping[str, Any] = field(default_factory=dict)  # media type -> example value
    required: bool = True
    encoding: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # multipart parts


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    operation_id: str
    summary: str
    tag: str
    ok: Mapping[int, Reply]
    description: str = ""
    auth: Auth = "none"
    actions: tuple[str, ...] = ()  # gateway/http/auth.py RULES keys: the roles allowed
    body: Body | None = None
    query: type[BaseModel] | None = None
    params: tuple[Param, ...] = ()
    errors: tuple[str, ...] = ()  # problem codes (gateway/http/problems.toml) it may answer
    error_media_types: tuple[str, ...] = ("application/problem+json",)
    limited: bool = True  # behind the per-client rate limit (429)
    streaming: bool = False  # a never-ending answer (Server-Sent Events): not fuzzed

    def aiohttp_path(self) -> str:
        """The path with each path parameter's pattern as aiohttp's regex (a value that does
        not match is a 404 of the router, as for an unknown path)."""
        out = self.path
        for p in self.params:
            if p.where != "path":
                continue
            regex = p.route_pattern
            if regex is None and "pattern" in p.schema:
                regex = str(p.schema["pattern"]).removeprefix("^").removesuffix("$")
            if regex:
                out = out.replace("{" + p.name + "}", "{" + p.name + ":" + regex + "}")
        return out


def _header_problems(request: web.Request, params: tuple[Param, ...]) -> list[FieldError]:
    out = []
    for p in params:
        value = request.headers.get(p.name)
        if value is None:
            continue
        low, high = p.schema.get("minLength", 0), p.schema.get("maxLength", 1 << 30)
        if not low <= len(value) <= high:
            out.append(FieldError(p.name, "too_short" if len(value) < low else "too_long"))
    return out


def _checked(route: Route) -> Handler:
    """Check the route's headers and query model before the handler runs (400 invalid_header,
    invalid_query); the validated query is ``query_of(request)``."""
    handler, model = route.handler, route.query
    headers = tuple(p for p in route.params if p.where == "header")
    if model is None and not headers:
        return handler

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        if problems := _header_problems(request, headers):
            raise ApiError("invalid_header", problems)
        if model is not None:
            raw = {k: request.query.getone(k) for k in request.query}
            request[QUERY] = validated(model, raw, code="invalid_query")
        return await handler(request)

    return wrapped


def _not_allowed(allow: str) -> Handler:
    async def handler(_request: web.Request) -> web.StreamResponse:
        raise ApiError("method_not_allowed", headers={"Allow": allow})

    return handler


def install(app: web.Application, routes: Iterable[Route]) -> None:
    """The aiohttp routes of the table. Any other method on a path is 405 with the path's own
    methods in Allow; concrete paths are matched before templated ones (as OpenAPI says), so
    `/v1/warnings/subscription` is never taken for `/v1/warnings/{warning_id}`."""
    by_path: dict[str, list[Route]] = {}
    for r in routes:
        by_path.setdefault(r.aiohttp_path(), []).append(r)
    templates = [by_path[p][0].path for p in by_path]
    if len(set(templates)) != len(templates):  # one path, two patterns: two resources, wrong 405s
        raise ValueError(f"a path's parameters differ between its methods: {templates}")
    for path in sorted(by_path, key=lambda p: "{" in p):  # stable: concrete ones first
        for r in by_path[path]:
            app.router.add_route(r.method.upper(), path, _checked(r))
        allow = ", ".join(sorted({r.method.upper() for r in by_path[path]}))
        app.router.add_route("*", path, _not_allowed(allow))


def query_of(request: web.Request) -> Any:
    """The route's validated query model (see ``Route.query``)."""
    return request[QUERY]
