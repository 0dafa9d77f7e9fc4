"""Submissions this gateway just accepted, readable at once (read-your-write).

A case is in the warehouse a second or two after Kafka confirmed it (worker, then sink). Until
then a client that reads the id it was just given — every Open311 client does — gets what the
gateway itself knows: the case exists, it is `submitted`, when, where and in which category.
Nothing about the sender is kept. Kept in memory, per gateway process, for ``ttl_s`` (behind
several gateways, a client reads through the same one — or waits for the warehouse).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AcceptedCase:
    case_id: str
    submitted_at: datetime
    category: str
    process: str
    title: str
    lat: float | None
    lon: float | None
    commune_code: str | None
    address: str | None
    confidential: bool
    channel: str


class AcceptedLog:
    def __init__(self, ttl_s: float = 600.0, keys: int = 50_000) -> None:
        self.ttl_s, self.keys = ttl_s, keys
        self._items: OrderedDict[str, tuple[float, AcceptedCase]] = OrderedDict()

    def put(self, case: AcceptedCase, now: float | None = None) -> None:
        self._items.pop(case.case_id, None)
        self._items[case.case_id] = (time.monotonic() if now is None else now, case)
        while len(self._items) > self.keys:
            self._items.popitem(last=False)

    def get(self, case_id: str, now: float | None = None) -> AcceptedCase | None:
        found = self._items.get(case_id)
        if found is None:
            return None
        at, case = found
        if (time.monotonic() if now is None else now) - at > self.ttl_s:
            self._items.pop(case_id, None)
            return None
        return case
