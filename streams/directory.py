"""The worker's router, following the ``units.directory`` topic (docs/units-and-routing.md).

``LiveRouter`` answers like a ``processors.routing.Router`` (``route``, ``can_forward``,
``can_transfer``). A ``pakn.directory_topic.DirectoryFollower`` thread reads the topic and
``offer``s each complete publication as a Router (built by the pure core,
``processors.unit_records.build_router``); the router swaps it in on the event loop, before its
next answer. Until something is offered it answers with the files' router (the shipped files or
``PAKN_UNITS_FILE``/``PAKN_ROUTING_FILE``). ``follow`` starts the thread and waits until the
topic has been read to its end, before the worker consumes anything.

Why not a faust GlobalTable: see the doc page (faust-streaming 0.15.3 starved the stream
partitions of the worker that read the table as a standby, in about half of the two-worker runs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pakn.directory_topic import DirectoryFollower
from pakn.settings import Settings
from processors.routing import Route, Router, Verdict
from processors.units import Unit, install_hours_resolver, use_directory

log = logging.getLogger("worker.directory")


class LiveRouter:
    def __init__(self, fallback: Router, on_swap: Callable[[Router], Any] | None = None) -> None:
        self._current = fallback
        self._on_swap = on_swap if on_swap is not None else _use_in_process
        self._offered: tuple[Router, int] | None = None
        self.generation = 0  # 0: the files' router

    def offer(self, router: Router, generation: int) -> None:
        """A new complete publication (from any thread): used from the next answer on."""
        self._offered = (router, generation)  # one assignment: atomic for the reader

    @property
    def router(self) -> Router:
        offered = self._offered
        if offered is not None and offered[1] != self.generation:
            self._current, self.generation = offered
            self._on_swap(self._current)
            log.info(
                f"routing with units.directory generation {self.generation}: "
                f"{self._current.directory.describe()}; rules {self._current.rules.name}",
                extra={"generation": self.generation},
            )
        return self._current

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


def _use_in_process(router: Router) -> None:
    # Deadlines of units with office hours of their own follow the published directory, and so
    # does anything in the process that asks default_directory().
    install_hours_resolver(router.directory)
    use_directory(router.directory)


def follow(settings: Settings, router: LiveRouter, timeout: float = 30.0) -> DirectoryFollower:
    """Follow units.directory into ``router``; return once the topic has been read to its end
    (or after ``timeout``: then the worker starts with the files and swaps when it catches up)."""
    follower = DirectoryFollower(settings, router.offer).start()
    if not follower.wait_ready(timeout):
        log.warning(f"units.directory not read within {timeout:.0f} s: starting with the files")
    return follower
