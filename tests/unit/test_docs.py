"""The README's configuration reference is the settings class, word for word."""

from __future__ import annotations

from pathlib import Path

from pakn.cli import config_reference

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lists_every_setting_with_its_default() -> None:
    assert config_reference() in README.read_text()


def test_ci_runs_the_readme_test_command() -> None:
    ci = (README.parent / ".ci" / "run").read_text()
    assert "make test" in README.read_text() and "make test" in ci
