"""What the public may see of a case's outcome: defined once, for every reader (gateway, exports).

Pure: folds over a case's events as the warehouse stores them (``event_type``, ``payload``,
``occurred_at``); no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from processors.workflow import ANSWERED, TERMINAL

# A case whose result is public: published, then rated (closed or not satisfied).
PUBLISHED_STATUSES = ("published", "closed", "rated_unsatisfied")
# Open311's two statuses: closed once the unit answered (a result, a refusal, a withdrawal).
CLOSED_STATUSES = tuple(sorted(ANSWERED))
__all__ = ["CLOSED_STATUSES", "PUBLISHED_STATUSES", "TERMINAL", "published_result"]


def published_result(
    events: Iterable[Mapping[str, Any]], when: Callable[[Any], Any] = lambda t: t
) -> dict[str, Any] | None:
    """The result of the last approved round: the text and evidence of the proposal that the
    head approved (propose_result carries them; approve_result publishes; return_result drops
    the proposal). ``when`` formats the event times."""
    proposed: dict[str, Any] | None = None
    published: dict[str, Any] | None = None
    for e in events:
        if e["event_type"] != "case_transition":
            continue
        p = e["payload"]
        if p.get("command") == "propose_result":
            proposed = {
                "text": p.get("result_text"),
                "evidence": [
                    {"sha256": m.get("sha256"), "content_type": m.get("content_type")}
                    for m in p.get("evidence") or []
                ],
            }
        elif p.get("command") == "return_result":
            proposed = None
        elif p.get("command") == "approve_result" and proposed is not None:
            published = {**proposed, "published_at": when(e["occurred_at"])}
            proposed = None
    return published
