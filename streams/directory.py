"""The worker's router, fed by the ``units.directory`` global table (docs/units-and-routing.md).

``LiveRouter`` answers like a ``processors.routing.Router`` (``route``, ``can_forward``,
``can_transfer``). It is told when the table changes (``changed``) and rebuilds on the next
question: the pure core (``processors.unit_records.build_router``) turns the table's records into
a Router. Until the table holds a complete publication it answers with the files' router (the
shipped files or ``PAKN_UNITS_FILE``/``PAKN_ROUTING_FILE``); a publication in progress, or an
invalid one, keeps the last good router. ``LiveRouter`` needs no faust: the table is any mapping
bytes → bytes; ``directory_table`` declares the faust GlobalTable that feeds it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import faust

from processors.datafile import DataFileError
from processors.routing import Route, Router, Verdict
from processors.unit_records import DirectoryNotReady, Entry, build_router
from processors.units import Unit, install_hours_resolver
from schemas.codec import Codec, DecodeError

log = logging.getLogger("worker.directory")


class LiveRouter:
    def __init__(
        self,
        fallback: Router,
        table: Mapping[bytes, bytes],
        codec: Codec,
        on_swap: Callable[[Router], Any] | None = None,
    ) -> None:
        self._fallback = self._current = fallback
        self._table = table
        self._codec = codec
        self._on_swap = on_swap if on_swap is not None else _install_hours
        self._dirty = True
        self._last_problem = ""
        self.generation = 0  # 0: the files' router

    def changed(self) -> None:
        """The table changed (a changelog event): rebuild before the next answer."""
        self._dirty = True

    def refresh(self) -> Router:
        """Rebuild now (after the table's recovery) and return the router in use."""
        self._dirty = True
        return self.router

    @property
    def router(self) -> Router:
        if self._dirty:
            self._dirty = False
            self._rebuild()
        return self._current

    def _entries(self) -> dict[str, Entry]:
        out: dict[str, Entry] = {}
        for key, value in self._table.items():
            if value is None:
                continue
            try:
                out[key.decode()] = self._codec.decode(value)
            except (DecodeError, UnicodeDecodeError):
                out[key.decode("utf-8", "replace")] = ("?", {})
        return out

    def _rebuild(self) -> None:
        try:
            router, generation = build_router(self._entries())
        except (DirectoryNotReady, DataFileError) as exc:
            what = "the files" if self.generation == 0 else f"generation {self.generation}"
            problem = f"units.directory not usable, routing with {what}: {exc}"
            if problem != self._last_problem:  # once per distinct state, not per submission
                (log.warning if isinstance(exc, DataFileError) else log.info)(problem)
                self._last_problem = problem
            return
        self._last_problem = ""
        if generation == self.generation:
            return
        self._current, self.generation = router, generation
        self._on_swap(router)
        log.info(
            f"routing with units.directory generation {generation}: "
            f"{router.directory.describe()}; rules {router.rules.name}",
            extra={"generation": generation},
        )

    # -- the Router's questions ---------------------------------------------------------------
    def route(
        self,
        process: str,
        category: str,
        *,
        commune_code: str | None = None,
        unit_code: str | None = None,
    ) -> Route:
        return self.router.route(
            process, category, commune_code=commune_code, unit_code=unit_code
        )

    def can_forward(
        self,
        from_unit: Unit | str,
        to_unit: Unit | str,
        *,
        commune_code: str | None = None,
        category: str | None = None,
    ) -> Verdict:
        return self.router.can_forward(
            from_unit, to_unit, commune_code=commune_code, category=category
        )

    def can_transfer(
        self, from_unit: Unit | str, to_unit: Unit | str, *, category: str | None = None
    ) -> Verdict:
        return self.router.can_transfer(from_unit, to_unit, category=category)


def _install_hours(router: Router) -> None:
    # Deadlines of units with office hours of their own follow the published directory.
    install_hours_resolver(router.directory)


class _DirectoryTable(faust.GlobalTable):
    """faust 0.15.3's assignor names a global table's changelog by the default name
    (``<app id>-<table>-changelog``) even when the table has a changelog topic of its own, and
    the assignment fails (a KeyError, silently: the worker waits for ever). Name it by the topic
    the table really reads."""

    def _changelog_topic_name(self) -> str:
        return self.changelog_topic.get_topic_name()


def directory_table(
    app: faust.App,
    topic: str,
    on_change: Callable[[faust.EventT], Awaitable[None]],
    on_recover: Callable[[], Awaitable[None]],
) -> faust.GlobalTable:
    """The ``units.directory`` topic as a GlobalTable: every worker reads all of it.

    faust applies a global table's live changes one at a time (standby buffer 1); one partition
    and a recovery buffer of 1 are faust's advice against a recovery loop with several workers,
    and with a recovery buffer of 1 the partition is read on after recovery on the worker where
    it is "active" too. ``on_change`` runs just before each change is applied. The worker never
    writes it: ``pakn units publish`` does."""
    changelog = app.topic(
        topic, key_type=bytes, value_type=bytes, partitions=1, compacting=True
    )
    table = _DirectoryTable(
        app,
        name="units-directory",
        beacon=app.tables.beacon,
        key_type=bytes,
        value_type=bytes,
        partitions=1,
        changelog_topic=changelog,
        recovery_buffer_size=1,
        standby_buffer_size=1,
        is_global=True,
        on_changelog_event=on_change,
        on_recover=on_recover,
        help="The units.directory topic: unit code | @rules | @directory -> Avro record.",
    )
    return app.tables.add(table)
