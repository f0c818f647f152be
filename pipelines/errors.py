"""Errors the user sees. Each says which file, where in it, and what to do.

The CLI and the Dagster assets turn these into a short message; any other exception is a bug.
"""

from __future__ import annotations

from pathlib import Path


class HtnaError(Exception):
    """Base class of every error a user can act on."""


class ConfigError(HtnaError):
    """An assessment configuration, codebook or indicator file is malformed."""

    def __init__(self, path: Path | str, problems: list[str] | str, fix: str = "") -> None:
        self.path = Path(path)
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.fix = fix
        lines = [f"{self.path}: invalid configuration"] + [f"  - {p}" for p in self.problems]
        if fix:
            lines.append(f"  fix: {fix}")
        super().__init__("\n".join(lines))


class InputError(HtnaError):
    """A survey export or interview file cannot be read as it is."""

    def __init__(
        self,
        path: Path | str,
        problem: str,
        *,
        row: int | None = None,
        column: str | None = None,
        fix: str = "",
    ) -> None:
        self.path = Path(path)
        self.problem = problem
        self.row = row
        self.column = column
        self.fix = fix
        where = []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        loc = f" ({', '.join(where)})" if where else ""
        msg = f"{self.path}{loc}: {problem}"
        if fix:
            msg += f"\n  fix: {fix}"
        super().__init__(msg)


class WarehouseError(HtnaError):
    """The assessment's DuckDB file cannot be opened (not writable, busy, not a DuckDB file)."""

    def __init__(self, path: Path | str, problem: str, fix: str = "") -> None:
        self.path = Path(path)
        super().__init__(f"{self.path}: {problem}" + (f"\n  fix: {fix}" if fix else ""))
