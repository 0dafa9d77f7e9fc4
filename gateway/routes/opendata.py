"""Open data over HTTP (docs/open-data.md): a month's published results as CSV or GeoJSON and the
monthly oversight figures as CSV, streamed as the warehouse is read (the same generators as
`pakn export`, gateway/stores/opendata.py). Each chunk is produced off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from aiohttp import web

from gateway.http.errors import ApiError
from gateway.http.table import query_of
from gateway.keys import SETTINGS
from gateway.stores.opendata import ExportError, export_oversight, export_results

MEDIA = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json"}
_END = object()


async def _stream(
    request: web.Request, chunks: Iterator[bytes], fmt: str, name: str
) -> web.StreamResponse:
    loop = asyncio.get_running_loop()
    try:  # the first chunk before the headers: a bad parameter or a dead warehouse is a problem
        first = await loop.run_in_executor(None, next, chunks, _END)
    except ExportError as exc:
        raise ApiError(exc.code) from exc
    except Exception as exc:
        raise ApiError("warehouse_unavailable") from exc
    resp = web.StreamResponse(
        headers={
            "Content-Type": MEDIA[fmt],
            "Content-Disposition": f'inline; filename="{name}"',
            "Cache-Control": "public, max-age=300",
        }
    )
    await resp.prepare(request)
    chunk = first
    while chunk is not _END:
        await resp.write(chunk)  # type: ignore[arg-type]
        chunk = await loop.run_in_executor(None, next, chunks, _END)
    await resp.write_eof()
    return resp


async def results(request: web.Request) -> web.StreamResponse:
    q = query_of(request)
    fmt = request.match_info["format"]
    try:  # the parameters are checked here, before anything is read
        chunks = export_results(
            request.app[SETTINGS], fmt, q.month, q.unit, page=q.page, page_size=q.page_size
        )
    except ExportError as exc:
        raise ApiError(exc.code) from exc
    return await _stream(request, chunks, fmt, f"pakn-results-{q.month}.{fmt}")


async def oversight(request: web.Request) -> web.StreamResponse:
    q = query_of(request)
    try:
        chunks = export_oversight(request.app[SETTINGS], q.month, q.unit)
    except ExportError as exc:
        raise ApiError(exc.code) from exc
    return await _stream(request, chunks, "csv", f"pakn-oversight-{q.month}.csv")
