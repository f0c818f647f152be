"""Placing a county answer: county names, "X County", abbreviations, FIPS codes and municipalities.

Officers type their county in many ways: ``Cumberland``, ``cumberland county``, ``CUM``, ``23005``,
or the town they work in (``Portland``). :class:`CountyResolver` turns each into the assessment's
county name, or into ``None`` with a reason ("unknown county: ..."). The municipality → county table
is data (``config/<state>/municipalities.csv``: ``municipality,county,kind``) so another state ships
its own file, not code.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import ConfigError

MUNICIPALITIES_FILE = "municipalities.csv"
UNKNOWN_COUNTY = "unknown county"

_SUFFIXES = re.compile(r"\b(county|cnty|cty|co)\.?$")
_TOWN_WORDS = re.compile(r"^(city|town|village|plantation|township) of\s+|\s+(city|town|village|plantation|plt|pl|twp|township)\.?$")


def _fold(text: str) -> str:
    t = unicodedata.normalize("NFKD", str(text))
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    t = t.replace("\u2019", "'").replace("\u2018", "'").replace("\u2013", "-").replace("\u2014", "-")
    t = re.sub(r"[\s_]+", " ", t).strip().casefold()
    return t.rstrip(" .,;:!?").strip()


def _compact(text: str) -> str:
    """A key without punctuation: 'Dover-Foxcroft' and 'dover foxcroft' meet; 'St.' is 'saint'."""
    t = re.sub(r"^(st|ste)\.?\s+", "saint ", text)
    t = re.sub(r"\bmt\.?\s+", "mount ", t)
    return re.sub(r"[^a-z0-9]", "", t)


@dataclass(frozen=True)
class Placement:
    """Where an answer was placed: the county (or None) and how, or why not."""

    county: str | None
    how: str


def load_municipalities(path: Path) -> list[tuple[str, str, str]]:
    """Rows (municipality, county, kind) of a municipality table; ConfigError if it is malformed."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    except FileNotFoundError:
        raise ConfigError(path, "file not found", "ship the state's municipality table next to assessment.yaml") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(path, f"cannot read the table ({exc})") from None
    problems = []
    out = []
    for i, r in enumerate(rows, start=3):
        name, county, kind = (r.get("municipality") or "").strip(), (r.get("county") or "").strip(), (r.get("kind") or "").strip()
        if not name or not county:
            problems.append(f"line {i}: needs municipality and county")
            continue
        out.append((name, county, kind))
    if problems:
        raise ConfigError(path, problems[:10])
    return out


class CountyResolver:
    """Maps free-text county answers onto the assessment's counties.

    ``counties`` are (name, 5-digit FIPS) pairs; ``municipalities`` (name, county, kind) rows. A bare
    name that is both a county and a town (Lincoln, Franklin, York) is the county: the question asks
    for one. A town name shared by towns in two counties is not placed (the reason says so).
    """

    def __init__(self, counties: list[tuple[str, str]], municipalities: list[tuple[str, str, str]] = (),
                 state_names: tuple[str, ...] = (), aliases: dict[str, list[str]] | None = None) -> None:
        self.counties = [c for c, _ in counties]
        self._direct: dict[str, str] = {}
        self._state_names = state_names
        for name, fips in counties:
            f = _fold(name)
            for key in (f, f"{f} county", f"{f} co", _compact(f), f[:3], f[:4], fips, fips[2:]):
                self._direct.setdefault(key, name)
        # the state's own abbreviations (the config's `aliases` of a county) where the first letters differ
        for name, spellings in (aliases or {}).items():
            if name in self.counties:
                for abbr in spellings:
                    self._direct.setdefault(_fold(abbr), name)
        self._towns: dict[str, set[str]] = {}  # exact names
        self._loose: dict[str, set[str]] = {}  # names without "town of" / "plantation" / "township"
        unknown = sorted({c for _, c, _ in municipalities if c not in self.counties})
        if unknown:
            raise ValueError(f"municipality table names unknown counties: {', '.join(unknown)}")
        for town, county, _kind in municipalities:
            f = _fold(town)
            for key in {f, _compact(f)}:
                self._towns.setdefault(key, set()).add(county)
            loose = _TOWN_WORDS.sub("", f).strip()
            for key in {loose, _compact(loose)}:
                if key:
                    self._loose.setdefault(key, set()).add(county)

    @classmethod
    def for_assessment(cls, assessment: object) -> "CountyResolver":
        """The resolver of an :class:`~pipelines.config.Assessment` (its counties and municipality table)."""
        config = assessment.config  # type: ignore[attr-defined]
        counties = [(c.name, c.fips) for c in config.counties]
        table = Path(assessment.path).parent / MUNICIPALITIES_FILE  # type: ignore[attr-defined]
        towns = load_municipalities(table) if table.exists() else []
        try:
            return cls(counties, towns, state_names=(_fold(config.state.name), _fold(config.state.abbreviation)),
                       aliases={c.name: list(c.aliases) for c in config.counties if c.aliases})
        except ValueError as exc:  # a county column naming no county of the config
            raise ConfigError(table, str(exc), "write each municipality's county as assessment.yaml names it") \
                from None

    def resolve(self, value: object) -> Placement:
        """The county of one answer, or ``Placement(None, reason)``; blank answers give ``(None, '')``."""
        if value is None:
            return Placement(None, "")
        raw = str(value)
        f = _fold(raw)
        if not f:
            return Placement(None, "")
        # drop a trailing state ("Portland, ME", "Bangor Maine")
        for st in self._state_names:
            f = re.sub(rf"[,\s]+{re.escape(st)}$", "", f).strip()
        f = re.sub(r"\.0+$", "", f)  # a FIPS code read as a number
        if f in self._direct:
            return Placement(self._direct[f], "county")
        base = _SUFFIXES.sub("", f).strip(" ,")
        if base in self._direct:
            return Placement(self._direct[base], "county")
        if _compact(base) in self._direct:
            return Placement(self._direct[_compact(base)], "county")
        loose = _TOWN_WORDS.sub("", base).strip()
        for table, key in ((self._towns, base), (self._towns, _compact(base)), (self._towns, loose),
                           (self._towns, _compact(loose)), (self._loose, loose), (self._loose, _compact(loose))):
            found = table.get(key)
            if found and len(found) == 1:
                return Placement(next(iter(found)), "municipality")
            if found:
                return Placement(None, f"{UNKNOWN_COUNTY}: {raw.strip()[:60]!r} names places in "
                                       f"{' and '.join(sorted(found))} counties")
        if re.fullmatch(r"\d+", base):
            return Placement(None, f"{UNKNOWN_COUNTY}: {raw.strip()[:60]!r} is not a county FIPS code of this state")
        return Placement(None, f"{UNKNOWN_COUNTY}: {raw.strip()[:60]!r} is not a county, county abbreviation, "
                               "FIPS code or municipality of this state")
