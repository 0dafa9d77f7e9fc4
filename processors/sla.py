"""SLA policy as data: how much working time each stage of a case may take (domain.md §4–§5).

The policy is a JSON document (shipped: ``processors/data/sla_policy.json``; an operator's file
replaces it through ``PAKN_SLA_POLICY``), read once per process. Stages are ``receive`` (counted
from submission), ``assign`` and ``handle`` (counted from receipt); only ``handle`` has levels
(``urgent`` | ``normal`` | ``complex``). Working time is counted by the working-time calendar
(``processors/calendar.py``); this module only adds sub-minute precision on top of its
whole-minute API, so that a test policy can use allowances of a few seconds.

A started stage is a frozen :class:`StageClock` value (``StageDeadline`` is the same type): it
carries ``due_at``/``warn_at`` and the pause history, and every operation (pause, resume,
extension, reclassification, completion) returns a new value or raises :class:`SlaError` with a
stable ``code``. Pure: no I/O except loading the policy file once.

Notation of durations (see docs/sla.md): a whole number and a unit — working time ``s``, ``m``,
``h``, ``d`` (1 d = 8 working hours); calendar time ``cs``, ``cm``, ``ch``, ``cd`` (only for the
extension cap).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from fractions import Fraction
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

from processors.calendar import TZ
from processors.catalogue import PROCESSES

__all__ = [
    "LEVELS",
    "STAGES",
    "Calendar",
    "Duration",
    "Level",
    "PolicyError",
    "SlaError",
    "SlaPolicy",
    "Stage",
    "StageClock",
    "StageDeadline",
    "StageOutcome",
    "StageRule",
    "add_working",
    "breach_instant",
    "clear_policy_cache",
    "default_policy",
    "receive_deadline",
    "working_between",
]

SHIPPED_POLICY = "sla_policy.json"

Stage = Literal["receive", "assign", "handle"]
Level = Literal["urgent", "normal", "complex"]
CountedFrom = Literal["submission", "receipt", "assignment"]
STAGES: tuple[Stage, ...] = get_args(Stage)
LEVELS: tuple[Level, ...] = get_args(Level)
_COUNTED_FROM: tuple[CountedFrom, ...] = get_args(CountedFrom)

DAY_SECONDS = 8 * 3600  # domain.md §7: one working day = 8 working hours, whatever the unit's hours
_ZERO = timedelta(0)
_MINUTE = timedelta(minutes=1)


class Calendar(Protocol):
    """What the SLA needs of ``processors.calendar.WorkingCalendar``."""

    def add(self, start: datetime, minutes: int) -> datetime: ...

    def elapsed(self, a: datetime, b: datetime) -> int: ...

    def next_working_instant(self, t: datetime) -> datetime: ...

    def periods_on(self, d: date) -> tuple[tuple[int, int], ...]: ...


class SlaError(ValueError):
    """A refused SLA operation; ``code`` is stable (events, API answers, metrics)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the field."""


# --- durations ------------------------------------------------------------------------------------
_DURATION = re.compile(r"\s*(\d+)\s*(c?)([smhd])\s*", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True, slots=True)
class Duration:
    """A policy duration: ``seconds`` of working time, or of calendar time if ``calendar``."""

    seconds: int
    calendar: bool = False
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Duration:
        """``"30s"``, ``"8h"``, ``"7d"`` (working; d = 8 h) or ``"30cd"``, ``"90cs"`` (calendar)."""
        m = _DURATION.fullmatch(text) if isinstance(text, str) else None
        if not m:
            raise ValueError(
                f"bad duration {text!r}: expected a whole number and a unit — working s, m, h, "
                "d (8 h) or calendar cs, cm, ch, cd — e.g. 8h, 7d, 30s, 30cd"
            )
        n, cal, unit = int(m.group(1)), bool(m.group(2)), m.group(3).lower()
        per = (24 * 3600 if cal else DAY_SECONDS) if unit == "d" else _UNIT_SECONDS[unit]
        return cls(n * per, cal, f"{n}{'c' if cal else ''}{unit}")

    @property
    def delta(self) -> timedelta:
        return timedelta(seconds=self.seconds)

    def __str__(self) -> str:
        return self.text or f"{self.seconds}{'cs' if self.calendar else 's'}"


# --- working time with sub-minute precision -------------------------------------------------------
def _aware(t: datetime) -> datetime:
    """Naive = Asia/Ho_Chi_Minh wall time (as in the calendar); results compare safely."""
    return t.replace(tzinfo=TZ) if t.tzinfo is None else t.astimezone(TZ)


def _period_end(cal: Calendar, s: datetime) -> datetime:
    """End of the office period containing the working instant ``s`` (local)."""
    midnight = s.replace(hour=0, minute=0, second=0, microsecond=0)
    tod = s - midnight
    for a, b in cal.periods_on(s.date()):
        if a * _MINUTE <= tod < b * _MINUTE:
            return midnight + b * _MINUTE
    raise AssertionError(f"{s} is not working time")  # pragma: no cover


def add_working(cal: Calendar, start: datetime, amount: timedelta) -> datetime:
    """``start`` + ``amount`` of working time, exact to the microsecond.

    Whole minutes go through ``cal.add`` (fast path: every production allowance); the remainder
    (< 1 min, only in second-scale test policies) walks the office periods, with the calendar's
    conventions: counting starts at the next working instant, a result on a period end stays there,
    and a zero amount returns ``start`` itself.
    """
    if amount < _ZERO:
        raise ValueError(f"working time must be >= 0, got {amount}")
    minutes, rest = divmod(amount, _MINUTE)
    t = _aware(cal.add(start, minutes))
    if not rest:
        return t
    s = _aware(cal.next_working_instant(t))
    while True:
        end = _period_end(cal, s)
        if s + rest <= end:
            return s + rest
        rest -= end - s
        s = _aware(cal.next_working_instant(end))


def working_between(cal: Calendar, a: datetime, b: datetime) -> timedelta:
    """Working time from ``a`` to ``b``, exact to the microsecond; negative if ``b < a``."""
    a, b = _aware(a), _aware(b)
    if b < a:
        return -working_between(cal, b, a)
    m = cal.elapsed(a, b)  # whole minutes, truncated: the remainder is < 1 working minute
    t = _aware(cal.add(a, m)) if m else a
    acc = _ZERO
    s = t
    while True:
        s = _aware(cal.next_working_instant(s))
        if s >= b:
            break
        end = _period_end(cal, s)
        acc += min(end, b) - s
        if end >= b:
            break
        s = end
    return m * _MINUTE + acc


def _push_working(cal: Calendar, instant: datetime, p: datetime, r: datetime) -> datetime:
    """Where an instant moves when the clock stops from ``p`` to ``r``.

    An instant already passed when the pause began stays. Otherwise the working time it was
    still ahead is granted again from the resumption: ``add(r, working(p, instant))``. A pause
    without working time changes nothing (so a pause over a weekend keeps the deadline).
    """
    if instant < p or working_between(cal, p, r) == _ZERO:
        return instant
    return add_working(cal, r, working_between(cal, p, instant))


def _push_calendar(instant: datetime, p: datetime, r: datetime) -> datetime:
    return instant if instant < p else instant + (r - p)


def _warn_offset(allowance: Duration, share: Fraction) -> timedelta:
    # Round up, to whole minutes when the allowance is whole minutes (warnings fall on minutes).
    unit = 60 if allowance.seconds % 60 == 0 else 1
    return timedelta(seconds=math.ceil(share * allowance.seconds / unit) * unit)


# --- the clock of a stage -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StageOutcome:
    """How a completed stage did: on time or late, and by how much working time."""

    on_time: bool
    late_working_minutes: int  # 0 when on time; truncated (may be 0 when late outside hours)
    used_working_minutes: int  # working time the stage used, pauses excluded
    late_working_seconds: int
    used_working_seconds: int
    # the working time the stage could use: from its start to its (moved, extended or bounded)
    # due, pauses excluded; the policy's allowance for a clock never moved. on_time iff
    # used <= allowance, and late = used - allowance (clock time for a clock-hour allowance)
    allowance_seconds: int = 0


@dataclass(frozen=True, slots=True)
class StageClock:
    """The deadline of one stage of one case, with its pause history.

    ``due_at``: the last instant at which completion is on time. ``warn_at`` (≤ ``due_at``): when
    the warning share of the allowance has been used. ``cap_at``: the latest instant an extension
    may reach (handling: 30 calendar days from receipt); ``limit_at``: an absolute bound from the
    submission (investor/business: receipt + assignment ≤ 8 working hours). Neither is ever
    passed by ``due_at``. Instants are aware, in Asia/Ho_Chi_Minh.
    """

    process: str
    stage: Stage
    level: Level | None
    counted_from: datetime
    due_at: datetime
    warn_at: datetime
    allowance_seconds: int  # what the policy grants for (process, stage, level)
    policy: str  # "name/version" of the policy that set it
    pausable: bool = False
    cap_at: datetime | None = None
    cap_is_calendar: bool = True  # how a pause moves the cap: by calendar or by working time
    limit_at: datetime | None = None
    paused_at: datetime | None = None
    pauses: tuple[tuple[datetime, datetime], ...] = ()
    paused_working: timedelta = _ZERO  # working time of the completed pauses
    legal_basis: str | None = None  # of the last extension; None if not extended
    # the allowance is clock time (urgent "4 giờ", the shipped reading): due = start + allowance
    allowance_is_calendar: bool = False
    pause_limit: int | None = None  # at most this many pauses (None: no bound)
    pause_budget_seconds: int | None = None  # at most this much working time paused in all

    @property
    def working_minutes(self) -> int:
        """The allowance in whole working minutes (``DeadlineSet.working_minutes``)."""
        return self.allowance_seconds // 60

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    @property
    def extended(self) -> bool:
        return self.legal_basis is not None

    # -- plain JSON (worker tables) ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: instants as ISO-8601 text, the paused working time in microseconds."""

        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat()

        return {
            "process": self.process,
            "stage": self.stage,
            "level": self.level,
            "counted_from": iso(self.counted_from),
            "due_at": iso(self.due_at),
            "warn_at": iso(self.warn_at),
            "allowance_seconds": self.allowance_seconds,
            "policy": self.policy,
            "pausable": self.pausable,
            "cap_at": iso(self.cap_at),
            "cap_is_calendar": self.cap_is_calendar,
            "limit_at": iso(self.limit_at),
            "paused_at": iso(self.paused_at),
            "pauses": [[iso(p), iso(r)] for p, r in self.pauses],
            "paused_working_us": self.paused_working // timedelta(microseconds=1),
            "legal_basis": self.legal_basis,
            "allowance_is_calendar": self.allowance_is_calendar,
            "pause_limit": self.pause_limit,
            "pause_budget_seconds": self.pause_budget_seconds,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StageClock:
        def t(value: str | None) -> datetime | None:
            return None if value is None else _aware(datetime.fromisoformat(value))

        return cls(
            process=d["process"],
            stage=d["stage"],
            level=d["level"],
            counted_from=_aware(datetime.fromisoformat(d["counted_from"])),
            due_at=_aware(datetime.fromisoformat(d["due_at"])),
            warn_at=_aware(datetime.fromisoformat(d["warn_at"])),
            allowance_seconds=d["allowance_seconds"],
            policy=d["policy"],
            pausable=d["pausable"],
            cap_at=t(d["cap_at"]),
            cap_is_calendar=d["cap_is_calendar"],
            limit_at=t(d["limit_at"]),
            paused_at=t(d["paused_at"]),
            pauses=tuple(
                (_aware(datetime.fromisoformat(p)), _aware(datetime.fromisoformat(r)))
                for p, r in d["pauses"]
            ),
            paused_working=timedelta(microseconds=d["paused_working_us"]),
            legal_basis=d["legal_basis"],
            allowance_is_calendar=d.get("allowance_is_calendar", False),
            pause_limit=d.get("pause_limit"),
            pause_budget_seconds=d.get("pause_budget_seconds"),
        )

    # -- pause / resume -------------------------------------------------------------------------
    def pause(self, at: datetime) -> StageClock:
        """Stop the clock while waiting for the sender's supplementary information."""
        at = _aware(at)
        if not self.pausable:
            raise SlaError(
                "pause_not_allowed",
                f"the policy does not allow pausing the {self.stage} stage of {self.process}",
            )
        if self.paused_at is not None:
            raise SlaError("already_paused", f"paused since {self.paused_at.isoformat()}")
        if self.pause_limit is not None and len(self.pauses) >= self.pause_limit:
            raise SlaError("pause_limit_reached", f"at most {self.pause_limit} pause(s)")
        if self.pause_budget_seconds is not None and self.paused_working >= timedelta(
            seconds=self.pause_budget_seconds
        ):
            raise SlaError("pause_budget_used", "the working time a clock may stop is used up")
        if at < self.counted_from:
            raise SlaError("pause_before_start", f"{at.isoformat()} is before the clock started")
        if at > self.due_at:
            # Stopping an overdue clock would turn a late stage into an on-time one.
            raise SlaError("pause_after_due", f"the stage was due at {self.due_at.isoformat()}")
        return replace(self, paused_at=at)

    def resume(self, at: datetime, calendar: Calendar) -> StageClock:
        """Restart the clock: due/warn/limit move by the working time spent paused."""
        if self.paused_at is None:
            raise SlaError("not_paused", "the clock is running")
        at = _aware(at)
        if at < self.paused_at:
            raise SlaError(
                "resume_before_pause", f"{at.isoformat()} is before {self.paused_at.isoformat()}"
            )
        return self._apply_pause(self.paused_at, at, calendar)

    def budget_end(self, p: datetime, cal: Calendar) -> datetime | None:
        """When a pause begun at ``p`` stops counting: the policy's budget of paused working
        time runs out (None: no budget)."""
        if self.pause_budget_seconds is None:
            return None
        left = max(timedelta(seconds=self.pause_budget_seconds) - self.paused_working, _ZERO)
        return add_working(cal, p, left)

    def _apply_pause(self, p: datetime, r: datetime, cal: Calendar) -> StageClock:
        end = self.budget_end(p, cal)
        if end is not None and end < r:
            r = end  # past its budget the pause no longer stops the clock
        if r == p:  # nothing happened: the same clock
            return replace(self, paused_at=None)
        if self.allowance_is_calendar:
            due, warn = _push_calendar(self.due_at, p, r), _push_calendar(self.warn_at, p, r)
        else:
            due = _push_working(cal, self.due_at, p, r)
            warn = _push_working(cal, self.warn_at, p, r)
        # The extension cap never moves (30 days from receipt stand, issue 14); the investor's
        # bound from the submission does not either: both stay limits of the due.
        due = _bounded(due, self.cap_at, self.limit_at)
        return replace(
            self,
            due_at=due,
            warn_at=min(warn, due),
            paused_at=None,
            pauses=(*self.pauses, (p, r)),
            paused_working=self.paused_working + working_between(cal, p, r),
        )

    # -- extension ------------------------------------------------------------------------------
    def extend(self, new_due: datetime, legal_basis: str) -> StageClock:
        """Move ``due_at`` later, citing the legal procedure that requires it (domain.md §5)."""
        new_due = _aware(new_due)
        if self.cap_at is None:
            raise SlaError(
                "extension_not_allowed",
                f"the policy allows no extension of the {self.stage} stage of {self.process}",
            )
        if not isinstance(legal_basis, str) or not legal_basis.strip():
            raise SlaError(
                "extension_without_legal_basis", "an extension must state its legal basis"
            )
        if self.paused_at is not None:
            # The due instant is not settled while paused: resume first, then extend.
            raise SlaError("clock_paused", f"paused since {self.paused_at.isoformat()}")
        if new_due <= self.due_at:
            raise SlaError(
                "extension_not_later",
                f"{new_due.isoformat()} is not after the due instant {self.due_at.isoformat()}",
            )
        bound = _bounded(new_due, self.cap_at, self.limit_at)
        if bound < new_due:
            raise SlaError(
                "extension_beyond_cap",
                f"{new_due.isoformat()} is after the cap {bound.isoformat()}",
            )
        return replace(self, due_at=new_due, legal_basis=legal_basis.strip())

    # -- completion -----------------------------------------------------------------------------
    def complete(self, done_at: datetime, calendar: Calendar) -> StageOutcome:
        """On time iff the stage used no more time than it was allowed (domain.md §5).

        Used = working time from the start to ``done_at``, pauses excluded; allowed = working
        time from the start to ``due_at`` (the policy's allowance, or the due as a pause, an
        extension or a bound left it), pauses excluded. Late = used - allowed, i.e. the working
        time from ``due_at`` to ``done_at``: a stage due Fri 17:00 and done Saturday, or Monday
        at 08:00, used its allowance and no more — on time. A stage completed while paused
        resumes at ``done_at`` (within the pause budget) and is judged then. A clock-hour
        allowance (urgent) counts clock time instead of working time.
        """
        done = _aware(done_at)
        c = self
        if c.paused_at is not None:
            c = c._apply_pause(c.paused_at, max(done, c.paused_at), calendar)
        if c.allowance_is_calendar:
            paused = sum((r - p for p, r in c.pauses), _ZERO)
            used = (done - c.counted_from) - paused
            allowed = (c.due_at - c.counted_from) - paused
            late = done - c.due_at if done > c.due_at else _ZERO
        else:
            used = working_between(calendar, c.counted_from, done) - c.paused_working
            allowed = working_between(calendar, c.counted_from, c.due_at) - c.paused_working
            late = working_between(calendar, c.due_at, done) if done > c.due_at else _ZERO
        used = max(used, _ZERO)  # a completion stamped before the start (clock skew) used nothing
        allowed = max(allowed, _ZERO)
        return StageOutcome(
            on_time=late <= _ZERO,
            late_working_minutes=late // _MINUTE,
            used_working_minutes=used // _MINUTE,
            late_working_seconds=late // timedelta(seconds=1),
            used_working_seconds=used // timedelta(seconds=1),
            allowance_seconds=allowed // timedelta(seconds=1),
        )


def breach_instant(clock: StageClock, calendar: Calendar) -> datetime | None:
    """The first instant at which the stage has used more than its allowance: the next working
    instant after ``due_at`` (plus 1 ms, the tick resolution) — Mon 08:00:00.001 for a due at
    Fri 17:00, 13:00:00.001 for a due at 12:00. A paused clock breaches only if its pause budget
    runs out first (None: a pause without a budget stops it indefinitely)."""
    c = clock
    if c.paused_at is not None:
        end = c.budget_end(c.paused_at, calendar)
        if end is None:
            return None
        c = c._apply_pause(c.paused_at, end, calendar)
    if c.allowance_is_calendar:
        return c.due_at + timedelta(milliseconds=1)
    return _aware(calendar.next_working_instant(c.due_at)) + timedelta(milliseconds=1)


StageDeadline = StageClock  # a started deadline is a clock; the name processors/case.py uses


def _bounded(due: datetime, *bounds: datetime | None) -> datetime:
    return min([due, *(b for b in bounds if b is not None)])


# --- the policy -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StageRule:
    """The rule of one stage of one process, after merging the process over the defaults."""

    stage: Stage
    counted_from: CountedFrom
    # {None: d} for receive and assign, one per level for handle
    allowances: Mapping[Level | None, Duration]
    pausable: bool = False
    extension_cap: Duration | None = None  # counted from the clock's start (receipt)
    total_from_submission: Duration | None = None
    max_pauses: int | None = None  # "pauses": {"max_count": N, ...}; None: no bound
    max_paused: Duration | None = None  # "pauses": {"max_working": "16h"}: in all, working time

    def allowance(self, level: Level | None) -> Duration:
        if self.stage == "handle":
            if level is None:
                raise SlaError("level_required", "the handling stage needs a level")
            if level not in self.allowances:
                raise SlaError("unknown_level", f"{level!r} is not one of {', '.join(LEVELS)}")
        elif level is not None:
            raise SlaError("level_not_applicable", f"the {self.stage} stage has no levels")
        return self.allowances[level]


@dataclass(frozen=True)
class SlaPolicy:
    """A loaded policy: one :class:`StageRule` per (process, stage), every known process."""

    name: str
    version: str
    warning_share: Fraction
    rules: Mapping[tuple[str, Stage], StageRule]
    source: str = ""  # the act(s) the policy implements
    origin: str = "shipped"  # where it was loaded from

    @property
    def id(self) -> str:
        """``name/version``: what every deadline records as its policy."""
        return f"{self.name}/{self.version}"

    @property
    def processes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for p, _ in self.rules))

    # -- loading --------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path | None = None) -> SlaPolicy:
        """``path`` (the operator's ``PAKN_SLA_POLICY``, passed by pakn.rules), else the shipped
        policy."""
        if not path:
            return cls.shipped()
        p = Path(path)
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise PolicyError(f"cannot read SLA policy {p}: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise PolicyError(f"{p}: not valid JSON ({exc})") from None
        return cls.from_mapping(doc, str(p))

    @classmethod
    def shipped(cls) -> SlaPolicy:
        """The policy shipped with the release (``processors/data/sla_policy.json``)."""
        text = resources.files("processors").joinpath("data", SHIPPED_POLICY).read_text("utf-8")
        return cls.from_mapping(json.loads(text), "shipped")

    @classmethod
    def from_mapping(cls, doc: Any, origin: str = "<mapping>") -> SlaPolicy:
        return _parse_policy(doc, origin)

    # -- deadlines ------------------------------------------------------------------------------
    def rule(self, process: str, stage: Stage) -> StageRule:
        if stage not in STAGES:
            raise SlaError("unknown_stage", f"{stage!r} is not one of {', '.join(STAGES)}")
        try:
            return self.rules[(process, stage)]
        except KeyError:
            raise SlaError("unknown_process", f"{process!r} is not in policy {self.id}") from None

    def deadline(
        self,
        process: str,
        stage: Stage,
        level: Level | None,
        counted_from: datetime,
        calendar: Calendar,
        *,
        submitted_at: datetime | None = None,
    ) -> StageClock:
        """Start the clock of a stage at ``counted_from`` (the instant the rule's
        ``counted_from`` names). ``submitted_at`` is needed when the rule also bounds the stage
        from the submission (investor/business assignment)."""
        rule = self.rule(process, stage)
        allowance = rule.allowance(level)
        start = _aware(counted_from)
        if allowance.calendar:  # clock hours (urgent "4 giờ"): no calendar to skip
            due = start + allowance.delta
            warn = start + _warn_offset(allowance, self.warning_share)
        else:
            due = add_working(calendar, start, allowance.delta)
            warn = add_working(calendar, start, _warn_offset(allowance, self.warning_share))
        cap_at = None
        if rule.extension_cap is not None:
            cap = rule.extension_cap
            cap_at = start + cap.delta if cap.calendar else add_working(calendar, start, cap.delta)
        limit_at = None
        if rule.total_from_submission is not None:
            if submitted_at is None:
                if rule.counted_from != "submission":
                    raise SlaError(
                        "submission_time_required",
                        f"the {stage} stage of {process} is also bounded from the submission",
                    )
                submitted_at = start
            limit_at = add_working(calendar, _aware(submitted_at), rule.total_from_submission.delta)
        due = _bounded(due, cap_at, limit_at)
        return StageClock(
            process=process,
            stage=stage,
            level=level,
            counted_from=start,
            due_at=due,
            warn_at=min(warn, due),
            allowance_seconds=allowance.seconds,
            policy=self.id,
            pausable=rule.pausable,
            cap_at=cap_at,
            cap_is_calendar=rule.extension_cap is None or rule.extension_cap.calendar,
            limit_at=limit_at,
            allowance_is_calendar=allowance.calendar,
            pause_limit=rule.max_pauses if rule.pausable else None,
            pause_budget_seconds=(
                rule.max_paused.seconds if rule.pausable and rule.max_paused else None
            ),
        )

    def reclassify(
        self,
        clock: StageClock,
        level: Level,
        calendar: Calendar,
        *,
        submitted_at: datetime | None = None,
    ) -> StageClock:
        """The handling clock at another level, recomputed from receipt (its ``counted_from``).

        Past pauses are replayed, an ongoing pause carries on; an extension is dropped (it was
        granted for the old level: ask again if still needed).
        """
        if clock.stage != "handle":
            raise SlaError("level_not_applicable", f"the {clock.stage} stage has no levels")
        fresh = self.deadline(
            clock.process,
            "handle",
            level,
            clock.counted_from,
            calendar,
            submitted_at=submitted_at,
        )
        for p, r in clock.pauses:
            fresh = fresh._apply_pause(p, r, calendar)
        return replace(fresh, paused_at=clock.paused_at)


# --- parsing a policy document --------------------------------------------------------------------
_TOP_KEYS = {
    "format",
    "name",
    "version",
    "source",
    "note",
    "warning_share",
    "defaults",
    "processes",
}
_RULE_KEYS = {
    "counted_from",
    "allowance",
    "levels",
    "pausable",
    "extension_cap",
    "total_from_submission",
    "pauses",
    "note",
}
_PAUSE_KEYS = {"max_count", "max_working", "note"}


def _duration(value: Any, where: str, *, calendar_ok: bool = False) -> Duration:
    try:
        d = Duration.parse(value)
    except ValueError as exc:
        raise PolicyError(f"{where}: {exc}") from None
    if d.seconds <= 0:
        raise PolicyError(f"{where}: must be longer than zero")
    if d.calendar and not calendar_ok:
        raise PolicyError(f"{where}: stage allowances are working time (s, m, h, d), not {d}")
    return d


def _rule(stage: Stage, raw: Mapping[str, Any], where: str) -> StageRule:
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise PolicyError(f"{where}: unknown field(s) {sorted(unknown)}")
    counted_from = raw.get("counted_from")
    if counted_from not in _COUNTED_FROM:
        raise PolicyError(f"{where}: 'counted_from' must be one of {', '.join(_COUNTED_FROM)}")
    if stage == "receive" and counted_from != "submission":
        raise PolicyError(f"{where}: receiving is counted from the submission")
    allowances: dict[Level | None, Duration] = {}
    if stage == "handle":
        levels = raw.get("levels")
        if "allowance" in raw or not isinstance(levels, Mapping) or set(levels) != set(LEVELS):
            raise PolicyError(
                f"{where}: handling needs 'levels' with exactly {', '.join(LEVELS)} "
                "(and no 'allowance')"
            )
        for lv in LEVELS:
            # a level may be clock time: the seed's urgent "4 giờ" drops "làm việc" (issue 14)
            allowances[lv] = _duration(levels[lv], f"{where}.levels.{lv}", calendar_ok=True)
    else:
        if "levels" in raw or "allowance" not in raw:
            raise PolicyError(f"{where}: needs an 'allowance' (levels are for handling only)")
        allowances[None] = _duration(raw["allowance"], f"{where}.allowance")
    pausable = raw.get("pausable", False)
    if not isinstance(pausable, bool):
        raise PolicyError(f"{where}: 'pausable' must be true or false")
    cap = raw.get("extension_cap")
    cap_d = None if cap is None else _duration(cap, f"{where}.extension_cap", calendar_ok=True)
    if cap_d is not None and not cap_d.calendar:
        longest = max(
            (d for d in allowances.values() if not d.calendar),
            key=lambda d: d.seconds,
            default=Duration(0),
        )
        if longest.seconds > cap_d.seconds:
            raise PolicyError(f"{where}: allowance {longest} exceeds the extension cap {cap_d}")
    total = raw.get("total_from_submission")
    total_d = None if total is None else _duration(total, f"{where}.total_from_submission")
    max_pauses, max_paused = _pause_bounds(raw.get("pauses"), where, pausable)
    return StageRule(
        stage, counted_from, allowances, pausable, cap_d, total_d, max_pauses, max_paused
    )


def _pause_bounds(raw: Any, where: str, pausable: bool) -> tuple[int | None, Duration | None]:
    """``"pauses": {"max_count": 2, "max_working": "5d"}``: the bounds of a pausable stage."""
    if raw is None:
        return None, None
    if not pausable:
        raise PolicyError(f"{where}.pauses: only a pausable stage has pause bounds")
    if not isinstance(raw, Mapping) or set(raw) - _PAUSE_KEYS:
        raise PolicyError(f"{where}.pauses: an object with max_count and/or max_working")
    count = raw.get("max_count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise PolicyError(f"{where}.pauses.max_count: a whole number >= 1")
    working = raw.get("max_working")
    paused = None if working is None else _duration(working, f"{where}.pauses.max_working")
    return count, paused


def _merge(default: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A process's stage over the default stage, field by field (``levels`` level by level)."""
    merged = {**default, **override}
    if isinstance(default.get("levels"), Mapping) and isinstance(override.get("levels"), Mapping):
        merged["levels"] = {**default["levels"], **override["levels"]}
    merged.pop("note", None)
    return merged


def _parse_policy(doc: Any, origin: str) -> SlaPolicy:
    if not isinstance(doc, Mapping):
        raise PolicyError(f"{origin}: expected a JSON object")
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise PolicyError(f"{origin}: unknown field(s) {sorted(unknown)}")
    if doc.get("format", 1) != 1:
        raise PolicyError(f"{origin}: unsupported format {doc.get('format')!r} (expected 1)")
    name, version = doc.get("name"), doc.get("version")
    for key, value in (("name", name), ("version", version)):
        if not isinstance(value, str) or not value.strip() or "/" in value:
            raise PolicyError(f"{origin}: '{key}' is required (text without '/')")
    raw_share = doc.get("warning_share", "0.75")
    try:
        if isinstance(raw_share, bool):
            raise ValueError
        share = Fraction(str(raw_share))
    except (ValueError, ZeroDivisionError):
        raise PolicyError(f"{origin}: 'warning_share' must be a number") from None
    if not 0 < share <= 1:
        raise PolicyError(f"{origin}: 'warning_share' must be in (0, 1], got {raw_share}")
    defaults = doc.get("defaults")
    if not isinstance(defaults, Mapping) or set(defaults) != set(STAGES):
        raise PolicyError(f"{origin}: 'defaults' must define exactly {', '.join(STAGES)}")
    processes = doc.get("processes", {})
    if not isinstance(processes, Mapping):
        raise PolicyError(f"{origin}: 'processes' must be an object")
    strangers = set(processes) - set(PROCESSES)
    if strangers:
        raise PolicyError(
            f"{origin}: unknown process(es) {sorted(strangers)} (known: {', '.join(PROCESSES)})"
        )
    rules: dict[tuple[str, Stage], StageRule] = {}
    for stage in STAGES:
        if not isinstance(defaults[stage], Mapping):
            raise PolicyError(f"{origin}: defaults.{stage} must be an object")
    # Every known process gets a rule: the ones not named use the defaults (domain.md §5).
    for process in PROCESSES:
        spec = processes.get(process, {})
        if not isinstance(spec, Mapping) or set(spec) - {*STAGES, "note"}:
            raise PolicyError(
                f"{origin}: processes.{process} may only hold {', '.join(STAGES)} and 'note'"
            )
        for stage in STAGES:
            override = spec.get(stage, {})
            if not isinstance(override, Mapping):
                raise PolicyError(f"{origin}: processes.{process}.{stage} must be an object")
            where = (
                f"{origin}: processes.{process}.{stage}"
                if stage in spec
                else (f"{origin}: defaults.{stage}")
            )
            rules[(process, stage)] = _rule(stage, _merge(defaults[stage], override), where)
    source = doc.get("source", "")
    return SlaPolicy(
        name=name.strip(),
        version=version.strip(),
        warning_share=share,
        rules=rules,
        source=source if isinstance(source, str) else "",
        origin=origin,
    )


@lru_cache(maxsize=1)
def default_policy() -> SlaPolicy:
    """The shipped policy, parsed once (data of the package). A process with a policy file of
    its own decides with its ``Rules.policy`` (pakn.rules): nothing here reads the environment."""
    return SlaPolicy.shipped()


def clear_policy_cache() -> None:
    default_policy.cache_clear()


def receive_deadline(
    submitted_at: datetime,
    calendar: Calendar,
    process: str = "field_feedback",
    policy: SlaPolicy | None = None,
) -> StageClock:
    """The receiving clock of a new submission under the default policy (processors/case.py)."""
    pol = policy or default_policy()
    return pol.deadline(process, "receive", None, submitted_at, calendar)
