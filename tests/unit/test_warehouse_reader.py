"""The gateway reads the warehouse through gateway/stores/warehouse.py, never through sinks/."""

from __future__ import annotations

import ast
from pathlib import Path

from gateway.stores.warehouse import TALLY_FIGURES
from processors.publication import CLOSED_STATUSES, PUBLISHED_STATUSES
from processors.workflow import ANSWERED, STATUSES
from sinks.rows import TALLY_FIGURES as WRITTEN

GATEWAY = Path(__file__).parents[2] / "gateway"


def test_the_reader_reads_the_figures_the_sink_writes() -> None:
    assert TALLY_FIGURES == WRITTEN


def test_the_gateway_imports_nothing_from_sinks() -> None:
    offenders = []
    for path in GATEWAY.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "sinks"]
    assert offenders == []


def test_published_and_closed_statuses_are_statuses_of_the_workflow() -> None:
    assert set(PUBLISHED_STATUSES) <= set(CLOSED_STATUSES) == ANSWERED <= set(STATUSES)
