"""Cases per list by group add up to 'all': a small group count must not be recoverable by subtraction."""

from __future__ import annotations

import json

from assets.estimates.publish import protect_case_list_counts


def stratum(name, observed, **lists):
    return {"stratum": name, "observed": observed, "cases_per_list": json.dumps(lists)}


def test_small_group_count_is_suppressed_with_its_complement():
    strata = [stratum("all", 94, hotline=12, advocates=53), stratum("adult", 64, hotline=7, advocates=36),
              stratum("minor", 30, hotline=5, advocates=17)]
    protect_case_list_counts(strata, 6)
    cells = {(s["stratum"], c["list"]): c["cases"] for s in strata for c in s["per_list"]}
    assert cells[("minor", "hotline")] == "suppressed"
    assert cells[("adult", "hotline")] == "suppressed"  # else 12 − 7 = 5 gives it away
    assert cells[("all", "hotline")] == "12"
    assert cells[("adult", "advocates")] == "36" and cells[("minor", "advocates")] == "17"
    assert [s["observed_shown"] for s in strata] == ["94", "64", "30"]


def test_without_strata_only_primary_suppression_applies():
    strata = [stratum("all", 40, hotline=4, advocates=36)]
    protect_case_list_counts(strata, 6)
    assert [c["cases"] for c in strata[0]["per_list"]] == ["suppressed", "36"]


def test_overlap_counts_by_group_are_protected_against_the_pooled_count():
    from assets.estimates.publish import protect_overlap_counts

    rows = [{"stratum": "all", "history": "advocates", "count": 37, "publishable": True},
            {"stratum": "adult", "history": "advocates", "count": 33, "publishable": True},
            {"stratum": "minor", "history": "advocates", "count": 4, "publishable": False},
            {"stratum": "all", "history": "health", "count": 10, "publishable": True},
            {"stratum": "adult", "history": "health", "count": 10, "publishable": True},
            {"stratum": "minor", "history": "health", "count": 0, "publishable": True}]
    hidden = protect_overlap_counts(rows, 6)
    assert hidden[2] and hidden[1]  # 37 − 33 would reveal the 4
    assert not hidden[0]
