"""Errors the user sees. Each says which file, where in it, and what to do.

The CLI and the Dagster assets turn these into a short message; any other exception is a bug.

A message about a respondent-level input carries positions (file, row, column, the rule broken),
never a value read from the file: messages end up in the terminal, in Dagster's run history and in
its logs, where a respondent's answer or a case's name must never go. Where the value's form helps
the user find it, :class:`InputError` takes it as ``value=`` and prints only its shape
(:func:`shape_of`: "a 9-character text of letters", "a number", "blank"), never the value.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path


def shape_of(value: object) -> str:
    """What a value looks like, without any of its characters: its length and character classes."""
    if value is None or (isinstance(value, float) and value != value):
        return "blank"
    text = str(value)
    if not text.strip():
        return "blank" if not text else f"{len(text)} space(s)"
    stripped = text.strip()
    if re.fullmatch(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?", stripped):
        return "a number" if len(stripped) <= 20 else f"a {len(stripped)}-digit number"
    if re.fullmatch(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", stripped):
        return "a date-like text"
    kinds = []
    if any(c.isalpha() for c in text):
        kinds.append("letters")
    if any(c.isdigit() for c in text):
        kinds.append("digits")
    if any(c.isspace() for c in stripped):
        kinds.append("spaces")
    if any(not (c.isalnum() or c.isspace()) for c in text):
        kinds.append("other characters")
    return f"a {len(text)}-character text of {', '.join(kinds[:-1]) + ' and ' + kinds[-1] if len(kinds) > 1 else kinds[0]}"


_NO_VALUE = object()


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
        value: object = _NO_VALUE,
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
        if value is not _NO_VALUE:  # its shape only: the value itself may identify a person
            msg += f" (the cell holds {shape_of(value)})"
        if fix:
            msg += f"\n  fix: {fix}"
        super().__init__(msg)


class WarehouseError(HtnaError):
    """The assessment's DuckDB file cannot be opened (not writable, busy, not a DuckDB file)."""

    def __init__(self, path: Path | str, problem: str, fix: str = "") -> None:
        self.path = Path(path)
        super().__init__(f"{self.path}: {problem}" + (f"\n  fix: {fix}" if fix else ""))


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_DISK_FULL_TEXT = ("no space left on device", "disk quota exceeded", "not enough space on the disk",
                   "database or disk is full")


def disk_full(exc: BaseException) -> bool:
    """True when ``exc`` (or an exception it was raised from) says the disk is full."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
            return True
        if any(t in str(exc).casefold() for t in _DISK_FULL_TEXT):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
        seen += 1
    return False


DISK_FULL_MESSAGE = ("the disk is full (no space left on the device holding the warehouse, the archive, the "
                     "Dagster home or the report); what was being written was not kept\n"
                     "  fix: free some space (or point --warehouse / --output / DAGSTER_HOME at a disk with room), "
                     "then run the wave again")
