"""The publication gate: no published count below the minimum, none derivable by subtraction.

Tested on crafted data, with the derivation check independent of the implementation: for every
suppressed cell a linear program finds the smallest and largest value of its count consistent
with the published counts and the table's additive structure (domain levels add up to the overall
row, counties to their county group); the cell is disclosed if the two coincide.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.estimates.headline import headline_indicators
from assets.estimates.interview_themes import theme_counts
from assets.estimates.publish import DisclosureRules, publishable
from assets.report.site import indicators_csv
from pipelines.config import Assessment
from tests.unit.test_estimates_disclosure import disclosed

GROUP_OF = {"Cumberland": "Cumberland and York", "York": "Cumberland and York",
            "Penobscot": "All other counties", "Kennebec": "All other counties", "Knox": "All other counties"}
RULES = DisclosureRules(min_count=6, protect_numerators=True, nesting={"county": ("county_group", GROUP_OF)})


def cell_table(n_by_county: dict[str, int], x_by_county: dict[str, int], band_split: float = 0.5) -> pd.DataFrame:
    """One indicator's unsuppressed table: all, county_group, county and experience_band cells."""
    cells = []
    n_all, x_all = sum(n_by_county.values()), sum(x_by_county.values())
    cells.append(("all", "All officers", n_all, x_all))
    for g in ("Cumberland and York", "All other counties"):
        members = [c for c in n_by_county if GROUP_OF[c] == g]
        cells.append(("county_group", g, sum(n_by_county[c] for c in members), sum(x_by_county[c] for c in members)))
    for c in n_by_county:
        cells.append(("county", c, n_by_county[c], x_by_county[c]))
    n_lo, x_lo = int(n_all * band_split), int(x_all * band_split)
    cells.append(("experience_band", "10 years or less", n_lo, x_lo))
    cells.append(("experience_band", "More than 10 years", n_all - n_lo, x_all - x_lo))
    rows = []
    for domain, level, n, x in cells:
        for weighted in (True, False):
            p = x / n if n else np.nan
            rows.append({"wave": "2015", "indicator": "ind", "label": "An indicator", "domain": domain,
                         "level": level, "featured": domain == "all", "weighted": weighted, "n": float(n),
                         "successes": float(x), "estimate": p, "se": 0.01, "ci_low": p - 0.1, "ci_high": p + 0.1,
                         "ci_method": "logit" if weighted else "wilson", "deff": 1.1 if weighted else np.nan,
                         "published_2015": np.nan, "suppressed": False, "suppression_reason": ""})
    return pd.DataFrame(rows)


def equations(cells: pd.DataFrame, group_of: dict[str, str]) -> list[tuple[list[int], int]]:
    """The additive structure, written independently of assets/estimates/publish.py."""
    pos = {(d, lv): i for i, (d, lv) in enumerate(zip(cells["domain"], cells["level"]))}
    total = pos[("all", "All officers")]
    eqs = []
    for d in ("county_group", "county", "experience_band"):
        parts = [i for (dd, _), i in pos.items() if dd == d]
        if parts:
            eqs.append((parts, total))
    for g in ("Cumberland and York", "All other counties"):
        if ("county_group", g) in pos:
            parts = [i for (dd, lv), i in pos.items() if dd == "county" and group_of.get(lv) == g]
            eqs.append((parts, pos[("county_group", g)]))
    return eqs


def check_published(original: pd.DataFrame, published: pd.DataFrame, min_count: int = 6,
                    group_of: dict[str, str] = GROUP_OF) -> None:
    """Nothing below the minimum is shown, and no suppressed count is derivable by subtraction."""
    shown = published[~published["suppressed"]]
    assert (shown["n"] >= min_count).all()
    assert (shown["successes"] >= min_count).all()
    assert ((shown["n"] - shown["successes"]) >= min_count).all()
    hidden = published[published["suppressed"]]
    assert hidden[["n", "successes", "estimate", "se", "ci_low", "ci_high", "deff"]].isna().all().all()
    # the weighted and unweighted rows of a cell are suppressed together
    flags = published.groupby(["indicator", "domain", "level"])["suppressed"].nunique()
    assert (flags == 1).all()
    for ind, orig in original.groupby("indicator"):
        pub = published[published["indicator"] == ind]
        o = orig[~orig["weighted"]].reset_index(drop=True)
        p = pub[~pub["weighted"]].reset_index(drop=True)
        assert list(zip(o["domain"], o["level"])) == list(zip(p["domain"], p["level"]))
        eqs = equations(o, group_of)
        for col in ("n", "successes"):
            truth = o[[col]].rename(columns={col: "n"}).fillna(0)
            assert disclosed(truth, p, eqs) == [], (ind, col)
        fails = o[["n"]].assign(n=o["n"] - o["successes"]).fillna(0)
        assert disclosed(fails, p, eqs) == [], (ind, "n - successes")


def test_a_lone_small_county_is_protected_within_its_county_group():
    n = {"Cumberland": 40, "York": 4, "Penobscot": 20, "Kennebec": 25, "Knox": 18}
    x = {"Cumberland": 20, "York": 2, "Penobscot": 10, "Kennebec": 12, "Knox": 9}
    t = cell_table(n, x)
    out = publishable(t, RULES)
    check_published(t, out)
    state = out[~out["weighted"]].set_index(["domain", "level"])
    assert state.loc[("county", "York"), "suppression_reason"] == "primary"
    # York = group - Cumberland: one more cell of the group equation must go
    assert state.loc[("county", "Cumberland"), "suppressed"] or state.loc[("county_group", "Cumberland and York"),
                                                                          "suppressed"]


def test_the_derivation_check_catches_a_lone_suppressed_cell():
    """Primary suppression alone would let York be worked out from its county group: the check sees it."""
    n = {"Cumberland": 40, "York": 4, "Penobscot": 20, "Kennebec": 25, "Knox": 18}
    x = {"Cumberland": 20, "York": 2, "Penobscot": 10, "Kennebec": 12, "Knox": 9}
    t = cell_table(n, x)
    naive = t.assign(suppressed=t["level"] == "York")
    o = t[~t["weighted"]].reset_index(drop=True)
    p = naive[~naive["weighted"]].reset_index(drop=True)
    york = int(np.flatnonzero(o["level"] == "York")[0])
    assert disclosed(o[["n"]], p, equations(o, GROUP_OF)) == [york]


def test_a_small_numerator_is_protected_like_a_small_count():
    n = {"Cumberland": 40, "York": 30, "Penobscot": 20, "Kennebec": 25, "Knox": 18}
    x = {"Cumberland": 38, "York": 15, "Penobscot": 10, "Kennebec": 12, "Knox": 9}  # 2 non-successes in Cumberland
    t = cell_table(n, x)
    out = publishable(t, RULES)
    check_published(t, out)
    assert out[(out["level"] == "Cumberland")]["suppression_reason"].eq("primary").all()
    off = publishable(t, DisclosureRules(min_count=6, protect_numerators=False, nesting=RULES.nesting))
    assert not off["suppressed"].any()


def test_a_small_domain_level_takes_its_complement():
    n = {"Cumberland": 40, "York": 30, "Penobscot": 20, "Kennebec": 25, "Knox": 18}
    x = {"Cumberland": 20, "York": 15, "Penobscot": 10, "Kennebec": 12, "Knox": 9}
    t = cell_table(n, x, band_split=0.03)  # 4 officers with 10 years or less
    out = publishable(t, RULES)
    check_published(t, out)
    band = out[(out["domain"] == "experience_band") & ~out["weighted"]].set_index("level")["suppression_reason"]
    assert band.to_dict() == {"10 years or less": "primary", "More than 10 years": "complementary"}


def test_publishing_twice_changes_nothing_and_never_unsuppresses():
    n = {"Cumberland": 40, "York": 4, "Penobscot": 3, "Kennebec": 25, "Knox": 18}
    x = {"Cumberland": 20, "York": 2, "Penobscot": 1, "Kennebec": 12, "Knox": 9}
    once = publishable(cell_table(n, x), RULES)
    twice = publishable(once, RULES)
    pd.testing.assert_frame_equal(once, twice)
    # a stricter earlier decision is kept even under a laxer rule
    lax = publishable(once, DisclosureRules(min_count=1, protect_numerators=False))
    assert (lax["suppressed"] >= once["suppressed"]).all()


def test_the_csv_goes_through_the_gate_even_if_handed_an_unprotected_table():
    n = {"Cumberland": 40, "York": 4, "Penobscot": 20, "Kennebec": 25, "Knox": 18}
    x = {"Cumberland": 20, "York": 2, "Penobscot": 10, "Kennebec": 12, "Knox": 9}
    raw = cell_table(n, x)
    csv = pd.read_csv(io.StringIO(indicators_csv(raw, RULES)))
    assert len(csv) == len(raw)
    shown = csv[~csv["suppressed"]]
    assert (shown["n"] >= 6).all() and (shown["successes"] >= 6).all()
    york = csv[csv["level"] == "York"]
    assert york["suppressed"].all() and york[["n", "successes", "estimate", "ci_low"]].isna().all().all()
    # the estimate times n would reveal the numerator: it is blank wherever n is
    assert csv.loc[csv["n"].isna(), "estimate"].isna().all()


def test_interview_themes_hide_small_counts_and_small_remainders(assessment):
    frame = assessment.frames.survivor_interviews
    codes = [t.code for t in frame.themes]
    interviews = pd.DataFrame({c: [True] * (3 if i == 0 else (16 if i == 1 else 9)) + [False] *
                               (15 if i == 0 else (2 if i == 1 else 9)) for i, c in enumerate(codes)})
    out = theme_counts(interviews, frame, "survivor_interviews", "2015", 6).set_index("theme")
    assert out.loc[codes[0], "suppressed"] and pd.isna(out.loc[codes[0], "mentioned"])  # 3 mentioned
    assert out.loc[codes[1], "suppressed"] and pd.isna(out.loc[codes[1], "share"])  # 2 did not mention
    assert not out.loc[codes[2], "suppressed"] and out.loc[codes[2], "mentioned"] == 9
    tiny = theme_counts(interviews.head(4), frame, "survivor_interviews", "2015", 6)
    assert tiny["suppressed"].all() and tiny["interviews"].isna().all()


# ---------------------------------------------------------------------------------------------
# end to end from crafted respondents: headline_indicators -> publishable
# ---------------------------------------------------------------------------------------------


def one_indicator(assessment: Assessment, ind_id: str, domains: list[str]) -> Assessment:
    inds = [i for i in assessment.indicators.indicators if i.id == ind_id]
    indicators = assessment.indicators.model_copy(update={"indicators": inds})
    est = assessment.config.estimates.model_copy(update={"domains": domains})
    config = assessment.config.model_copy(update={"estimates": est})
    return Assessment(assessment.path, config, assessment.codebook, assessment.frames, indicators)


def respondents_from(spec: list[tuple[str, bool, bool]], assessment: Assessment) -> pd.DataFrame:
    rows = []
    for i, (county, senior, yes) in enumerate(spec):
        rows.append({"respondent_id": f"r{i}", "source_row": i + 3, "county": county,
                     "county_group": assessment.county_group_of[county],
                     "experience_band": "More than 10 years" if senior else "10 years or less",
                     "trained_sex": "Agree" if yes else "Disagree"})
    return pd.DataFrame(rows)


counties = st.sampled_from(["Cumberland", "York", "Knox", "Waldo", "Penobscot", "Piscataquis", "Kennebec"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(counties, st.booleans(), st.booleans()), min_size=8, max_size=90))
def test_published_headline_never_shows_or_reveals_a_small_count(assessment, spec):
    a = one_indicator(assessment, "trained_sex", ["county_group", "county", "experience_band"])
    data = respondents_from(spec, a)
    published = headline_indicators(data, a, "2015")
    # independent ground truth from the crafted respondents
    truth = published.copy()
    yes = data["trained_sex"] == "Agree"
    for i, r in truth.iterrows():
        mask = np.ones(len(data), dtype=bool) if r["domain"] == "all" else (data[r["domain"]] == r["level"]).to_numpy()
        truth.loc[i, "n"] = float(mask.sum())
        truth.loc[i, "successes"] = float((mask & yes).sum())
    shown = ~published["suppressed"]
    assert (published.loc[shown, "n"] == truth.loc[shown, "n"]).all()
    check_published(truth, published, group_of=dict(assessment.county_group_of))


def test_headline_on_a_crafted_wave_with_one_tiny_county(assessment):
    a = one_indicator(assessment, "trained_sex", ["county_group", "county", "experience_band"])
    spec = ([("Cumberland", i % 2 == 0, i % 3 == 0) for i in range(40)]
            + [("York", True, i % 2 == 0) for i in range(3)]
            + [("Penobscot", i % 2 == 1, i % 3 != 0) for i in range(30)]
            + [("Kennebec", i % 2 == 1, i % 2 == 0) for i in range(30)])
    data = respondents_from(spec, a)
    published = headline_indicators(data, a, "2015")
    t = published[~published["weighted"]].set_index(["domain", "level"])
    assert t.loc[("county", "York"), "suppression_reason"] == "primary"
    cy = [t.loc[("county", "Cumberland"), "suppressed"], t.loc[("county_group", "Cumberland and York"), "suppressed"]]
    assert any(cy)
    assert not t.loc[("all", "All officers"), "suppressed"]
    # counties nobody answered from have rows too, suppressed (a missing row would say "nobody")
    assert t.loc[("county", "Aroostook"), "suppressed"]
