"""The HTTP gateway: validate, publish to Kafka, answer 202 only once Kafka confirmed the write."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from gateway.http.auth import install_auth
from gateway.http.clients import trusted_networks
from gateway.http.limits import RateLimiter
from gateway.http.middleware import errors_middleware, limits_middleware
from gateway.http.table import install
from gateway.keys import (
    ACCEPTED,
    API_CLIENT_LIMITS,
    CLIENT_LIMITS,
    MEDIA,
    PRIVACY,
    PUBLISHER,
    READER,
    REPLIES,
    SENDER_LIMITS,
    SETTINGS,
    TRUSTED_PROXIES,
    UNITS,
)
from gateway.live_rules import use_directory, use_screener
from gateway.publisher import Publisher
from gateway.routes import TABLE, open311
from gateway.routes import privacy as privacy_routes
from gateway.routes import warnings as warnings_routes
from gateway.stores.accepted import AcceptedLog
from gateway.stores.media import (
    MediaStore,
    MediaUnavailable,
    open_store,
)
from gateway.stores.replies import Replies
from gateway.stores.warehouse import WarehouseReader
from pakn.directory_topic import DirectoryFollower
from pakn.logs import setup_logging
from pakn.privacy import load_privacy
from pakn.settings import Settings
from pakn.topics import COMMAND_RESULTS, RECEPTION_RESULTS
from processors.units import load_directory
from processors.wording import load_screener

log = logging.getLogger("gateway")


def _prepare_media(store: MediaStore) -> None:
    try:
        store.prepare()
        log.info("media store ready", extra={"where": store.where()})
    except MediaUnavailable as exc:
        log.warning("media store unavailable", extra={"error": str(exc)[:300]})


def build_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[errors_middleware, limits_middleware],
        client_max_size=settings.gateway_max_body_bytes,
    )
    app[CLIENT_LIMITS] = RateLimiter(settings.gateway_client_rate, settings.gateway_client_burst)
    app[API_CLIENT_LIMITS] = RateLimiter(
        settings.gateway_api_client_rate, settings.gateway_api_client_burst
    )
    app[TRUSTED_PROXIES] = trusted_networks(settings.gateway_trusted_proxies)
    app[SENDER_LIMITS] = RateLimiter(
        settings.gateway_sender_per_hour / 3600, max(1.0, settings.gateway_sender_per_hour)
    )
    app[SETTINGS] = settings
    app[MEDIA] = open_store(settings)
    app[PRIVACY] = load_privacy(settings)
    app[READER] = WarehouseReader(settings)
    app[ACCEPTED] = AcceptedLog()

    install_auth(app, settings)

    async def lifecycle(app: web.Application) -> Any:
        loop = asyncio.get_running_loop()
        # In the background: a store that is down must not hold the gateway's start (uploads
        # answer 503 meanwhile; the store prepares itself again before its next write).
        preparing = loop.run_in_executor(None, _prepare_media, app[MEDIA])
        app[PUBLISHER] = Publisher(settings.kafka_bootstrap, settings.gateway_delivery_timeout_s)
        app[REPLIES] = await loop.run_in_executor(
            None,
            Replies,
            settings.kafka_bootstrap,
            [COMMAND_RESULTS.name(settings), RECEPTION_RESULTS.name(settings)],
        )
        # unit names shown by the public API follow the published directory (units.directory)
        use_directory(load_directory(settings.units_file or None))  # until a publication
        use_screener(load_screener(settings.wordlist_file or None))
        app[UNITS] = DirectoryFollower(settings, lambda r, _g: use_directory(r.directory)).start()
        yield
        await preparing
        await loop.run_in_executor(None, app[UNITS].close)
        await loop.run_in_executor(None, app[REPLIES].close)
        await loop.run_in_executor(None, app[PUBLISHER].close)

    app.cleanup_ctx.append(lifecycle)
    open311.api_keys(settings)  # the development key exists from the start, not after a refusal
    install(app, TABLE)
    warnings_routes.setup(app, settings)  # the board of warnings (a Kafka consumer thread)
    privacy_routes.setup(app, settings)  # sender keys, sealed identities
    return app


def run(settings: Settings) -> None:
    setup_logging(settings.log_level, "gateway")
    log.info("gateway listening", extra={"url": settings.public_url})
    web.run_app(
        build_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        access_log=None,
        print=None,
        # long Open311 id lists and filters fit in a request line (aiohttp's default: 8 KiB);
        # passed through AppRunner to each RequestHandler
        max_line_size=32768,
        max_field_size=32768,
    )
