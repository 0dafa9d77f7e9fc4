"""Working-time calendar of the Vietnamese public sector (domain.md §5 deadlines, §7 public facts).

Days off come from the ``holidays`` package (country VN: fixed and lunar holidays, some swaps)
with a yearly override table on top (``processors/data/holiday_overrides.json`` plus the optional
files named by ``PAKN_CALENDAR_OVERRIDES``), because the package does not know every announced
swap.

Speed: an instant is mapped to its *working position* W(t) — the number of working microseconds
since 1 Jan ``MIN_YEAR`` — through a per-day prefix-sum table built once. ``add`` is then
"W(t) + minutes, mapped back" with one bisect, and ``elapsed`` is a difference of two positions:
no loop over minutes, days or weeks at call time. The table covers ``MIN_YEAR`` to
``PRELOAD_UNTIL`` at construction and is extended by whole years if a call needs later dates.

Pure computation: no I/O at call time other than the (rare) extension of the table past
``PRELOAD_UNTIL``, which asks the ``holidays`` package for more years.
"""

from __future__ import annotations

import json
import operator
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "DEFAULT_OFFICE_HOURS",
    "TZ",
    "CalendarBook",
    "DayInfo",
    "DayMode",
    "OfficeHours",
    "Override",
    "WorkingCalendar",
    "format_day",
    "load_default_overrides",
    "load_overrides",
    "load_shipped_overrides",
    "parse_duration",
]

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SHIPPED_OVERRIDES = "holiday_overrides.json"
# Asia/Ho_Chi_Minh is a fixed +07:00 over this whole range, so wall-clock arithmetic is exact.
MIN_YEAR = 2000
MAX_YEAR = 2200
PRELOAD_UNTIL = 2035

DayMode = Literal["hours", "end_of_day"]
OverrideKind = Literal["off", "work", "drop"]
Period = tuple[int, int]  # [start, end) in minutes since local midnight; end may be 1440

_US_MIN = 60_000_000
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_KINDS = ("off", "work", "drop")


# --- office hours ------------------------------------------------------------------------------
def _parse_periods(text: str) -> tuple[Period, ...]:
    """``"08:00-12:00,13:00-17:00"`` → ((480, 720), (780, 1020)); ``""`` or ``"-"`` → ()."""
    text = text.strip()
    if text in ("", "-"):
        return ()
    out: list[Period] = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", part)
        if not m:
            raise ValueError(f"bad office period {part.strip()!r} (expected HH:MM-HH:MM)")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        out.append((h1 * 60 + m1, h2 * 60 + m2))
    return tuple(out)


def _check_periods(periods: tuple[Period, ...], what: str) -> None:
    last_end = 0
    for start, end in periods:
        if not (0 <= start < end <= 1440) or start < last_end:
            raise ValueError(
                f"office hours for {what}: periods must be increasing, non-overlapping and within "
                f"00:00-24:00, got {periods!r}"
            )
        last_end = end


_STANDARD = _parse_periods("08:00-12:00,13:00-17:00")


@dataclass(frozen=True, slots=True)
class OfficeHours:
    """Office periods per weekday (Mon..Sun) in minutes since local midnight.

    ``makeup`` are the periods of a make-up working day that falls on a rest day (a swapped
    Saturday); ``day_minutes`` is the length of one "working day" in duration arithmetic
    (domain.md §7: 8 working hours = 1 working day, whatever the unit's actual hours are).
    Frozen and hashable so that units with equal hours share one calendar.
    """

    weekly: tuple[tuple[Period, ...], ...] = (_STANDARD,) * 5 + ((), ())
    makeup: tuple[Period, ...] = _STANDARD
    day_minutes: int = 480

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError("office hours need 7 weekdays (Mon..Sun)")
        for name, periods in zip(_DAY_NAMES, self.weekly, strict=True):
            _check_periods(periods, name)
        _check_periods(self.makeup, "make-up days")
        if not self.makeup:
            raise ValueError("office hours for make-up days must not be empty")
        if self.day_minutes <= 0:
            raise ValueError("day_minutes must be positive")

    @classmethod
    def from_mapping(
        cls, spec: Mapping[str, str], *, makeup: str | None = None, day_minutes: int = 480
    ) -> OfficeHours:
        """Build from ``{"mon-fri": "08:00-12:00,13:00-17:00", "sat": "08:00-11:30"}``.

        Keys are day names or ranges (``mon``…``sun``); days not named are rest days.
        ``makeup`` defaults to the Monday periods (a make-up day replaces a weekday).
        """
        weekly: list[tuple[Period, ...]] = [()] * 7
        for key, text in spec.items():
            first, _, last = key.strip().lower().partition("-")
            try:
                a = _DAY_NAMES.index(first)
                b = _DAY_NAMES.index(last) if last else a
            except ValueError:
                raise ValueError(
                    f"bad weekday key {key!r} (use mon..sun or e.g. mon-fri)"
                ) from None
            if b < a:
                raise ValueError(f"bad weekday range {key!r}")
            for wd in range(a, b + 1):
                weekly[wd] = _parse_periods(text)
        mk = _parse_periods(makeup) if makeup is not None else (weekly[0] or _STANDARD)
        return cls(weekly=tuple(weekly), makeup=mk, day_minutes=day_minutes)


DEFAULT_OFFICE_HOURS = OfficeHours()


# --- override table ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Override:
    """One row of the override table.

    kind ``off``: a day off; ``work``: a working day (a make-up Saturday gets ``makeup`` hours);
    ``drop``: a regular day — ignore whatever the ``holidays`` package says about this date.
    """

    day: date
    kind: OverrideKind
    name: str
    act: str
    source: str = "shipped"
    confirmed: bool = True
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"override kind must be one of {', '.join(_KINDS)}, not {self.kind!r}")


_ROW_KEYS = {"date", "kind", "name", "act", "confirmed", "note"}


def _parse_rows(doc: object, source: str) -> list[Override]:
    if not isinstance(doc, dict) or not isinstance(doc.get("days"), list):
        raise ValueError(f"{source}: expected an object with a 'days' list")
    if doc.get("format", 1) != 1:
        raise ValueError(f"{source}: unsupported format {doc.get('format')!r} (expected 1)")
    rows: list[Override] = []
    seen: set[date] = set()
    for n, raw in enumerate(doc["days"], start=1):
        where = f"{source}: row {n}"
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: expected an object")
        unknown = set(raw) - _ROW_KEYS
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
        try:
            day = date.fromisoformat(str(raw["date"]))
        except (KeyError, ValueError):
            raise ValueError(f"{where}: 'date' must be YYYY-MM-DD") from None
        kind = raw.get("kind")
        if kind not in _KINDS:
            raise ValueError(f"{where} ({day}): 'kind' must be one of {', '.join(_KINDS)}")
        name, act = raw.get("name"), raw.get("act")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{where} ({day}): 'name' is required")
        if not isinstance(act, str) or not act.strip():
            raise ValueError(f"{where} ({day}): 'act' (the act the row cites) is required")
        confirmed = raw.get("confirmed", True)
        if not isinstance(confirmed, bool):
            raise ValueError(f"{where} ({day}): 'confirmed' must be true or false")
        if day in seen:
            raise ValueError(f"{where}: {day} appears twice in the same file")
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise ValueError(f"{where}: {day} outside {MIN_YEAR}..{MAX_YEAR}")
        seen.add(day)
        rows.append(
            Override(
                day, kind, name.strip(), act.strip(), source, confirmed, str(raw.get("note", ""))
            )
        )
    return rows


def load_overrides(path: str | Path) -> list[Override]:
    """Rows of one override file (JSON, see docs/calendar.md); ``ValueError`` says what is wrong."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read calendar overrides {p}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}: not valid JSON ({exc})") from None
    return _parse_rows(doc, str(p))


def load_shipped_overrides() -> list[Override]:
    text = resources.files("processors").joinpath("data", SHIPPED_OVERRIDES).read_text("utf-8")
    return _parse_rows(json.loads(text), "shipped")


def load_default_overrides(paths: Iterable[str] = ()) -> list[Override]:
    """The shipped table, then each file of ``paths`` (the operator's: ``PAKN_CALENDAR_OVERRIDES``,
    read by pakn.rules). Later rows for the same date replace earlier ones when merged by
    ``WorkingCalendar``."""
    rows = load_shipped_overrides()
    for part in paths:
        if part.strip():
            rows.extend(load_overrides(part.strip()))
    return rows


# --- durations ---------------------------------------------------------------------------------
_DURATION = re.compile(r"\s*(\d+)\s*([mhd])\s*", re.IGNORECASE)


def _split_duration(text: str) -> tuple[int, str]:
    m = _DURATION.fullmatch(text)
    if not m:
        raise ValueError(
            f"bad duration {text!r}: expected a whole number and a unit, e.g. 480m, 8h or 7d"
        )
    return int(m.group(1)), m.group(2).lower()


def parse_duration(text: str, *, day_minutes: int = 480) -> int:
    """``"480m"`` / ``"8h"`` / ``"7d"`` → working minutes (``d`` = ``day_minutes``, i.e. 8 h)."""
    n, unit = _split_duration(text)
    return n * {"m": 1, "h": 60, "d": day_minutes}[unit]


# --- the calendar ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DayInfo:
    """What the calendar says about one date, and why (for ``pakn calendar days``)."""

    day: date
    working: bool
    periods: tuple[Period, ...]
    name: str  # "" for a regular day
    source: str  # "" for a regular day
    confirmed: bool = True


class _Table(NamedTuple):
    """Per-day data from 1 Jan MIN_YEAR to 31 Dec ``last_year`` (index = ordinal - first_ord)."""

    first_ord: int
    last_year: int
    periods: list[tuple[tuple[int, int], ...]]  # working periods in µs since local midnight
    cum: list[int]  # cum[i]: working µs before day i (len = days + 1)
    ends: list[int]  # ends[i] = cum[i + 1]: working µs up to the end of day i
    wcount: list[int]  # wcount[i]: working days before day i (len = days + 1)
    bases: list[datetime]  # local midnight of day i, aware


@lru_cache(maxsize=16)
def _package_days(first: int, last: int) -> tuple[dict[date, str], frozenset[date]]:
    """Holidays and make-up working days the ``holidays`` package knows for years first..last."""
    # One year either side: a swap may cross the year end (e.g. 27 Dec 2014 for 2 Jan 2015).
    vn = holidays.VN(years=range(first - 1, last + 2), language="en_US")
    off = {d: str(n) for d, n in vn.items() if first <= d.year <= last}
    work = frozenset(d for d in getattr(vn, "weekend_workdays", ()) if first <= d.year <= last)
    return off, work


def _local(t: datetime) -> datetime:
    tz = t.tzinfo
    if tz is TZ:
        return t
    if tz is None:  # naive means Asia/Ho_Chi_Minh wall time
        return t.replace(tzinfo=TZ)
    return t.astimezone(TZ)


class WorkingCalendar:
    """Working time of one set of office hours, public holidays and the override table.

    Instants may be aware (any zone) or naive (= Asia/Ho_Chi_Minh); results are aware in
    Asia/Ho_Chi_Minh. Working periods are half-open: 08:00 is working time, 12:00 and 17:00 are not.
    """

    def __init__(
        self,
        office_hours: OfficeHours = DEFAULT_OFFICE_HOURS,
        *,
        day_mode: DayMode = "hours",
        overrides: Iterable[Override] | None = None,
        public_holidays: bool = True,
    ) -> None:
        if day_mode not in ("hours", "end_of_day"):
            raise ValueError(f"day_mode must be 'hours' or 'end_of_day', not {day_mode!r}")
        self.office_hours = office_hours
        self.day_mode: DayMode = day_mode
        # False: the office hours alone (no holidays, no swaps) — demos and clock tests that must
        # tick at any hour of any day; never a unit's real calendar.
        self.public_holidays = public_holidays
        rows = load_shipped_overrides() if overrides is None else overrides
        merged: dict[date, Override] = {}
        for row in rows:  # later rows win: operator files replace shipped rows
            merged[row.day] = row
        self.overrides: Mapping[date, Override] = merged
        self.package_version: str = holidays.__version__
        self._table = self._build(PRELOAD_UNTIL)

    # -- table ----------------------------------------------------------------------------------
    def _classify(
        self, d: date, pkg_off: Mapping[date, str], pkg_work: frozenset[date]
    ) -> tuple[Period, ...]:
        hours = self.office_hours
        weekly = hours.weekly[d.weekday()]
        if not self.public_holidays:
            return weekly
        row = self.overrides.get(d)
        if row is not None:
            if row.kind == "off":
                return ()
            if row.kind == "work":
                return weekly or hours.makeup
            return weekly  # drop: a regular day whatever the package says
        if d in pkg_off:
            return ()
        if d in pkg_work:
            return weekly or hours.makeup
        return weekly

    def _build(self, last_year: int, old: _Table | None = None) -> _Table:
        """The table up to ``last_year``; extends ``old`` in place of rebuilding it."""
        if old is None:
            first_year = MIN_YEAR
            first_ord = date(MIN_YEAR, 1, 1).toordinal()
            periods: list[tuple[tuple[int, int], ...]] = []
            cum, wcount, bases = [0], [0], []
        else:
            first_year = old.last_year + 1
            first_ord = old.first_ord
            # Copies: a reader still holding the old table keeps a consistent view.
            periods, cum, wcount, bases = (
                list(old.periods),
                list(old.cum),
                list(old.wcount),
                list(old.bases),
            )
        pkg_off, pkg_work = _package_days(first_year, last_year)
        us_cache: dict[tuple[Period, ...], tuple[tuple[int, int], ...]] = {}
        total, count = cum[-1], wcount[-1]
        d = date(first_year, 1, 1)
        end = date(last_year, 12, 31).toordinal()
        one = timedelta(days=1)
        while d.toordinal() <= end:
            ps = self._classify(d, pkg_off, pkg_work)
            us = us_cache.get(ps)
            if us is None:
                us = us_cache[ps] = tuple((s * _US_MIN, e * _US_MIN) for s, e in ps)
            periods.append(us)
            if us:
                total += sum(e - s for s, e in us)
                count += 1
            cum.append(total)
            wcount.append(count)
            bases.append(datetime(d.year, d.month, d.day, tzinfo=TZ))
            d += one
        return _Table(first_ord, last_year, periods, cum, cum[1:], wcount, bases)

    def _extend(self, year: int) -> _Table:
        if year > MAX_YEAR:
            raise ValueError(f"the working calendar covers {MIN_YEAR}..{MAX_YEAR} only")
        tab = self._table
        if year > tab.last_year:
            tab = self._table = self._build(year, tab)
        return tab

    def _pos(self, local: datetime) -> tuple[_Table, int, int]:
        """(table, day index, µs since local midnight) of a local instant."""
        tab = self._table
        i = local.toordinal() - tab.first_ord
        if i < 0:
            raise ValueError(f"the working calendar covers {MIN_YEAR}..{MAX_YEAR} only")
        if i >= len(tab.periods):
            tab = self._extend(local.year)
        tod = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 + local.microsecond
        return tab, i, tod

    @staticmethod
    def _w(tab: _Table, i: int, tod: int) -> int:
        """Working position: working µs from the table origin up to the instant."""
        w = tab.cum[i]
        for s, e in tab.periods[i]:
            if tod <= s:
                break
            w += (tod if tod < e else e) - s
        return w

    def _ends_beyond(self, target: int) -> _Table:
        """A table whose last day ends at or after working position ``target``."""
        tab = self._table
        while tab.ends[-1] < target:
            # ~250 working days a year: jump close to the year needed, then step.
            per_year = 250 * self.office_hours.day_minutes * _US_MIN
            years = max(1, (target - tab.ends[-1]) // per_year)
            tab = self._extend(min(MAX_YEAR + 1, tab.last_year + years))
        return tab

    # -- public API -----------------------------------------------------------------------------
    def add(self, start: datetime, minutes: int) -> datetime:
        """The instant ``minutes`` working minutes after ``start``.

        Counting starts at the next working instant; a result that lands exactly on the end of a
        period is that end (12:00, 17:00), not the next start. ``minutes == 0`` returns ``start``
        unchanged (in Asia/Ho_Chi_Minh), so ``add(add(t, a), b) == add(t, a + b)`` always holds.
        Negative ``minutes`` raise ``ValueError``.
        """
        minutes = operator.index(minutes)  # whole minutes only: floats would break exactness
        if minutes < 0:
            raise ValueError(f"minutes must be >= 0, got {minutes}")
        local = _local(start)
        if minutes == 0:
            return local
        tab, i, tod = self._pos(local)
        target = self._w(tab, i, tod) + minutes * _US_MIN
        ends = tab.ends
        if ends[-1] < target:
            tab = self._ends_beyond(target)
            ends = tab.ends
        # Smallest instant whose working position reaches the target: that day, then its period.
        j = bisect_left(ends, target, i)
        r = target - tab.cum[j]
        for s, e in tab.periods[j]:
            if r <= e - s:
                return tab.bases[j] + timedelta(microseconds=s + r)
            r -= e - s
        raise AssertionError("unreachable: cumulative table inconsistent")  # pragma: no cover

    def add_hours(self, start: datetime, hours: float) -> datetime:
        """``add`` with working hours (rounded to whole minutes)."""
        return self.add(start, round(hours * 60))

    def add_days(self, start: datetime, days: int, *, mode: DayMode | None = None) -> datetime:
        """``days`` working days after ``start``.

        Mode ``hours`` (default): ``days`` × 8 working hours. Mode ``end_of_day``: the end of the
        ``days``-th working day after the date of ``start`` — the start date itself never counts
        (Civil Code 2015 Art. 147), whatever the time of day. ``days == 0`` returns ``start``.
        """
        mode = mode or self.day_mode
        days = operator.index(days)
        if days < 0:
            raise ValueError(f"days must be >= 0, got {days}")
        if mode == "hours":
            return self.add(start, days * self.office_hours.day_minutes)
        if mode != "end_of_day":
            raise ValueError(f"mode must be 'hours' or 'end_of_day', not {mode!r}")
        local = _local(start)
        if days == 0:
            return local
        tab, i, _ = self._pos(local)
        target = tab.wcount[i + 1] + days  # working days up to and including the start date
        while tab.wcount[-1] < target:
            tab = self._extend(tab.last_year + 1)
        j = bisect_left(tab.wcount, target, i + 1) - 1  # index of the target-th working day
        return tab.bases[j] + timedelta(microseconds=tab.periods[j][-1][1])

    def add_duration(
        self, start: datetime, duration: str, *, mode: DayMode | None = None
    ) -> datetime:
        """``add`` with a duration text (``480m``, ``8h``, ``7d``); ``d`` follows the day mode."""
        n, unit = _split_duration(duration)
        if unit == "d":
            return self.add_days(start, n, mode=mode)
        return self.add(start, n * (60 if unit == "h" else 1))

    def elapsed(self, a: datetime, b: datetime) -> int:
        """Working minutes from ``a`` to ``b``; negative when ``b`` is before ``a``.

        Antisymmetric (``elapsed(b, a) == -elapsed(a, b)``), so ``elapsed(deadline, done)`` is the
        lateness in working minutes (> 0 late). Partial minutes are truncated towards zero.
        """
        la, lb = _local(a), _local(b)
        # Position both first: extending the table for one must not race the other's lookup.
        _, ia, ta = self._pos(la)
        _, ib, tb = self._pos(lb)
        tab = self._table
        diff = self._w(tab, ib, tb) - self._w(tab, ia, ta)
        return diff // _US_MIN if diff >= 0 else -(-diff // _US_MIN)

    def is_working_time(self, t: datetime) -> bool:
        """Whether ``t`` lies inside an office period (start included, end excluded)."""
        tab, i, tod = self._pos(_local(t))
        return any(s <= tod < e for s, e in tab.periods[i])

    def next_working_instant(self, t: datetime) -> datetime:
        """``t`` itself if it is working time, else the start of the next office period."""
        local = _local(t)
        tab, i, tod = self._pos(local)
        for s, e in tab.periods[i]:
            if tod < e:
                return local if tod >= s else tab.bases[i] + timedelta(microseconds=s)
        w = tab.cum[i + 1]  # no more work today: first later day with any work
        while tab.ends[-1] <= w:
            tab = self._extend(tab.last_year + 1)
        j = bisect_right(tab.ends, w, i)
        return tab.bases[j] + timedelta(microseconds=tab.periods[j][0][0])

    def is_working_day(self, d: date) -> bool:
        return bool(self.periods_on(d))

    def periods_on(self, d: date) -> tuple[Period, ...]:
        """Office periods of a date, in minutes since local midnight (``()`` = day off)."""
        tab, i, _ = self._pos(datetime(d.year, d.month, d.day, tzinfo=TZ))
        return tuple((s // _US_MIN, e // _US_MIN) for s, e in tab.periods[i])

    def day_info(self, d: date) -> DayInfo:
        """The date's status with its reason: override row, ``holidays`` package, or regular."""
        periods = self.periods_on(d)
        pkg_off, pkg_work = _package_days(d.year, d.year)
        pkg_name = pkg_off.get(d) or ("Make-up working day" if d in pkg_work else "")
        pkg = f"holidays {self.package_version}"
        row = self.overrides.get(d)
        if row is None:
            return DayInfo(d, bool(periods), periods, pkg_name, pkg if pkg_name else "")
        label = "override" if row.source == "shipped" else f"override {row.source}"
        source = f"{label}: {row.act}" + (f"; {pkg} says: {pkg_name}" if pkg_name else "")
        return DayInfo(d, bool(periods), periods, row.name, source, row.confirmed)

    def special_days(self, year: int) -> list[DayInfo]:
        """Every date of ``year`` named by the override table or the ``holidays`` package."""
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError(f"year must be within {MIN_YEAR}..{MAX_YEAR}")
        pkg_off, pkg_work = _package_days(year, year)
        days = set(pkg_off) | set(pkg_work) | {d for d in self.overrides if d.year == year}
        return [self.day_info(d) for d in sorted(days)]

    def days_off(self, year: int) -> list[date]:
        """Dates that are working days by the weekly hours but off in this calendar."""
        return [
            i.day
            for i in self.special_days(year)
            if not i.working and self.office_hours.weekly[i.day.weekday()]
        ]

    def makeup_days(self, year: int) -> list[date]:
        """Dates that are rest days by the weekly hours but working in this calendar."""
        return [
            i.day
            for i in self.special_days(year)
            if i.working and not self.office_hours.weekly[i.day.weekday()]
        ]

    def announced_years(self) -> list[int]:
        """Years that have rows in the override table (the others rely on the package alone)."""
        return sorted({d.year for d in self.overrides})


# --- per-unit calendars: a CalendarBook (below), given as data; no process-wide state ------------
UnitHoursResolver = Callable[[str], OfficeHours | None]


def _weekday_name(d: date) -> str:
    return _DAY_NAMES[d.weekday()].capitalize()


def format_day(info: DayInfo) -> str:
    """One tab-separated line: date, weekday, off|working, name, source."""
    name = info.name if info.confirmed else f"{info.name} [unconfirmed]"
    status = "working" if info.working else "off"
    return f"{info.day.isoformat()}\t{_weekday_name(info.day)}\t{status}\t{name}\t{info.source}"


class CalendarBook:
    """The calendars of every unit, given as data: the default office hours, whether public
    holidays count, the override rows, and a function unit code → its own office hours.

    One ``WorkingCalendar`` per distinct office hours (units with equal hours share it). Built
    once per process from the settings (``pakn.rules``) and passed to whatever counts deadlines;
    ``with_hours_of`` gives a book for a newly published directory that keeps the built tables.
    """

    def __init__(
        self,
        default_hours: OfficeHours = DEFAULT_OFFICE_HOURS,
        *,
        public_holidays: bool = True,
        overrides: Iterable[Override] | None = None,
        hours_of: UnitHoursResolver | None = None,
        _by_hours: dict[OfficeHours, WorkingCalendar] | None = None,
    ) -> None:
        self.default_hours = default_hours
        self.public_holidays = public_holidays
        self.overrides = list(load_shipped_overrides() if overrides is None else overrides)
        self.hours_of = hours_of
        self._by_hours: dict[OfficeHours, WorkingCalendar] = {} if _by_hours is None else _by_hours
        self._by_unit: dict[str, WorkingCalendar] = {}

    def with_hours_of(self, hours_of: UnitHoursResolver | None) -> CalendarBook:
        return CalendarBook(
            self.default_hours,
            public_holidays=self.public_holidays,
            overrides=self.overrides,
            hours_of=hours_of,
            _by_hours=self._by_hours,
        )

    def for_hours(self, hours: OfficeHours) -> WorkingCalendar:
        cal = self._by_hours.get(hours)
        if cal is None:
            cal = self._by_hours[hours] = WorkingCalendar(
                hours, overrides=self.overrides, public_holidays=self.public_holidays
            )
        return cal

    def __call__(self, code: str | None = None) -> WorkingCalendar:
        """The calendar of unit ``code`` (``None`` or unknown: the default office hours)."""
        key = code or ""
        cal = self._by_unit.get(key)
        if cal is None:
            own = self.hours_of(code) if (self.hours_of is not None and code) else None
            cal = self._by_unit[key] = self.for_hours(own or self.default_hours)
        return cal
