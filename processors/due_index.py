"""A time-ordered index of due instants: a heap with lazy invalidation.

``set`` replaces a case's entries, ``pop_due`` returns the entries whose instant has come — the
cost of a tick is proportional to what is due (plus superseded entries skipped once), not to the
number of open cases.
"""

from __future__ import annotations

import heapq

Key = tuple[str, str]  # (stage, kind)


class DueIndex:
    def __init__(self) -> None:
        self._heap: list[tuple[int, str, str, str]] = []
        self._by_case: dict[str, dict[Key, int]] = {}

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_case.values())

    def clear(self) -> None:
        self._heap.clear()
        self._by_case.clear()

    def set(self, case_id: str, entries: dict[Key, int]) -> None:
        """The case's entries are now exactly ``entries`` (an empty dict removes the case)."""
        old = self._by_case.get(case_id, {})
        if not entries:
            self._by_case.pop(case_id, None)
            return
        self._by_case[case_id] = dict(entries)
        for (stage, kind), at in entries.items():
            if old.get((stage, kind)) != at:
                heapq.heappush(self._heap, (at, case_id, stage, kind))

    def next_at(self) -> int | None:
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now_ms: int, limit: int = 10_000) -> list[tuple[int, str, str, str]]:
        """Remove and return up to ``limit`` current entries with instant <= now_ms."""
        out = []
        heap = self._heap
        while heap and heap[0][0] <= now_ms and len(out) < limit:
            at, case_id, stage, kind = heapq.heappop(heap)
            entries = self._by_case.get(case_id)
            if entries is None or entries.get((stage, kind)) != at:
                continue  # superseded or removed
            del entries[(stage, kind)]
            if not entries:
                del self._by_case[case_id]
            out.append((at, case_id, stage, kind))
        return out

    def _drop_stale(self) -> None:
        heap = self._heap
        while heap:
            at, case_id, stage, kind = heap[0]
            if self._by_case.get(case_id, {}).get((stage, kind)) == at:
                return
            heapq.heappop(heap)
