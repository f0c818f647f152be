"""Issue #18's property: a silent wrong answer is impossible.

Hypothesis draws a random codebook (single-choice questions with 2-7 answers, a multi-select, the
county question), a random coding of every question's answers (1-based, 0-based, arbitrary numbers,
numbers with gaps), where (and whether) that coding is declared (the codebook's ``codes``, the export's
own metadata — a REDCap data dictionary, SPSS value labels —, both, both disagreeing, or nowhere), and
random answers of 1-40 respondents; writes them in every supported layout (labels or numeric values),
reads them back, and checks:

* ingestion returns **exactly** the answers written, respondent by respondent, or refuses (InputError);
* it never refuses when every code is declared (correctly) — declared codings round-trip exactly;
* an undeclared code never becomes a number: its row is quarantined with a reason, or the wave stops;
* declarations that disagree always stop the wave.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.ingest import layouts
from assets.ingest.officer_responses import to_officer_responses
from assets.ingest.readers import read_export
from assets.ingest.validate import with_codebook
from pipelines.config import REPO_ROOT, Option, Variable, load_assessment
from pipelines.errors import InputError

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
WORDS = ["Never", "Rarely", "Sometimes", "Often", "Always", "Yes", "No", "Not sure", "Agree", "Disagree", "Neutral",
         "Very low", "Low", "Medium", "High", "Very high", "None", "One", "Two to five", "More than five"]
#: layouts that write answer labels (numbers play no part)
LABEL_LAYOUTS = ["surveymonkey_csv", "surveymonkey_xlsx", "surveymonkey_legacy", "surveymonkey_condensed",
                 "qualtrics_csv", "qualtrics_tsv", "qualtrics_legacy_csv", "redcap_labels", "plain_csv"]
#: layouts that write numeric codes, and where each can declare them besides the codebook
CODE_LAYOUTS = {"redcap_raw": "REDCap data dictionary", "spss": "SPSS value labels", "qualtrics_numeric": None,
                "surveymonkey_numeric": None, "plain_numeric": None}


@functools.lru_cache(maxsize=1)
def _maine():
    return load_assessment(REPO_ROOT / "config" / "maine" / "assessment.yaml")


@st.composite
def codings(draw, k: int) -> list[int]:
    kind = draw(st.sampled_from(["one", "zero", "arbitrary", "gaps"]))
    if kind == "one":
        return list(range(1, k + 1))
    if kind == "zero":
        return list(range(k))
    if kind == "arbitrary":
        return draw(st.lists(st.integers(0, 99), min_size=k, max_size=k, unique=True))
    return sorted(draw(st.lists(st.integers(1, 3 * k + 3), min_size=k, max_size=k, unique=True)))


@st.composite
def cases(draw):
    maine = _maine()
    county = next(v for v in maine.codebook.variables if v.name == "county")
    variables = [county]
    for i in range(draw(st.integers(1, 3))):
        labels = draw(st.lists(st.sampled_from(WORDS), min_size=2, max_size=7, unique=True))
        variables.append(Variable(name=f"q{i}", type="single", question=f"Question number {i}: how often?",
                                  options=labels))
    if draw(st.booleans()):
        labels = draw(st.lists(st.sampled_from(WORDS), min_size=2, max_size=4, unique=True))
        variables.append(Variable(name="help", type="multi", question="Which would help? (Select all that apply)",
                                  options=[Option(code=f"o{j}", label=lab) for j, lab in enumerate(labels)]))
    coding = {}
    for v in variables:
        k = len(maine.county_names) if v.options_from == "counties" else len(v.options or [])
        coding[v.name] = draw(codings(k))
    n = draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**31 - 1))
    return variables, coding, n, seed


#: every layout, and for the numeric ones every place their codes can be declared
COMBINATIONS = [(layout, "labels") for layout in LABEL_LAYOUTS] + [
    (layout, where) for layout, meta in CODE_LAYOUTS.items()
    for where in (["codebook", "export", "both", "conflict", "nowhere"] if meta else ["codebook", "nowhere"])]


def _labels(maine, v: Variable) -> list[str]:
    return [o.label for o in v.options] if v.type == "multi" else list(maine.options(v))  # type: ignore[union-attr]


def _answers(maine, variables: list[Variable], n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2016-03-01 09:00:00") + pd.to_timedelta(rng.integers(0, 86400 * 20, n), unit="s")
    data: dict = {"respondent_id": [f"R{1000 + i}" for i in range(n)], "collector_id": ["C1"] * n,
                  "start_date": start, "end_date": start + pd.to_timedelta(rng.integers(60, 3600, n), unit="s"),
                  "ip_address": ["10.0.0.1"] * n}
    for v in variables:
        labels = _labels(maine, v)
        if v.type == "single":
            pick = rng.integers(0, len(labels), n)
            blank = rng.random(n) < (0.0 if v.name == "county" else 0.15)
            data[v.name] = [None if b else labels[p] for p, b in zip(pick, blank)]
        else:
            ticks = rng.random((n, len(labels))) < 0.4
            for j, o in enumerate(v.options):  # type: ignore[union-attr]
                data[f"{v.name}__{o.code}"] = ticks[:, j]
            data[f"{v.name}__other_text"] = [None] * n
    return pd.DataFrame(data)


def _write(assessment, layout: str, answers: pd.DataFrame, coder, declared_by_export: bool, folder: Path) -> Path:
    if layout == "redcap_raw":
        path = folder / "officer_survey.csv"
        layouts.write_redcap_csv(assessment, answers, path, codes=coder, dictionary=declared_by_export)
    elif layout == "spss":
        path = folder / "officer_survey.sav"
        layouts.write_spss(assessment, answers, path, codes=coder, value_labels=declared_by_export)
    elif layout == "qualtrics_numeric":
        path = folder / "officer_survey.csv"
        layouts.write_delimited(layouts.qualtrics_rows(assessment, answers, split_multi=True, codes=coder), path)
    elif layout == "surveymonkey_numeric":
        path = folder / "officer_survey.csv"
        layouts.write_delimited(layouts.surveymonkey_rows(assessment, answers, codes=coder), path)
    elif layout == "plain_numeric":
        path = folder / "officer_survey.csv"
        frame = layouts.plain_frame(assessment, answers, codes=coder)
        layouts.write_delimited([list(frame.columns)] + frame.values.tolist(), path)
    elif layout in ("surveymonkey_legacy", "surveymonkey_condensed"):
        path = folder / "officer_survey.csv"
        rows = layouts.surveymonkey_rows(assessment, answers, legacy=layout == "surveymonkey_legacy",
                                         condensed=layout == "surveymonkey_condensed")
        layouts.write_delimited(rows, path)
    else:
        path = layouts.write_layout(layout, assessment, answers, folder / f"officer_survey{layouts.SUFFIX[layout]}")
    return path


def _truth(variables, answers: pd.DataFrame) -> dict[str, dict]:
    """What each respondent answered, as ingestion must return it (a skipped multi-select: all missing)."""
    out: dict[str, dict] = {}
    for r in answers.to_dict("records"):
        row = {}
        for v in variables:
            if v.type == "single":
                row[v.name] = r[v.name]
            else:
                ticked = [bool(r[f"{v.name}__{o.code}"]) for o in v.options]
                for o, t in zip(v.options, ticked):
                    row[f"{v.name}__{o.code}"] = t if any(ticked) else None
        out[r["respondent_id"]] = row
    return out


@pytest.mark.parametrize("layout, where", COMBINATIONS)
@SETTINGS
@given(case=cases())
def test_ingest_returns_the_exact_answers_or_refuses(layout, where, case):
    variables, coding, n, seed = case
    maine = _maine()
    numeric = layout in CODE_LAYOUTS
    in_codebook = numeric and where in ("codebook", "both", "conflict")
    by_export = numeric and where in ("export", "both", "conflict")

    def declared(v: Variable) -> dict[str, str]:
        labels = _labels(maine, v)
        names = [o.code for o in v.options] if v.type == "multi" else labels  # type: ignore[union-attr]
        return {str(c): name for c, name in zip(coding[v.name], names)}

    coded = [v.model_copy(update={"codes": declared(v)}) if in_codebook else v for v in variables]
    if where == "conflict":  # the codebook's codes disagree with the metadata's about the same codes
        coded = [v.model_copy(update={"codes": {k: list(declared(v).values())[(i + 1) % len(declared(v))]
                                                for i, k in enumerate(declared(v))}}) for v in variables]
    assessment = with_codebook(maine, maine.codebook.model_copy(update={"variables": coded, "derived": []}))
    answers = _answers(maine, variables, n, seed)

    def coder(v: Variable) -> dict[str, str]:
        return {lab: str(c) for lab, c in zip(_labels(maine, v), coding[v.name])}

    with tempfile.TemporaryDirectory() as tmp:
        path = _write(assessment, layout, answers, coder, by_export, Path(tmp))
        try:
            accepted, quarantine, report = to_officer_responses(read_export(path), assessment, "2016")
        except InputError as exc:
            # a refusal is only ever for codes nobody declares, or declarations that disagree
            assert numeric and where in ("nowhere", "conflict"), \
                f"{layout}/{where}: refused although every code is declared: {exc}"
            assert str(path) in str(exc) and exc.fix
            return
    assert where != "conflict" or not numeric, "disagreeing declarations must stop the wave"
    assert report.reconciles()
    truth = _truth(variables, answers)
    got = accepted.set_index("respondent_id")
    for rid, row in truth.items():
        if rid not in got.index:
            continue
        for col, want in row.items():
            value = got.at[rid, col]
            if col in report.not_collected or col.split("__")[0] in report.not_collected:
                assert pd.isna(value), f"{layout}/{where}: {col} is not collected, yet read {value!r}"
                continue
            value = None if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) else value
            assert value == want, f"{layout}/{where}: respondent {rid}, {col}: read {value!r}, wrote {want!r}"
    reasons = set(quarantine["reason"])
    if not numeric or where != "nowhere":
        assert reasons <= {"blank response"}, f"{layout}/{where}: {reasons}"
        answered = {rid for rid, row in truth.items() if any(x is not None for k, x in row.items() if k != "county")}
        assert answered <= set(got.index)  # every respondent with an answer is read
    else:  # undeclared codes: quarantined rows, never a number
        assert all(r == "blank response" or "no declared meaning" in r for r in reasons)
