"""Interview themes by sector and region: small groups suppressed, and no suppressed count can be
recovered from the published ones and the overall counts (checked by linear programming)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from assets.estimates.interview_themes import theme_counts, theme_counts_by_group
from assets.estimates.publish import DisclosureRules
from pipelines.config import REPO_ROOT

RULES = DisclosureRules(min_count=6)


def _interviews() -> pd.DataFrame:
    return pd.read_csv(REPO_ROOT / "data" / "demo" / "incoming" / "2015" / "stakeholder_interviews.csv")


def _recoverable(interviews: pd.DataFrame, attribute: str, table: pd.DataFrame) -> list[tuple]:
    """Suppressed (theme, group) mention counts that the published cells, the published group sizes and
    the overall counts pin down. Unknowns (≥ 0): suppressed mentions, non-mentions and group sizes."""
    part = table[table["attribute"] == attribute]
    groups = list(dict.fromkeys(part["group"]))
    themes = list(dict.fromkeys(part["theme"]))
    known: dict[tuple, float] = {}
    unknown: dict[tuple, int] = {}
    for g in groups:
        size = part.loc[part["group"] == g, "interviews"].iloc[0]
        if pd.isna(size):
            unknown[("size", g)] = len(unknown)
        else:
            known[("size", g)] = float(size)
    for r in part.itertuples():
        if r.suppressed:
            unknown[("yes", r.theme, r.group)] = len(unknown)
            unknown[("no", r.theme, r.group)] = len(unknown)
        else:
            assert ("size", r.group) in known  # a published cell implies its group's size
            known[("yes", r.theme, r.group)] = float(r.mentioned)
            known[("no", r.theme, r.group)] = known[("size", r.group)] - float(r.mentioned)
    n = len(interviews)
    equations = [([("size", g) for g in groups], [], n)]
    for t in themes:
        y = float(interviews[t].sum())
        equations.append(([("yes", t, g) for g in groups], [], y))
        equations.append(([("no", t, g) for g in groups], [], n - y))
        for g in groups:
            equations.append(([("yes", t, g), ("no", t, g)], [("size", g)], 0.0))
    a_eq, b_eq = [], []
    for plus, minus, rhs in equations:
        row = np.zeros(len(unknown))
        for sign, keys in ((1.0, plus), (-1.0, minus)):
            for k in keys:
                if k in unknown:
                    row[unknown[k]] += sign
                else:
                    rhs -= sign * known[k]
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
        else:
            assert abs(rhs) < 1e-9  # the published figures are consistent
    out = []
    for key, j in unknown.items():
        if key[0] != "yes":
            continue
        c = np.zeros(len(unknown))
        c[j] = 1
        lo = linprog(c, A_eq=np.array(a_eq), b_eq=b_eq, bounds=[(0, None)] * len(unknown), method="highs")
        hi = linprog(-c, A_eq=np.array(a_eq), b_eq=b_eq, bounds=[(0, None)] * len(unknown), method="highs")
        assert lo.status == 0 and hi.status == 0
        if -hi.fun - lo.fun < 1e-6:
            out.append(key)
    return out


def test_themes_by_sector_and_region_protect_small_groups(assessment):
    interviews = _interviews()
    frame = assessment.frames.stakeholder_interviews
    table = theme_counts_by_group(interviews, frame, "stakeholder_interviews", "2015", RULES)
    assert set(table["attribute"]) == {"sector", "region"}
    themes = [t.code for t in frame.themes]
    for attribute in ("sector", "region"):
        part = table[table["attribute"] == attribute]
        assert len(part) == len(themes) * interviews[attribute].nunique()
        shown = part[~part["suppressed"]]
        # published counts and their remainders are at least the minimum, and true
        for r in shown.itertuples():
            group = interviews[interviews[attribute] == r.group]
            assert r.mentioned == int(group[r.theme].sum())
            assert r.mentioned >= 6 and len(group) - r.mentioned >= 6
        # a group of fewer than 6 interviews shows no number at all
        small = interviews[attribute].value_counts()
        for g in small[small < 6].index:
            assert part.loc[part["group"] == g, "suppressed"].all()
            assert part.loc[part["group"] == g, "interviews"].isna().all()
        assert _recoverable(interviews, attribute, table) == []
    # region has two large groups: some cells are published
    assert (~table.loc[table["attribute"] == "region", "suppressed"]).sum() > 0
    # the overall table is what the equations use
    overall = theme_counts(interviews, frame, "stakeholder_interviews", "2015", RULES)
    assert set(overall["theme"]) == set(themes)


def test_one_small_cell_in_two_groups_takes_its_partner_with_it(assessment):
    frame = assessment.frames.survivor_interviews
    n = 30
    data = {"interview_id": [f"V-{i}" for i in range(n)],
            "region": ["Cumberland and York"] * 15 + ["All other counties"] * 15}
    for t in frame.themes:
        data[t.code] = [1] * 8 + [0] * 7 + [1] * 9 + [0] * 6
    data["housing"] = [1] * 3 + [0] * 12 + [1] * 9 + [0] * 6  # 3 in the first region: below the minimum
    interviews = pd.DataFrame(data)
    table = theme_counts_by_group(interviews, frame, "survivor_interviews", "2015", RULES)
    housing = table[table["theme"] == "housing"].set_index("group")
    assert housing.loc["Cumberland and York", "suppression_reason"] == "primary"
    assert housing.loc["All other counties", "suppression_reason"] == "complementary"  # else 12 - 9 = 3
    assert not table[table["theme"] == "shelter"]["suppressed"].any()
    assert _recoverable(interviews, "region", table) == []
