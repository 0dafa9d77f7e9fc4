"""The unit directory (domain.md §1 units, §7 "Hanoi units"): who can receive and handle items.

The directory is data: ``processors/data/units_hanoi_2025.json`` (two tiers since 1 Jul 2025:
city → 126 commune-level units, plus departments, enterprises and the oversight centre) is the
shipped default; ``processors/data/units_hanoi_pre2025.json`` is the three-tier shape before
(city → 30 districts → 526 commune-level units). Both load through the same loader: which kinds
may hang under which is declared by each file (``"parents"``), not by code. ``PAKN_UNITS_FILE``
names another file. See docs/units-and-routing.md.

Pure: reads a JSON file once, then answers from memory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from processors.calendar import OfficeHours
from processors.catalogue import CATEGORIES
from processors.datafile import DataFileError

__all__ = [
    "HANDLING_KINDS",
    "KINDS",
    "SHIPPED",
    "TERRITORIAL_KINDS",
    "Kind",
    "Unit",
    "UnitDirectory",
    "UnitDirectoryError",
    "hours_resolver",
    "load_directory",
    "shipped_directory",
]

Kind = Literal["city", "district", "commune", "department", "enterprise", "oversight"]
KINDS: tuple[str, ...] = get_args(Kind)
TERRITORIAL_KINDS = frozenset({"city", "district", "commune"})
"""Kinds that *are* an area: a unit of another kind works over the area of its nearest such
ancestor (a department of the city works city-wide)."""
HANDLING_KINDS = frozenset({"commune", "district", "department", "enterprise"})
"""Kinds that receive and handle items (the city as such and the oversight centre do not)."""

SHIPPED: Mapping[str, str] = {
    "hanoi-2025": "units_hanoi_2025.json",
    "hanoi-pre2025": "units_hanoi_pre2025.json",
}
DEFAULT_SHIPPED = "hanoi-2025"

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
# The keys of a directory file and of one unit, in the order files are written (the generator in
# scripts/build_units.py writes them in this order; the loader refuses any other key).
TOP_KEYS = (
    "format",
    "name",
    "description",
    "valid_from",
    "valid_until",
    "sources",
    "parents",
    "roles",
    "units",
)
UNIT_KEYS = (
    "code",
    "kind",
    "subtype",
    "name_vi",
    "name_en",
    "parent",
    "domains",
    "office_hours",
    "note",
)
_HOURS_KEYS = {"days", "makeup", "day_minutes"}


class UnitDirectoryError(DataFileError):
    """A file that cannot be used as the unit directory; ``problems`` lists every problem found."""

    what = "the unit directory"


@dataclass(frozen=True, slots=True)
class Unit:
    """One unit of the directory.

    ``subtype`` is the Vietnamese kind as the state names it (``phường``, ``xã``, ``thị trấn``,
    ``quận``, ``huyện``, ``thị xã``, ``sở``, ``ban``, ``công an``, ``công ty``, ``trung tâm``…);
    ``domains`` are category codes of ``processors.catalogue.CATEGORIES`` the unit is competent
    for; ``office_hours`` is ``None`` when the unit keeps the default hours.
    """

    code: str
    kind: Kind
    name_vi: str
    name_en: str = ""
    parent: str | None = None
    subtype: str = ""
    domains: tuple[str, ...] = ()
    office_hours: OfficeHours | None = None
    note: str = ""

    @property
    def name(self) -> str:
        """The official (Vietnamese) name."""
        return self.name_vi

    @property
    def territorial(self) -> bool:
        return self.kind in TERRITORIAL_KINDS

    @property
    def handles_items(self) -> bool:
        return self.kind in HANDLING_KINDS


# --- parsing -------------------------------------------------------------------------------------
def _parse_hours(raw: object, where: str, problems: list[str]) -> OfficeHours | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("days"), dict):
        problems.append(
            f"{where}: 'office_hours' must be an object with 'days', e.g. "
            '{"days": {"mon-fri": "08:00-12:00,13:00-17:00"}}'
        )
        return None
    unknown = set(raw) - _HOURS_KEYS
    if unknown:
        problems.append(f"{where}: unknown office_hours field(s) {sorted(unknown)}")
        return None
    try:
        return OfficeHours.from_mapping(
            {str(k): str(v) for k, v in raw["days"].items()},
            makeup=None if raw.get("makeup") is None else str(raw["makeup"]),
            day_minutes=int(raw.get("day_minutes", 480)),
        )
    except (TypeError, ValueError) as exc:
        problems.append(f"{where}: bad office_hours: {exc}")
        return None


def _str_list(raw: object, what: str, where: str, problems: list[str]) -> list[str] | None:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        problems.append(f"{where}: {what} must be a list of strings")
        return None
    return list(raw)


def _parse_unit(raw: object, n: int, problems: list[str]) -> Unit | None:
    where = f"unit #{n}"
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected an object")
        return None
    code = raw.get("code")
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        problems.append(
            f"{where}: 'code' must be 1-32 letters, digits, '.', '_' or '-' (got {code!r})"
        )
        return None
    where = f"unit {code}"
    before = len(problems)
    unknown = set(raw) - set(UNIT_KEYS)
    if unknown:
        problems.append(f"{where}: unknown field(s) {sorted(unknown)}")
    kind = raw.get("kind")
    if kind not in KINDS:
        problems.append(f"{where}: 'kind' must be one of {', '.join(KINDS)} (got {kind!r})")
    name_vi = raw.get("name_vi")
    if not isinstance(name_vi, str) or not name_vi.strip():
        problems.append(f"{where}: 'name_vi' is required")
    for key in ("name_en", "subtype", "note"):
        if not isinstance(raw.get(key, ""), str):
            problems.append(f"{where}: {key!r} must be a string")
    parent = raw.get("parent")
    if parent is not None and not isinstance(parent, str):
        problems.append(f"{where}: 'parent' must be a unit code or null")
    domains = _str_list(raw.get("domains", []), "'domains'", where, problems) or []
    for d in domains:
        if d not in CATEGORIES:
            problems.append(
                f"{where}: domain {d!r} is not a category of processors/catalogue.py "
                f"({', '.join(CATEGORIES)})"
            )
    if len(set(domains)) != len(domains):
        problems.append(f"{where}: a domain is listed twice")
    hours = _parse_hours(raw.get("office_hours"), where, problems)
    if len(problems) != before:
        return None
    return Unit(
        code=code,
        kind=kind,
        name_vi=name_vi.strip(),
        name_en=raw.get("name_en", "").strip(),
        parent=parent,
        subtype=raw.get("subtype", ""),
        domains=tuple(domains),
        office_hours=hours,
        note=raw.get("note", ""),
    )


def _cycles(units: Mapping[str, Unit]) -> list[list[str]]:
    """Each cycle of the parent relation once, as the list of its codes."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    found: list[list[str]] = []
    for start in units:
        path: list[str] = []
        code: str | None = start
        while code is not None and code in units and state.get(code) != 2:
            if state.get(code) == 1:
                found.append(path[path.index(code) :])
                break
            state[code] = 1
            path.append(code)
            code = units[code].parent
        for c in path:
            state[c] = 2
    return found


# --- the directory -------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class UnitDirectory:
    """A validated unit directory. Build with ``from_dict``/``from_file``/``load_directory``."""

    name: str
    units: Mapping[str, Unit]
    parents: Mapping[str, tuple[str, ...]]
    roles: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    valid_from: str | None = None
    valid_until: str | None = None
    sources: tuple[Mapping[str, Any], ...] = ()
    source: str = "<memory>"
    _children: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, doc: object, source: str = "<memory>") -> UnitDirectory:
        """Validate and build; ``UnitDirectoryError`` lists every problem found."""
        problems: list[str] = []
        if not isinstance(doc, dict):
            raise UnitDirectoryError(source, ["expected a JSON object at the top"])
        if doc.get("format", 1) != 1:
            raise UnitDirectoryError(
                source, [f"unsupported format {doc.get('format')!r} (expected 1)"]
            )
        unknown = set(doc) - set(TOP_KEYS)
        if unknown:
            problems.append(f"unknown top-level field(s) {sorted(unknown)}")
        name = doc.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append("'name' (the directory's name, e.g. hanoi-2025) is required")
            name = "?"
        parents = cls._parse_parents(doc.get("parents"), problems)
        raw_units = doc.get("units")
        if not isinstance(raw_units, list) or not raw_units:
            problems.append("'units' must be a non-empty list")
            raw_units = []

        units: dict[str, Unit] = {}
        for n, raw in enumerate(raw_units, start=1):
            unit = _parse_unit(raw, n, problems)
            if unit is None:
                continue
            if unit.code in units:
                problems.append(f"duplicate code {unit.code} (units #{n} and an earlier one)")
                continue
            units[unit.code] = unit

        cls._check_tree(units, parents, problems)
        cls._check_domains(units, problems)
        roles = doc.get("roles", {})
        if not isinstance(roles, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in roles.items()
        ):
            problems.append("'roles' must map role names to unit codes")
            roles = {}
        for role, code in roles.items():
            if code not in units:
                problems.append(f"role {role!r} names unknown unit {code}")
        sources = doc.get("sources", [])
        if not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources):
            problems.append("'sources' must be a list of objects")
            sources = []
        for key in ("description", "valid_from", "valid_until"):
            if doc.get(key) is not None and not isinstance(doc.get(key), str):
                problems.append(f"{key!r} must be a string")
        if problems:
            raise UnitDirectoryError(source, problems)

        children: dict[str, list[str]] = {code: [] for code in units}
        for unit in units.values():
            if unit.parent is not None:
                children[unit.parent].append(unit.code)
        return cls(
            name=name.strip(),
            units=units,
            parents=parents,
            roles=dict(roles),
            description=doc.get("description") or "",
            valid_from=doc.get("valid_from"),
            valid_until=doc.get("valid_until"),
            sources=tuple(sources),
            source=source,
            _children={k: tuple(v) for k, v in children.items()},
        )

    @staticmethod
    def _parse_parents(raw: object, problems: list[str]) -> dict[str, tuple[str, ...]]:
        """``{"commune": ["city"], "city": []}``: the kinds a unit of each kind may hang under."""
        if not isinstance(raw, dict) or not raw:
            problems.append(
                "'parents' must map each kind used to the kinds it may hang under, "
                'e.g. {"city": [], "commune": ["city"]}'
            )
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for kind, allowed in raw.items():
            if kind not in KINDS:
                problems.append(f"parents: unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
                continue
            lst = _str_list(allowed, f"parents[{kind!r}]", "parents", problems)
            if lst is None:
                continue
            for k in lst:
                if k not in KINDS:
                    problems.append(f"parents[{kind!r}]: unknown kind {k!r}")
            out[kind] = tuple(lst)
        return out

    @staticmethod
    def _check_tree(
        units: Mapping[str, Unit], parents: Mapping[str, tuple[str, ...]], problems: list[str]
    ) -> None:
        roots = []
        for unit in units.values():
            allowed = parents.get(unit.kind)
            if allowed is None:
                problems.append(
                    f"unit {unit.code}: kind {unit.kind!r} is not part of this directory's shape "
                    f"('parents' declares {', '.join(parents) or 'nothing'})"
                )
                continue
            if unit.parent is None:
                if allowed:
                    problems.append(
                        f"unit {unit.code}: a {unit.kind} needs a parent ({' or '.join(allowed)})"
                    )
                else:
                    roots.append(unit.code)
                continue
            parent = units.get(unit.parent)
            if parent is None:
                problems.append(f"unit {unit.code}: unknown parent {unit.parent}")
            elif parent.kind not in allowed:
                what = " or ".join(allowed) if allowed else "no parent"
                problems.append(
                    f"unit {unit.code}: a {unit.kind} hangs under {what}, "
                    f"not under {parent.kind} {parent.code}"
                )
        for cycle in _cycles(units):
            problems.append(f"cycle in parents: {' -> '.join([*cycle, cycle[0]])}")
        if units and len(roots) != 1:
            problems.append(
                f"expected exactly one root unit (parent null), found {len(roots)}"
                + (f": {', '.join(roots)}" if roots else "")
            )

    @staticmethod
    def _check_domains(units: Mapping[str, Unit], problems: list[str]) -> None:
        """A category has at most one lead department (routing needs one answer)."""
        owners: dict[str, list[str]] = {}
        for unit in units.values():
            if unit.kind == "department":
                for d in unit.domains:
                    owners.setdefault(d, []).append(unit.code)
        for d, codes in owners.items():
            if len(codes) > 1:
                problems.append(
                    f"category {d!r} is owned by {len(codes)} departments ({', '.join(codes)}): "
                    "keep it in the domains of one of them"
                )

    @classmethod
    def from_file(cls, path: str | Path) -> UnitDirectory:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise UnitDirectoryError(str(p), [f"cannot read: {exc.strerror or exc}"]) from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UnitDirectoryError(str(p), [f"not valid JSON ({exc})"]) from None
        return cls.from_dict(doc, str(p))

    # -- lookups ------------------------------------------------------------------------------
    def __contains__(self, code: object) -> bool:
        return code in self.units

    def __iter__(self) -> Iterator[Unit]:
        return iter(self.units.values())

    def __len__(self) -> int:
        return len(self.units)

    def get(self, code: str) -> Unit:
        """The unit of ``code``; ``KeyError`` naming the directory if there is none."""
        try:
            return self.units[code]
        except KeyError:
            raise KeyError(f"unit {code!r} is not in the directory {self.name}") from None

    def find(self, code: str | None) -> Unit | None:
        return self.units.get(code) if code is not None else None

    @property
    def root(self) -> Unit:
        return next(u for u in self.units.values() if u.parent is None)

    def of_kind(self, *kinds: str) -> tuple[Unit, ...]:
        """Units of the given kinds (all units when none given), in file order."""
        return tuple(u for u in self.units.values() if not kinds or u.kind in kinds)

    def communes(self) -> tuple[Unit, ...]:
        return self.of_kind("commune")

    def children(self, code: str) -> tuple[Unit, ...]:
        self.get(code)
        return tuple(self.units[c] for c in self._children[code])

    def descendants(self, code: str) -> tuple[Unit, ...]:
        """Every unit below ``code`` (depth first, file order)."""
        out: list[Unit] = []
        stack = list(reversed(self.children(code)))
        while stack:
            unit = stack.pop()
            out.append(unit)
            stack.extend(reversed([self.units[c] for c in self._children[unit.code]]))
        return tuple(out)

    def ancestors(self, code: str) -> tuple[Unit, ...]:
        """The parent, its parent, … up to the root."""
        out: list[Unit] = []
        unit = self.get(code)
        while unit.parent is not None:
            unit = self.units[unit.parent]
            out.append(unit)
        return tuple(out)

    def is_within(self, code: str, area: str) -> bool:
        """Whether ``code`` is ``area`` itself or lies below it."""
        return code == area or any(a.code == area for a in self.ancestors(code))

    def area_of(self, code: str) -> Unit:
        """The territory a unit works over: itself if territorial, else its nearest territorial
        ancestor (a department of the city: the city)."""
        unit = self.get(code)
        if unit.territorial:
            return unit
        return next((a for a in self.ancestors(code) if a.territorial), self.root)

    def units_for(self, category: str, *kinds: str) -> tuple[Unit, ...]:
        """Units (of the given kinds, default all) whose domains include ``category``."""
        return tuple(u for u in self.of_kind(*kinds) if category in u.domains)

    def departments_for(self, category: str) -> tuple[Unit, ...]:
        return self.units_for(category, "department")

    def enterprises_for(self, category: str) -> tuple[Unit, ...]:
        return self.units_for(category, "enterprise")

    def owner_of(self, category: str) -> Unit | None:
        """The department that leads ``category`` (at most one, checked on load), or None."""
        found = self.departments_for(category)
        return found[0] if found else None

    def role(self, name: str) -> Unit:
        """The unit holding a configured role (``default``, ``investor_business``…)."""
        try:
            return self.units[self.roles[name]]
        except KeyError:
            raise KeyError(f"the directory {self.name} assigns no unit to role {name!r}") from None

    def office_hours_of(self, code: str) -> OfficeHours | None:
        """The unit's own office hours; ``None`` for default hours or an unknown code.

        Usable as is as a ``CalendarBook``'s ``hours_of``. Hours are not
        inherited from a parent (choice: every override is explicit on its unit).
        """
        unit = self.units.get(code)
        return unit.office_hours if unit is not None else None

    def count_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for unit in self.units.values():
            out[unit.kind] = out.get(unit.kind, 0) + 1
        return out

    def describe(self) -> str:
        """One line: name, validity, counts per kind."""
        counts = ", ".join(f"{n} {k}" for k, n in self.count_by_kind().items())
        span = f"{self.valid_from or '…'} – {self.valid_until or '…'}"
        return f"{self.name} ({span}): {len(self)} units: {counts}"


# --- loading -------------------------------------------------------------------------------------
def shipped_directory(name: str = DEFAULT_SHIPPED) -> UnitDirectory:
    """One of the shipped directories (``hanoi-2025``, ``hanoi-pre2025``)."""
    try:
        filename = SHIPPED[name]
    except KeyError:
        raise ValueError(f"no shipped directory {name!r} (have: {', '.join(SHIPPED)})") from None
    text = resources.files("processors").joinpath("data", filename).read_text("utf-8")
    return UnitDirectory.from_dict(json.loads(text), f"shipped:{filename}")


def load_directory(path: str | Path | None = None) -> UnitDirectory:
    """``path`` if given (the operator's ``PAKN_UNITS_FILE``, passed by pakn), else the shipped
    2025 directory. Which directory a process routes with is its ``Rules``' business
    (processors/rules.py): nothing here is process-wide."""
    return UnitDirectory.from_file(path) if path else shipped_directory()


def hours_resolver(directory: UnitDirectory) -> Callable[[str], OfficeHours | None]:
    """A function unit code → its own office hours (``None``: default), for a CalendarBook."""
    return directory.office_hours_of
