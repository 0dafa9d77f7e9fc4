"""`pakn worker`: builds the worker from its features and starts it.

    build(settings)  ->  Worker(rt, cases, ...)      (tests: build(settings, store="memory://"))
    run(settings)    ->  topics created, directory followed, faust started

The one place that knows every feature: cases first (the others hang on it), then oversight,
integrity, reception, warnings. Nothing is configured at import time.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Any

from pakn.settings import Settings
from streams import cases as cases_feature
from streams import integrity, oversight, reception, warnings
from streams.app import create_app
from streams.directory import LiveRouter, follow
from streams.health import install as install_health
from streams.runtime import KafkaOut, Out, Recorder, Runtime, send_to_kafka
from streams.sightings import SightingsFollower

log = logging.getLogger("worker")


@dataclass
class Worker:
    rt: Runtime
    cases: cases_feature.Cases
    tallies: Any
    integrity: integrity.Integrity
    reception: Any
    warnings: tuple[Any, ...]

    @property
    def app(self) -> Any:
        return self.rt.app


def build(
    settings: Settings,
    *,
    store: str = "rocksdb://",
    out: Out | None = None,
    live: LiveRouter | None = None,
) -> Worker:
    """The worker's app with every feature installed (nothing started). ``out``: how the
    features send (default: librdkafka, flushed before faust commits; tests: a Recorder)."""
    from pakn.rules import router_from_settings, rules_from_settings

    if live is None:
        live = LiveRouter(router_from_settings(settings))
    rules = rules_from_settings(settings, router=live.router)
    app = create_app(settings, store=store)
    if out is None:
        kafka = KafkaOut(settings)
        kafka.attach(app)
        out = kafka
    acked = out if isinstance(out, Recorder) else send_to_kafka
    rt = Runtime(app, settings, rules, out=out, acked_out=acked, live=live)
    rules.calendar(None)  # the default calendar's table is built now, not at the first input
    cases = cases_feature.install(rt)
    worker = Worker(
        rt,
        cases,
        tallies=oversight.install(rt),
        integrity=integrity.install(rt, cases),
        reception=reception.install(rt),
        warnings=warnings.install(rt),
    )
    install_health(rt)
    return worker


def run(settings: Settings) -> None:
    from pakn.logs import setup_logging
    from pakn.rules import router_from_settings
    from pakn.topics import create_compacted, create_topics

    setup_logging(settings.log_level, "worker")
    if settings.worker_uvloop:
        try:
            import uvloop  # faust's mode runs on the loop policy in place when it starts

            uvloop.install()
        except ImportError:
            log.warning("uvloop is not installed: running on asyncio's own loop")
    settings.worker_dir.mkdir(parents=True, exist_ok=True)
    live = LiveRouter(router_from_settings(settings))
    worker = build(settings, live=live)
    create_topics(settings)  # our topics exist with their documented config before faust looks
    names = [t.changelog_topic.get_topic_name() for t in worker.app.tables.values()]
    create_compacted(settings, [n for n in names if not n.startswith(settings.topic_prefix)])
    follow(settings, live)  # the published directory is read before the first submission
    # the integrity index holds the window's submissions before the first lookup
    feed = SightingsFollower(settings, worker.rt.rules.integrity.reuse_window_ms).start()
    if not feed.wait_ready(120):
        log.warning("the sightings feed is not at its end after 120 s: starting anyway")
    worker.integrity.feed = feed
    web = "--with-web" if settings.worker_web_port else "--without-web"  # the CLI flag wins
    sys.argv = ["pakn-worker", "worker", web, "--loglevel", settings.log_level.lower()]
    worker.app.main()
