"""What the gateway decides with, set once at start and followed afterwards: the unit directory
whose names it shows (the files' — ``PAKN_UNITS_FILE``, else the shipped one — until
``units.directory`` has a publication, then the latest, from a ``DirectoryFollower`` thread) and
the word list it screens with (shipped + ``PAKN_WORDLIST_FILE``). The gateway's own state: the pure
core is given its rules, it keeps none."""

from __future__ import annotations

from processors.units import UnitDirectory, load_directory
from processors.wording import Hit, Screener, shipped_screener

_directory: UnitDirectory | None = None
_screener: Screener | None = None


def use_directory(directory: UnitDirectory | None) -> None:
    """From the follower thread: one assignment, atomic for the readers."""
    global _directory
    _directory = directory


def use_screener(screener: Screener) -> None:
    global _screener
    _screener = screener


def default_directory() -> UnitDirectory:
    global _directory
    if _directory is None:
        _directory = load_directory()
    return _directory


def screen(text: str) -> list[Hit]:
    return (_screener or shipped_screener()).screen(text)
