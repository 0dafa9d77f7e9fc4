"""Routing, forwarding and transfer rules (domain.md §4.1-§4.3), as data.

``processors/data/routing_rules.json`` (or the file named by ``PAKN_ROUTING_FILE``) says, for a
submission's process and category, which unit of the directory (``processors.units``) receives
it; and which forwards (a unit sends an item down to a unit in its area) and transfers (a unit
hands an item over to the competent department) are allowed. Rules name units indirectly —
by the location's commune, the sender's choice, the department leading the category, or a role
of the directory — so the same rules serve the 2025 and the pre-2025 directory.

Pure functions with typed results: ``Route`` (always a unit: the directory's ``default`` role is
the last resort) and ``Verdict`` (ok, or a stable refusal code). See docs/units-and-routing.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from processors.catalogue import CATEGORIES, PROCESSES
from processors.datafile import DataFileError
from processors.units import HANDLING_KINDS, KINDS, Unit, UnitDirectory

__all__ = [
    "FORWARD_KIND_NOT_ALLOWED",
    "FORWARD_TARGET_NOT_IN_AREA",
    "FORWARD_TARGET_NOT_LOCATION",
    "FORWARD_TARGET_OUTSIDE_DOMAIN",
    "REFUSAL_CODES",
    "ROUTE_NOTES",
    "SAME_UNIT",
    "TRANSFER_SOURCE_NOT_ALLOWED",
    "TRANSFER_TARGET_NOT_COMPETENT",
    "TRANSFER_TARGET_NOT_DEPARTMENT",
    "UNKNOWN_UNIT",
    "ForwardRule",
    "Route",
    "Router",
    "RoutingRules",
    "RoutingRulesError",
    "Rule",
    "TransferPolicy",
    "Verdict",
    "load_rules",
    "shipped_rules",
]

SHIPPED_RULES = "routing_rules.json"

# --- stable refusal codes (never rename: clients and the warehouse key on them) -----------------
UNKNOWN_UNIT = "unknown_unit"
SAME_UNIT = "same_unit"
FORWARD_KIND_NOT_ALLOWED = "forward_kind_not_allowed"
FORWARD_TARGET_NOT_IN_AREA = "forward_target_not_in_area"
FORWARD_TARGET_NOT_LOCATION = "forward_target_not_location"
FORWARD_TARGET_OUTSIDE_DOMAIN = "forward_target_outside_domain"
TRANSFER_SOURCE_NOT_ALLOWED = "transfer_source_not_allowed"
TRANSFER_TARGET_NOT_DEPARTMENT = "transfer_target_not_department"
TRANSFER_TARGET_NOT_COMPETENT = "transfer_target_not_competent"
REFUSAL_CODES = (
    UNKNOWN_UNIT,
    SAME_UNIT,
    FORWARD_KIND_NOT_ALLOWED,
    FORWARD_TARGET_NOT_IN_AREA,
    FORWARD_TARGET_NOT_LOCATION,
    FORWARD_TARGET_OUTSIDE_DOMAIN,
    TRANSFER_SOURCE_NOT_ALLOWED,
    TRANSFER_TARGET_NOT_DEPARTMENT,
    TRANSFER_TARGET_NOT_COMPETENT,
)

# --- notes on a route: inputs that were given but could not be used ----------------------------
COMMUNE_UNKNOWN = "commune_unknown"
COMMUNE_NOT_A_COMMUNE = "commune_not_a_commune"
SENDER_CHOICE_UNKNOWN = "sender_choice_unknown"
SENDER_CHOICE_NOT_ACCEPTED = "sender_choice_not_accepted"
NO_MATCHING_RULE = "no_matching_rule"
ROUTE_NOTES = (
    COMMUNE_UNKNOWN,
    COMMUNE_NOT_A_COMMUNE,
    SENDER_CHOICE_UNKNOWN,
    SENDER_CHOICE_NOT_ACCEPTED,
    NO_MATCHING_RULE,
)

_PLAIN_TARGETS = ("commune_of_location", "sender_choice", "domain_owner")
_SCOPES = ("area", "domain", "any")


class RoutingRulesError(DataFileError):
    """A file that cannot be used as the routing rules; ``problems`` lists every problem found."""

    what = "the routing rules"


# --- the rules -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Rule:
    """Items of these processes (and categories; ``None`` = any) go to the first target that
    names a unit: ``commune_of_location``, ``sender_choice``, ``domain_owner``, ``role:NAME``,
    ``unit:CODE``."""

    id: str
    processes: frozenset[str] | None
    categories: frozenset[str] | None
    targets: tuple[str, ...]
    sender_kinds: frozenset[str] = HANDLING_KINDS
    note: str = ""

    def matches(self, process: str, category: str) -> bool:
        return (self.processes is None or process in self.processes) and (
            self.categories is None or category in self.categories
        )


@dataclass(frozen=True, slots=True)
class ForwardRule:
    """A unit of kind ``from_kind`` may forward to a unit of kind ``to_kind``.

    ``scope``: ``area`` — the target lies in the sender's area; ``domain`` — the target shares
    the item's category (or, without one, any domain) with the sender; ``any``. ``location``:
    when the item's commune is known, the target must be that commune or contain it.
    """

    from_kind: str
    to_kind: str
    scope: str = "area"
    location: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True)
class TransferPolicy:
    from_kinds: frozenset[str]
    to_kinds: frozenset[str]
    competence: bool = True
    note: str = ""


def _target_ok(target: object) -> bool:
    if target in _PLAIN_TARGETS:
        return True
    if isinstance(target, str) and target.startswith(("role:", "unit:")):
        return bool(target.split(":", 1)[1].strip())
    return False


def _kinds(raw: object, what: str, problems: list[str]) -> frozenset[str]:
    if not isinstance(raw, list) or not all(isinstance(k, str) for k in raw):
        problems.append(f"{what} must be a list of kinds")
        return frozenset()
    for k in raw:
        if k not in KINDS:
            problems.append(f"{what}: unknown kind {k!r} (kinds: {', '.join(KINDS)})")
    return frozenset(raw)


def _names(raw: object, known: Any, what: str, problems: list[str]) -> frozenset[str] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw) or not raw:
        problems.append(f"{what} must be a name or a non-empty list of names")
        return frozenset()
    for x in raw:
        if x not in known:
            problems.append(f"{what}: unknown {x!r} (known: {', '.join(known)})")
    return frozenset(raw)


@dataclass(frozen=True)
class RoutingRules:
    name: str
    rules: tuple[Rule, ...]
    default: str
    forwarding: tuple[ForwardRule, ...]
    transfer: TransferPolicy
    source: str = "<memory>"

    @classmethod
    def from_dict(cls, doc: object, source: str = "<memory>") -> RoutingRules:
        """Validate and build; ``RoutingRulesError`` lists every problem found."""
        if not isinstance(doc, dict):
            raise RoutingRulesError(source, ["expected a JSON object at the top"])
        if doc.get("format", 1) != 1:
            raise RoutingRulesError(source, [f"unsupported format {doc.get('format')!r}"])
        problems: list[str] = []
        unknown = set(doc) - {
            "format",
            "name",
            "source",
            "default",
            "rules",
            "forwarding",
            "transfer",
        }
        if unknown:
            problems.append(f"unknown top-level field(s) {sorted(unknown)}")
        name = doc.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append("'name' is required")
            name = "?"
        default = doc.get("default", "role:default")
        if not _target_ok(default) or not str(default).startswith(("role:", "unit:")):
            problems.append(f"'default' must be role:NAME or unit:CODE (got {default!r})")

        rules: list[Rule] = []
        raw_rules = doc.get("rules")
        if not isinstance(raw_rules, list):
            problems.append("'rules' must be a list")
            raw_rules = []
        seen: set[str] = set()
        for n, raw in enumerate(raw_rules, start=1):
            rule = cls._parse_rule(raw, n, problems)
            if rule is None:
                continue
            if rule.id in seen:
                problems.append(f"rule {rule.id}: the id is used twice")
            seen.add(rule.id)
            rules.append(rule)

        forwarding: list[ForwardRule] = []
        raw_fwd = doc.get("forwarding", [])
        if not isinstance(raw_fwd, list):
            problems.append("'forwarding' must be a list")
            raw_fwd = []
        for n, raw in enumerate(raw_fwd, start=1):
            where = f"forwarding #{n}"
            if not isinstance(raw, dict):
                problems.append(f"{where}: expected an object")
                continue
            extra = set(raw) - {"from", "to", "scope", "location", "note"}
            if extra:
                problems.append(f"{where}: unknown field(s) {sorted(extra)}")
            fk, tk = raw.get("from"), raw.get("to")
            scope, location = raw.get("scope", "area"), raw.get("location", False)
            ok = True
            for label, k in (("from", fk), ("to", tk)):
                if k not in KINDS:
                    problems.append(f"{where}: '{label}' must be a kind ({', '.join(KINDS)})")
                    ok = False
            if scope not in _SCOPES:
                problems.append(f"{where}: 'scope' must be one of {', '.join(_SCOPES)}")
                ok = False
            if not isinstance(location, bool):
                problems.append(f"{where}: 'location' must be true or false")
                ok = False
            if ok:
                forwarding.append(ForwardRule(fk, tk, scope, location, str(raw.get("note", ""))))

        raw_tr = doc.get("transfer")
        transfer = TransferPolicy(frozenset(), frozenset())
        if not isinstance(raw_tr, dict):
            problems.append("'transfer' must be an object with 'from', 'to', 'competence'")
        else:
            extra = set(raw_tr) - {"from", "to", "competence", "note"}
            if extra:
                problems.append(f"transfer: unknown field(s) {sorted(extra)}")
            competence = raw_tr.get("competence", True)
            if not isinstance(competence, bool):
                problems.append("transfer: 'competence' must be true or false")
            transfer = TransferPolicy(
                _kinds(raw_tr.get("from"), "transfer 'from'", problems),
                _kinds(raw_tr.get("to"), "transfer 'to'", problems),
                bool(competence),
                str(raw_tr.get("note", "")),
            )
        if problems:
            raise RoutingRulesError(source, problems)
        return cls(name.strip(), tuple(rules), default, tuple(forwarding), transfer, source)

    @staticmethod
    def _parse_rule(raw: object, n: int, problems: list[str]) -> Rule | None:
        if not isinstance(raw, dict):
            problems.append(f"rule #{n}: expected an object")
            return None
        rid = raw.get("id")
        if not isinstance(rid, str) or not rid.strip():
            problems.append(f"rule #{n}: 'id' is required")
            return None
        where = f"rule {rid}"
        before = len(problems)
        extra = set(raw) - {"id", "process", "category", "targets", "sender_kinds", "note"}
        if extra:
            problems.append(f"{where}: unknown field(s) {sorted(extra)}")
        processes = _names(raw.get("process"), PROCESSES, f"{where}: 'process'", problems)
        categories = _names(raw.get("category"), CATEGORIES, f"{where}: 'category'", problems)
        targets = raw.get("targets")
        if not isinstance(targets, list):
            problems.append(f"{where}: 'targets' must be a list")
            targets = []
        for t in targets:
            if not _target_ok(t):
                problems.append(
                    f"{where}: bad target {t!r} (use {', '.join(_PLAIN_TARGETS)}, role:NAME or "
                    "unit:CODE)"
                )
        sender_kinds = (
            _kinds(raw["sender_kinds"], f"{where}: 'sender_kinds'", problems)
            if "sender_kinds" in raw
            else HANDLING_KINDS
        )
        if len(problems) != before:
            return None
        return Rule(
            rid,
            processes,
            categories,
            tuple(targets),
            sender_kinds,
            str(raw.get("note", "")),
        )

    @classmethod
    def from_file(cls, path: str | Path) -> RoutingRules:
        p = Path(path)
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise RoutingRulesError(str(p), [f"cannot read: {exc.strerror or exc}"]) from None
        except json.JSONDecodeError as exc:
            raise RoutingRulesError(str(p), [f"not valid JSON ({exc})"]) from None
        return cls.from_dict(doc, str(p))

    def references(self) -> list[str]:
        """Every ``role:``/``unit:`` target the rules name (default first)."""
        refs = [self.default]
        for rule in self.rules:
            refs += [t for t in rule.targets if t.startswith(("role:", "unit:"))]
        return refs

    def problems_with(self, directory: UnitDirectory) -> list[str]:
        """What these rules name that ``directory`` lacks (a role or a unit)."""
        out: list[str] = []
        for ref in dict.fromkeys(self.references()):
            kind, _, value = ref.partition(":")
            if kind == "role" and value not in directory.roles:
                out.append(f"the rules use role {value!r}, which directory {directory.name} lacks")
            elif kind == "unit" and value not in directory:
                out.append(f"the rules name unit {value}, which directory {directory.name} lacks")
        return out


def shipped_rules() -> RoutingRules:
    text = resources.files("processors").joinpath("data", SHIPPED_RULES).read_text("utf-8")
    return RoutingRules.from_dict(json.loads(text), f"shipped:{SHIPPED_RULES}")


def load_rules(path: str | Path | None = None) -> RoutingRules:
    """``path`` if given (the operator's ``PAKN_ROUTING_FILE``, passed by pakn), else the shipped
    rules."""
    return RoutingRules.from_file(path) if path else shipped_rules()


# --- results -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Route:
    """Where an item goes: the unit, the rule that decided, and how (``via``: the target that
    named the unit, or ``default``). ``notes`` name inputs that were given but not usable."""

    unit: Unit
    rule: str
    via: str
    notes: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        return self.unit.code


@dataclass(frozen=True, slots=True)
class Verdict:
    """``ok``, or a refusal with a stable ``code`` (one of ``REFUSAL_CODES``) and a sentence."""

    ok: bool
    code: str = ""
    detail: str = ""

    def __bool__(self) -> bool:
        return self.ok


_OK = Verdict(True)


def _refuse(code: str, detail: str) -> Verdict:
    return Verdict(False, code, detail)


# --- the router ----------------------------------------------------------------------------------
class Router:
    """Rules applied to one directory. Construction checks that every role and unit the rules
    name exists in the directory (``RoutingRulesError`` otherwise)."""

    def __init__(self, directory: UnitDirectory, rules: RoutingRules) -> None:
        problems = rules.problems_with(directory)
        if problems:
            raise RoutingRulesError(rules.source, problems)
        self.directory = directory
        self.rules = rules

    def _named(self, ref: str) -> Unit:
        kind, _, value = ref.partition(":")
        return self.directory.role(value) if kind == "role" else self.directory.get(value)

    def _unit(self, unit: Unit | str) -> Unit | None:
        return self.directory.find(unit.code if isinstance(unit, Unit) else unit)

    # -- routing ------------------------------------------------------------------------------
    def route(
        self,
        process: str,
        category: str,
        *,
        commune_code: str | None = None,
        unit_code: str | None = None,
    ) -> Route:
        """The unit that receives a new item (domain.md §4.1: received by the responsible unit).

        ``commune_code``: the location's commune-level unit, if known; ``unit_code``: the unit
        the sender (or the channel) chose, if any. Never fails: the ``default`` target is the
        last resort (unknown location, unknown process).
        """
        notes: list[str] = []
        rule = next((r for r in self.rules.rules if r.matches(process, category)), None)
        if rule is None:
            notes.append(NO_MATCHING_RULE)
        else:
            for target in rule.targets:
                unit = self._resolve(target, rule, category, commune_code, unit_code, notes)
                if unit is not None:
                    return Route(unit, rule.id, target, tuple(dict.fromkeys(notes)))
        unit = self._named(self.rules.default)
        return Route(unit, rule.id if rule else "", "default", tuple(dict.fromkeys(notes)))

    def _resolve(
        self,
        target: str,
        rule: Rule,
        category: str,
        commune_code: str | None,
        unit_code: str | None,
        notes: list[str],
    ) -> Unit | None:
        d = self.directory
        if target == "commune_of_location":
            if not commune_code:
                return None
            unit = d.find(commune_code)
            if unit is None:
                notes.append(COMMUNE_UNKNOWN)
                return None
            if unit.kind != "commune":
                notes.append(COMMUNE_NOT_A_COMMUNE)
                return None
            return unit
        if target == "sender_choice":
            if not unit_code:
                return None
            unit = d.find(unit_code)
            if unit is None:
                notes.append(SENDER_CHOICE_UNKNOWN)
                return None
            if unit.kind not in rule.sender_kinds:
                notes.append(SENDER_CHOICE_NOT_ACCEPTED)
                return None
            return unit
        if target == "domain_owner":
            return d.owner_of(category)
        return self._named(target)

    # -- forwarding ---------------------------------------------------------------------------
    def can_forward(
        self,
        from_unit: Unit | str,
        to_unit: Unit | str,
        *,
        commune_code: str | None = None,
        category: str | None = None,
    ) -> Verdict:
        """May ``from_unit`` forward an item (at ``commune_code``, of ``category``) to
        ``to_unit``? domain.md §4.1 (district → commune of its area), §4.2 (→ the commune)."""
        src, dst = self._unit(from_unit), self._unit(to_unit)
        if src is None or dst is None:
            missing = from_unit if src is None else to_unit
            code = missing.code if isinstance(missing, Unit) else missing
            return _refuse(UNKNOWN_UNIT, f"unit {code!r} is not in directory {self.directory.name}")
        if src.code == dst.code:
            return _refuse(SAME_UNIT, f"{src.code} cannot forward an item to itself")
        candidates = [
            r for r in self.rules.forwarding if r.from_kind == src.kind and r.to_kind == dst.kind
        ]
        if not candidates:
            return _refuse(
                FORWARD_KIND_NOT_ALLOWED, f"a {src.kind} does not forward items to a {dst.kind}"
            )
        first: Verdict | None = None
        for rule in candidates:
            verdict = self._forward_check(rule, src, dst, commune_code, category)
            if verdict.ok:
                return verdict
            first = first or verdict
        assert first is not None
        return first

    def _forward_check(
        self,
        rule: ForwardRule,
        src: Unit,
        dst: Unit,
        commune_code: str | None,
        category: str | None,
    ) -> Verdict:
        d = self.directory
        if rule.scope == "area":
            area = d.area_of(src.code)
            if not d.is_within(dst.code, area.code):
                return _refuse(
                    FORWARD_TARGET_NOT_IN_AREA,
                    f"{dst.code} ({dst.name_vi}) is not in the area of {src.code} ({area.name_vi})",
                )
        elif rule.scope == "domain":
            if category is not None:
                shared = category in src.domains and category in dst.domains
            else:
                shared = bool(set(src.domains) & set(dst.domains))
            if not shared:
                what = f"category {category!r}" if category else "any domain"
                return _refuse(
                    FORWARD_TARGET_OUTSIDE_DOMAIN,
                    f"{src.code} and {dst.code} do not share {what}",
                )
        if (
            rule.location
            and commune_code is not None
            and commune_code in d
            and not d.is_within(commune_code, dst.code)
        ):
            return _refuse(
                FORWARD_TARGET_NOT_LOCATION,
                f"the item is located in {commune_code}, not in {dst.code} ({dst.name_vi})",
            )
        return _OK

    # -- transfer -----------------------------------------------------------------------------
    def can_transfer(
        self, from_unit: Unit | str, to_unit: Unit | str, *, category: str | None = None
    ) -> Verdict:
        """May ``from_unit`` propose transferring an item (of ``category``) to ``to_unit``?
        domain.md §4.1: beyond the unit's competence → the competent department."""
        src, dst = self._unit(from_unit), self._unit(to_unit)
        if src is None or dst is None:
            missing = from_unit if src is None else to_unit
            code = missing.code if isinstance(missing, Unit) else missing
            return _refuse(UNKNOWN_UNIT, f"unit {code!r} is not in directory {self.directory.name}")
        if src.code == dst.code:
            return _refuse(SAME_UNIT, f"{src.code} cannot transfer an item to itself")
        policy = self.rules.transfer
        if src.kind not in policy.from_kinds:
            return _refuse(
                TRANSFER_SOURCE_NOT_ALLOWED, f"a {src.kind} ({src.code}) does not transfer items"
            )
        if dst.kind not in policy.to_kinds:
            return _refuse(
                TRANSFER_TARGET_NOT_DEPARTMENT,
                f"items are transferred to a {' or '.join(sorted(policy.to_kinds))}, "
                f"not to a {dst.kind} ({dst.code})",
            )
        if policy.competence and category is not None and category not in dst.domains:
            owner = self.directory.owner_of(category)
            if owner is not None:
                return _refuse(
                    TRANSFER_TARGET_NOT_COMPETENT,
                    f"{category!r} is led by {owner.code} ({owner.name_vi}), not {dst.code}",
                )
        return _OK
