"""The service-provider inventory: which organisations serve which counties, with what, and when.

A wave folder may hold ``provider_inventory.csv`` (or ``.xlsx``): a plain table, one row per provider
(or per provider and hours, when a provider keeps different hours for different services), with

``provider``         the organisation's name;
``counties_served``  the counties it serves: county names, "X County", abbreviations, FIPS codes or
                     towns (as :class:`~assets.ingest.geography.CountyResolver` reads them), or a
                     statewide word from the config (``Statewide``, ``All counties``) for all of them;
``service_types``    what it offers: ids, labels or aliases of ``services.types`` in the config
                     (emergency response, basic needs, shelter/housing, medical, legal, mental
                     health, substance use treatment, mentorship);
``hours``            when it can be reached: an id, label or alias of ``services.hours`` (24/7,
                     after hours, business hours). Several values in one cell: the widest counts.

Cells listing several values separate them with ``;``, ``|`` or ``,``. Matching ignores case,
spaces and punctuation, so ``Shelter/Housing``, ``shelter housing`` and ``SHELTER-HOUSING`` meet.
Column names are matched the same way, with a few common alternatives (``organization``,
``counties``, ``services``, ``availability``); other columns are ignored.

A row that cannot be used is quarantined with its line in the file, the check it failed and why
(no provider name, no or unknown county, no or unknown service type, no or unknown hours) and the
offending value — never the provider's name — so rows read = accepted + quarantined. A file that
cannot be read as a table (missing or repeated column, binary content, a row wider than the
header) raises :class:`~pipelines.errors.InputError` naming the file, row and column and the fix.

Provider names are organisation names, not respondents, but they stay in the warehouse: only
counts of providers are published (``assets/estimates/services.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from assets.ingest.geography import CountyResolver
from assets.ingest.raw import check_short_rows, decode_text, drop_trailing_blank, parse_delimited, read_bytes, \
    sniff_delimiter
from pipelines.config import Assessment, Services, name_key
from pipelines.errors import ConfigError, InputError

DATASET = "service_providers"
INVENTORY_FILES = ("provider_inventory.csv", "provider_inventory.xlsx")
SEPARATORS = ";|,"

#: the columns of the inventory and the other names each is recognised by (compared by name_key)
COLUMNS: dict[str, tuple[str, ...]] = {
    "provider": ("provider", "provider name", "organisation", "organization", "organisation name",
                 "organization name", "agency", "agency name", "name"),
    "counties_served": ("counties served", "counties", "county", "county served", "service area", "area served",
                        "counties covered"),
    "service_types": ("service types", "service type", "services", "services offered", "types of service",
                      "type of service"),
    "hours": ("hours", "hours of operation", "availability", "hours available", "opening hours"),
}

PROVIDER_COLUMNS = {  # the accepted table, service_providers: column -> dtype
    "wave": object, "source_row": "int64", "provider": object, "counties": object, "n_counties": "int64",
    "statewide": bool, "service_types": object, "n_service_types": "int64", "hours": object,
    "after_hours": bool, "round_the_clock": bool,
}
QUARANTINE_COLUMNS = {  # service_providers_quarantine: column -> dtype
    "dataset": object, "wave": object, "source_row": "int64", "check": object, "reason": object, "detail": object,
}
#: reason -> check name, in the order rows are checked (a row is held back for the first it fails)
CHECKS = {
    "no provider name": "has_provider",
    "no counties served": "has_counties",
    "unknown county": "known_counties",
    "no service types": "has_service_types",
    "unknown service type": "known_service_types",
    "no hours": "has_hours",
    "unknown hours": "known_hours",
}


@dataclass
class InventoryReport:
    """What reading the inventory found, for asset metadata (counts only, no provider names)."""

    file_name: str = ""
    rows_read: int = 0
    rows_accepted: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    encoding: str = ""
    ignored_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_quarantined(self) -> int:
        return int(sum(self.quarantined.values()))

    def reconciles(self) -> bool:
        return self.rows_read == self.rows_accepted + self.rows_quarantined

    def as_dict(self) -> dict:
        d = asdict(self)
        d["rows_quarantined"] = self.rows_quarantined
        d["reconciles"] = self.reconciles()
        return d


def _typed(columns: dict[str, object], data: dict[str, object] | None = None) -> pd.DataFrame:
    data = data or {}
    return pd.DataFrame({c: pd.Series(data.get(c, []), dtype=t) for c, t in columns.items()})


def empty_service_providers() -> pd.DataFrame:
    """The accepted table with no rows (a wave without an inventory)."""
    return _typed(PROVIDER_COLUMNS)


def empty_service_quarantine() -> pd.DataFrame:
    return _typed(QUARANTINE_COLUMNS)


def find_inventory(folder: Path) -> Path | None:
    """The wave's inventory file, if it has one."""
    return next((folder / n for n in INVENTORY_FILES if (folder / n).is_file()), None)


# --------------------------------------------------------------------------- reading the table


def _grid(path: Path) -> tuple[pd.DataFrame, str, list[str]]:
    """Every row of the file as strings (blank = ''), indexed by its line (row) in the file."""
    data = read_bytes(path)
    from assets.ingest.readers import _read_xlsx, _sniff_container

    container = _sniff_container(data)
    if container == "xlsx":
        return _read_xlsx(path), "xlsx", []
    if container in ("xls", "sav"):
        raise InputError(path, f"this is an {'old Excel .xls' if container == 'xls' else 'SPSS .sav'} file, "
                               "not an inventory table", fix="save the inventory as .xlsx or CSV")
    text, encoding, notes = decode_text(path, data)
    grid = drop_trailing_blank(parse_delimited(path, text, sniff_delimiter(text), notes))
    if grid.empty:
        raise InputError(path, "the file is empty", fix="save the provider inventory with its header row")
    body = check_short_rows(path, grid.iloc[1:], grid.shape[1])
    return pd.concat([grid.iloc[:1].fillna(""), body]), encoding, notes


def _locate_columns(path: Path, header: list[str], line: int) -> tuple[dict[str, int], list[str]]:
    keys = [name_key(h) for h in header]
    found: dict[str, int] = {}
    for col, names in COLUMNS.items():
        wanted = {name_key(col), *(name_key(n) for n in names)}
        hits = [i for i, k in enumerate(keys) if k in wanted]
        if not hits:
            raise InputError(path, f"no {col!r} column", row=line, column=col,
                             fix=f"name the inventory's columns {', '.join(COLUMNS)} (found: "
                                 f"{', '.join(repr(h) for h in header if h.strip()) or 'none'})")
        if len(hits) > 1:
            raise InputError(path, f"two columns ({', '.join(repr(header[i]) for i in hits)}) are both the {col!r} "
                                   "column", row=line, column=header[hits[1]],
                             fix="keep one of them, or rename the other")
        found[col] = hits[0]
    ignored = [h for i, h in enumerate(header) if i not in found.values() and h.strip()]
    return found, ignored


def read_inventory_table(path: Path | str) -> tuple[pd.DataFrame, InventoryReport]:
    """The inventory's four columns as text, one row per non-blank line, with ``source_row``.

    Raises InputError when the file cannot be read as an inventory table.
    """
    path = Path(path)
    grid, encoding, notes = _grid(path)
    header = [str(h).strip() for h in grid.iloc[0].tolist()]
    where, ignored = _locate_columns(path, header, int(grid.index[0]))
    body = grid.iloc[1:]
    table = pd.DataFrame({col: body[i].astype(str).to_numpy() for col, i in where.items()})
    table.insert(0, "source_row", body.index.to_numpy(dtype=np.int64))
    blank = (table[list(COLUMNS)].apply(lambda c: c.str.strip()) == "").all(axis=1).to_numpy()
    if blank.any():
        notes = [*notes, f"{int(blank.sum())} blank row(s) skipped"]
        table = table[~blank].reset_index(drop=True)
    report = InventoryReport(file_name=path.name, rows_read=len(table), encoding=encoding,
                             ignored_columns=ignored, notes=list(notes))
    return table, report


def count_inventory_rows(path: Path | str) -> int:
    """Provider rows in the file (non-blank rows below the header), as ``survey_exports`` lists them."""
    return read_inventory_table(path)[0].shape[0]


# --------------------------------------------------------------------------- matching values


def split_cell(value: str) -> list[str]:
    """The values of a multi-valued cell: separated by ; | or , with blanks dropped."""
    parts = [str(value)]
    for sep in SEPARATORS:
        parts = [p for part in parts for p in part.split(sep)]
    return [p.strip() for p in parts if p.strip()]


@dataclass(frozen=True)
class _Vocabulary:
    """The config's words for service types, hours and 'statewide', keyed by name_key."""

    types: dict[str, str]
    type_order: dict[str, int]
    hours: dict[str, str]
    hours_rank: dict[str, int]
    after_hours: dict[str, bool]
    round_the_clock: dict[str, bool]
    statewide: frozenset[str]

    @classmethod
    def of(cls, services: Services) -> "_Vocabulary":
        types, hours = services.names()
        rank = {h.id: 2 * h.round_the_clock + h.after_hours for h in services.hours}
        return cls(types=types, type_order={t.id: i for i, t in enumerate(services.types)}, hours=hours,
                   hours_rank=rank, after_hours={h.id: h.after_hours for h in services.hours},
                   round_the_clock={h.id: h.round_the_clock for h in services.hours},
                   statewide=frozenset(name_key(s) for s in services.statewide))


def services_of(assessment: Assessment, path: Path | str | None = None) -> Services:
    """The config's ``services`` section; a ConfigError if the inventory needs it and it is missing."""
    services = assessment.config.services
    if services is None:
        where = f" to read {Path(path).name}" if path is not None else ""
        raise ConfigError(assessment.path, f"no services section{where}",
                          "add a services: section (types, hours) as in config/maine/assessment.yaml")
    return services


def _quote(values: list[str]) -> str:
    return "; ".join(repr(v[:60]) for v in values)[:200]


def to_service_providers(table: pd.DataFrame, report: InventoryReport, assessment: Assessment,
                         wave: str) -> tuple[pd.DataFrame, pd.DataFrame, InventoryReport]:
    """Check and normalise the inventory rows: (accepted, quarantined, report)."""
    vocab = _Vocabulary.of(services_of(assessment))
    resolver = CountyResolver.for_assessment(assessment)
    counties = assessment.county_names
    county_order = {c: i for i, c in enumerate(counties)}
    place: dict[str, str | None] = {}  # each distinct county text is resolved once

    accepted: dict[str, list] = {c: [] for c in PROVIDER_COLUMNS}
    held: dict[str, list] = {c: [] for c in QUARANTINE_COLUMNS}

    def hold(row: int, reason: str, detail: str = "") -> None:
        for col, v in (("dataset", DATASET), ("wave", wave), ("source_row", row), ("check", CHECKS[reason]),
                       ("reason", reason), ("detail", detail)):
            held[col].append(v)

    for row, provider, served, types, hours in zip(table["source_row"], table["provider"],
                                                  table["counties_served"], table["service_types"], table["hours"]):
        row = int(row)
        provider = " ".join(str(provider).split())
        if not provider:
            hold(row, "no provider name")
            continue
        parts = split_cell(served)
        if not parts:
            hold(row, "no counties served")
            continue
        statewide = any(name_key(p) in vocab.statewide for p in parts)
        found, unknown = set(), []
        for p in parts:
            if name_key(p) in vocab.statewide:
                continue
            if p not in place:
                place[p] = resolver.resolve(p).county
            (found.add(place[p]) if place[p] else unknown.append(p))
        if unknown:
            hold(row, "unknown county", _quote(unknown))
            continue
        if statewide:
            found = set(counties)
        parts = split_cell(types)
        if not parts:
            hold(row, "no service types")
            continue
        ids = [vocab.types.get(name_key(p)) for p in parts]
        if None in ids:
            hold(row, "unknown service type", _quote([p for p, i in zip(parts, ids) if i is None]))
            continue
        parts = split_cell(hours)
        if not parts:
            hold(row, "no hours")
            continue
        hids = [vocab.hours.get(name_key(p)) for p in parts]
        if None in hids:
            hold(row, "unknown hours", _quote([p for p, i in zip(parts, hids) if i is None]))
            continue
        hid = max(hids, key=lambda h: vocab.hours_rank[h])  # the widest availability the row gives
        svc = sorted(set(ids), key=vocab.type_order.__getitem__)
        places = sorted(found, key=county_order.__getitem__)
        for col, v in (("wave", wave), ("source_row", row), ("provider", provider), ("counties", "; ".join(places)),
                       ("n_counties", len(places)), ("statewide", statewide), ("service_types", "; ".join(svc)),
                       ("n_service_types", len(svc)), ("hours", hid), ("after_hours", vocab.after_hours[hid]),
                       ("round_the_clock", vocab.round_the_clock[hid])):
            accepted[col].append(v)

    out = _typed(PROVIDER_COLUMNS, accepted)
    quarantine = _typed(QUARANTINE_COLUMNS, held)
    report.rows_accepted = len(out)
    report.quarantined = {str(k): int(v) for k, v in quarantine["reason"].value_counts().items()}
    return out, quarantine, report


def read_service_inventory(path: Path | str, assessment: Assessment,
                           wave: str) -> tuple[pd.DataFrame, pd.DataFrame, InventoryReport]:
    """Read one inventory file: (accepted ``service_providers``, quarantine, report)."""
    services_of(assessment, path)  # a config without services: say so before reading the file
    table, report = read_inventory_table(path)
    return to_service_providers(table, report, assessment, wave)


def service_inventory_for_wave(folder: Path, assessment: Assessment,
                               wave: str) -> tuple[pd.DataFrame, pd.DataFrame, InventoryReport]:
    """The wave's inventory, or empty tables (and an empty report) when the folder has none."""
    path = find_inventory(folder)
    if path is None:
        return empty_service_providers(), empty_service_quarantine(), InventoryReport()
    return read_service_inventory(path, assessment, wave)
