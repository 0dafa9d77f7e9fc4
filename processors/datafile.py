"""Errors of the data files an operator edits (unit directory, routing rules, ...)."""

from __future__ import annotations


class DataFileError(ValueError):
    """A data file that cannot be used; ``problems`` lists every problem, not just the first."""

    what = "the data file"

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        shown = "\n".join(f"  - {p}" for p in self.problems)
        n = len(self.problems)
        super().__init__(f"{source}: {n} problem{'s' if n != 1 else ''} in {self.what}\n{shown}")
