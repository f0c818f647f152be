"""Services and gaps by county, from the service-provider inventory (``service_providers``).

Two tables answer the assessment's question "where do services fall short?":

* :func:`service_coverage_by_county` — one row per county × service type (16 × the configured
  types): how many providers offer the service there, how many of them only through a statewide
  listing, how many can be reached after hours or 24/7, and whether the county is covered at all.
* :func:`counties_without_after_hours` — the counties where a service type the config requires
  after hours (``services.after_hours.required``, at least emergency response) has no provider
  reachable after hours, with every service type that lacks after-hours cover there.

A provider is counted once per county and service type however many inventory rows name it
(providers are told apart by their name, ignoring case, spaces and punctuation). "Local" providers
name the county; statewide providers (a hotline) serve every county through a ``Statewide`` entry.

Disclosure: these are counts of *organisations* from a public-facing inventory, not of
respondents, so the small-count suppression of the publication gate (``assets/publication``) does not apply and
a count of 1 or 2 may be published. Provider names never leave the warehouse: these tables hold
counts and flags only.
"""

from __future__ import annotations

import pandas as pd

from pipelines.config import Assessment, name_key

COVERAGE_COLUMNS = {  # column -> dtype of service_coverage_by_county
    "wave": object, "county": object, "fips": object, "county_group": object,
    "service_type": object, "service_label": object,
    "providers": "int64", "local_providers": "int64", "after_hours_providers": "int64",
    "local_after_hours_providers": "int64", "providers_24_7": "int64",
    "covered": bool, "any_after_hours": bool, "local_after_hours": bool, "any_24_7": bool,
    "after_hours_cover": bool,  # reachable after hours under the config's rule (see after_hours_cover)
}
GAP_COLUMNS = {  # column -> dtype of counties_without_after_hours
    "wave": object, "county": object, "fips": object, "county_group": object,
    "required_without_after_hours": object, "service_types_without_after_hours": object,
    "service_labels_without_after_hours": object, "n_without_after_hours": "int64",
}
_NEEDED = ("provider", "counties", "service_types", "statewide", "after_hours", "round_the_clock")


def _typed(columns: dict[str, object], data: dict[str, list] | None = None) -> pd.DataFrame:
    data = data or {}
    return pd.DataFrame({c: pd.Series(data.get(c, []), dtype=t) for c, t in columns.items()})


def empty_coverage() -> pd.DataFrame:
    """service_coverage_by_county with no rows (a wave without an inventory)."""
    return _typed(COVERAGE_COLUMNS)


def empty_after_hours_gaps() -> pd.DataFrame:
    """counties_without_after_hours with no rows."""
    return _typed(GAP_COLUMNS)


def _cells(providers: pd.DataFrame) -> pd.DataFrame:
    """One row per provider × county × service type (deduplicated), with its flags."""
    cols = ["provider_key", "county", "service_type", "local", "after_hours", "round_the_clock"]
    if len(providers) == 0 or any(c not in providers.columns for c in _NEEDED):
        return pd.DataFrame({c: pd.Series([], dtype=object if i < 3 else bool) for i, c in enumerate(cols)})
    p = pd.DataFrame({
        "provider_key": providers["provider"].map(name_key),
        "county": providers["counties"].fillna("").astype(str).str.split(";"),
        "service_type": providers["service_types"].fillna("").astype(str).str.split(";"),
        "local": ~providers["statewide"].astype(bool),
        "after_hours": providers["after_hours"].astype(bool),
        "round_the_clock": providers["round_the_clock"].astype(bool),
    }).explode("county").explode("service_type")
    p["county"] = p["county"].str.strip()
    p["service_type"] = p["service_type"].str.strip()
    p = p[(p["county"] != "") & (p["service_type"] != "")]
    # one provider listed on several rows counts once, with the widest hours and any local listing
    return p.groupby(["provider_key", "county", "service_type"], as_index=False, sort=False)[
        ["local", "after_hours", "round_the_clock"]].any()


def service_coverage_by_county(providers: pd.DataFrame, assessment: Assessment, wave: str,
                               inventory: bool = True) -> pd.DataFrame:
    """The county × service type matrix of provider counts and after-hours / 24-7 cover.

    ``providers`` is the accepted ``service_providers`` table; ``inventory=False`` (the wave has no
    inventory file) gives an empty table with the same columns, as does a config without
    ``services``. Rows follow the config's order of counties, then of service types.
    """
    services = assessment.config.services
    if not inventory or services is None:
        return empty_coverage()
    cells = _cells(providers)
    cells["local_after_hours"] = cells["local"] & cells["after_hours"]
    counts = cells.groupby(["county", "service_type"]).agg(
        providers=("provider_key", "size"), local_providers=("local", "sum"),
        after_hours_providers=("after_hours", "sum"), local_after_hours_providers=("local_after_hours", "sum"),
        providers_24_7=("round_the_clock", "sum"))
    group_of = assessment.county_group_of
    grid = pd.MultiIndex.from_product([[c.name for c in assessment.config.counties], [t.id for t in services.types]],
                                      names=["county", "service_type"])
    out = counts.reindex(grid, fill_value=0).astype("int64").reset_index()
    fips = {c.name: c.fips for c in assessment.config.counties}
    label = {t.id: t.label for t in services.types}
    out.insert(0, "wave", wave)
    out.insert(2, "fips", out["county"].map(fips))
    out.insert(3, "county_group", out["county"].map(group_of))
    out.insert(5, "service_label", out["service_type"].map(label))
    out["covered"] = out["providers"] > 0
    out["any_after_hours"] = out["after_hours_providers"] > 0
    out["local_after_hours"] = out["local_after_hours_providers"] > 0
    out["any_24_7"] = out["providers_24_7"] > 0
    out["after_hours_cover"] = out[after_hours_cover(assessment)]
    return out[list(COVERAGE_COLUMNS)].astype(COVERAGE_COLUMNS)


def after_hours_cover(assessment: Assessment) -> str:
    """Which column says a county has a service reachable after hours, by the config's rule: a
    statewide line counts only with ``services.after_hours.count_statewide``, otherwise only a
    provider serving the county itself does. The rule's one home; its result is the table's
    ``after_hours_cover`` column, which the gaps table and the report read."""
    services = assessment.config.services
    return "any_after_hours" if services is not None and services.after_hours.count_statewide \
        else "local_after_hours"


def counties_without_after_hours(coverage: pd.DataFrame, assessment: Assessment, wave: str) -> pd.DataFrame:
    """The counties where a required service type (``services.after_hours.required``) has no
    provider reachable after hours, from :func:`service_coverage_by_county`'s table.

    Cover is the coverage table's ``after_hours_cover`` (the config's rule, :func:`after_hours_cover`).
    Each row lists the required types lacking after-hours cover there and every type that does
    (ids ``; ``-separated, in config order; labels likewise). Empty when ``coverage`` is empty.
    """
    services = assessment.config.services
    if services is None or len(coverage) == 0:
        return empty_after_hours_gaps()
    required = list(services.after_hours.required)
    order = {t.id: i for i, t in enumerate(services.types)}
    label = {t.id: t.label for t in services.types}
    rows: dict[str, list] = {c: [] for c in GAP_COLUMNS}
    for county in assessment.config.counties:
        mine = coverage[coverage["county"] == county.name]
        lacking = sorted(mine.loc[~mine["after_hours_cover"].astype(bool), "service_type"],
                         key=lambda t: order.get(t, len(order)))
        missing_required = [t for t in required if t in lacking]
        if not missing_required:
            continue
        for col, v in (("wave", wave), ("county", county.name), ("fips", county.fips),
                       ("county_group", assessment.county_group_of.get(county.name)),
                       ("required_without_after_hours", "; ".join(missing_required)),
                       ("service_types_without_after_hours", "; ".join(lacking)),
                       ("service_labels_without_after_hours", "; ".join(label.get(t, t) for t in lacking)),
                       ("n_without_after_hours", len(lacking))):
            rows[col].append(v)
    return _typed(GAP_COLUMNS, rows)
