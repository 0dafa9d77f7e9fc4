"""Analysts' access on current ClickHouse: SQL roles, column grants, row policies.

ClickHouse 18.16 (Debian's, what runs here) has none of these: there the analyst is the
``users.xml`` user limited to ``<db>_analytics`` (docs/warehouse.md), and nothing here runs.
Current ClickHouse (the compose file's server, what BI tools connect to) gets, on top of the
same migrations (``pakn warehouse access``, run by the compose init job):

* profile ``pakn_analyst``: ``readonly = 2`` (reads only, but a BI client may send settings
  such as ``max_result_rows``) and ``final = 1`` (every table read as with FINAL);
* role ``pakn_analyst``: the whole analysts' database, and in the warehouse database a
  **column grant** on ``cases`` without the person-linked columns (``PERSON_LINKED``), the typed
  facts, tallies, flags and dimensions — never ``case_events`` (its payload holds pseudonyms)
  nor ``privacy_audit``;
* role ``pakn_unit_analyst``: the typed tables and views of the analysts' database, each row
  filtered by a **row policy** to the unit of a per-unit role ``pakn_unit_<code>``
  (``pakn warehouse user NAME --unit CODE`` creates both); everyone else reads every row.

The statements are built here (pure) from the columns the migrations made, so a column added
later is granted unless it is listed as person-linked.
"""

from __future__ import annotations

import re
from collections.abc import Callable

ANALYST_ROLE = "pakn_analyst"
UNIT_ANALYST_ROLE = "pakn_unit_analyst"
PROFILE = "pakn_analyst"
# Columns that point at a person: never granted, per table of the warehouse database.
PERSON_LINKED: dict[str, frozenset[str]] = {"cases": frozenset({"sender_pseudonym"})}
# Warehouse tables the analyst role reads (cases through its column grant).
ANALYST_TABLES = (
    "cases",
    "case_event_facts",
    "unit_month_tallies",
    "oversight_flags",
    "integrity_flags",
    "dim_units",
    "dim_categories",
    "dim_calendar",
)
# What a unit analyst reads in the analysts' database, and the column a row policy filters on.
UNIT_SCOPED = {
    "cases": "unit_code",
    "case_event_facts": "unit_code",
    "unit_month_tallies": "unit_code",
    "oversight_flags": "unit_code",
}
UNIT_VIEWS = (
    "v_cases",
    "v_event_facts",
    "v_stage_completions",
    "v_transitions",
    "v_unit_month_tallies",
    "v_oversight_flags",
)
SHARED_DIMENSIONS = ("dim_units", "dim_categories", "dim_calendar")
SHARED_VIEWS = ("v_units", "v_categories", "v_calendar")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_UNIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


def unit_role(unit: str) -> str:
    """The per-unit role: ``pakn_unit_01_STC`` for ``01-STC`` (role names are identifiers)."""
    if not _UNIT.fullmatch(unit):
        raise ValueError(f"not a unit code: {unit!r}")
    return "pakn_unit_" + re.sub(r"[^A-Za-z0-9_]", "_", unit)


def access_statements(db: str, columns_of: Callable[[str], list[str]]) -> list[str]:
    """Roles, profile, grants and the all-rows policies (idempotent: IF NOT EXISTS, GRANT)."""
    an = f"{db}_analytics"
    out = [
        f"CREATE ROLE IF NOT EXISTS {ANALYST_ROLE}",
        f"CREATE ROLE IF NOT EXISTS {UNIT_ANALYST_ROLE}",
        f"CREATE SETTINGS PROFILE IF NOT EXISTS {PROFILE} "
        f"SETTINGS readonly = 2, final = 1 TO {ANALYST_ROLE}, {UNIT_ANALYST_ROLE}",
        f"GRANT SELECT ON {an}.* TO {ANALYST_ROLE}",
    ]
    for table in ANALYST_TABLES:
        hidden = PERSON_LINKED.get(table, frozenset())
        cols = [c for c in columns_of(table) if c not in hidden]
        what = f"SELECT({', '.join(cols)})" if hidden else "SELECT"
        out.append(f"GRANT {what} ON {db}.{table} TO {ANALYST_ROLE}")
    for name in (*UNIT_SCOPED, *UNIT_VIEWS, *SHARED_DIMENSIONS, *SHARED_VIEWS):
        out.append(f"GRANT SELECT ON {an}.{name} TO {UNIT_ANALYST_ROLE}")
    # Once a table has a row policy, a user no policy names sees no rows: every one but the
    # unit analysts gets all rows.
    for table in UNIT_SCOPED:
        out.append(
            f"CREATE ROW POLICY IF NOT EXISTS pakn_all_units ON {an}.{table} "
            f"FOR SELECT USING 1 TO ALL EXCEPT {UNIT_ANALYST_ROLE}"
        )
    return out


def unit_statements(db: str, unit: str) -> list[str]:
    """The per-unit role and its row policies: rows of ``unit`` only."""
    role = unit_role(unit)
    an = f"{db}_analytics"
    out = [f"CREATE ROLE IF NOT EXISTS {role}"]
    for table, column in UNIT_SCOPED.items():
        out.append(
            f"CREATE ROW POLICY IF NOT EXISTS {role} ON {an}.{table} "
            f"FOR SELECT USING {column} = '{unit}' TO {role}"
        )
    return out


def user_statements(name: str, password_sha256_hex: str, unit: str | None = None) -> list[str]:
    """A BI or analyst login: the analyst role, or a unit analyst of ``unit``."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a user name: {name!r}")
    if not re.fullmatch(r"[0-9a-f]{64}", password_sha256_hex):
        raise ValueError("the password must be given as its SHA-256, 64 hex digits")
    roles = [ANALYST_ROLE] if unit is None else [UNIT_ANALYST_ROLE, unit_role(unit)]
    return [
        # no DEFAULT ROLE clause: a user's default roles are all the roles granted to it
        f"CREATE USER IF NOT EXISTS {name} IDENTIFIED WITH sha256_hash BY '{password_sha256_hex}'",
        f"GRANT {', '.join(roles)} TO {name}",
    ]


def supports_sql_access(version: str) -> bool:
    """SQL users and row policies exist from 20.x; the ``final`` setting from 23.x."""
    return int(version.split(".")[0]) >= 23
