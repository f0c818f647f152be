"""``htna estimate`` against R survey 4.1-1's numbers (tests/fixtures/survey), and its error messages.

Most calls go through ``pipelines.cli.main`` in this process (the same code as the command, without
a new interpreter per case); one runs the real command to check exit code and the absence of a
traceback.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from pipelines.cli import main
from tests.conftest import run_cli
from tests.unit.test_estimates_extra_reference import FIXTURES, R

REL = 1e-7
APISTRAT = FIXTURES / "apistrat.csv"
APICLUS1 = FIXTURES / "apiclus1.csv"
CLUSTER = ["--weights", "pw", "--ids", "dnum", "--fpc", "fpc"]  # svydesign(id=~dnum, weights=~pw, fpc=~fpc)


@pytest.fixture(scope="module")
def pops(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pop")
    files = {
        "stype": "stype,Freq\nE,4421\nH,755\nM,1018\n",
        "schwide": "sch.wide,Freq\nNo,1072\nYes,5122\n",
        # as R's write.csv(pop.types) writes it: a column of row names first
        "stype_r": '"","stype","Freq"\n"1","E",4421\n"2","H",755\n"3","M",1018\n',
        "stype_noheader": "E,4421\nH,755\nM,1018\n",
        "stype_missing_h": "stype,Freq\nE,4421\nM,1018\n",
        "stype_extra": "stype,Freq\nE,4421\nH,755\nM,1018\nK,300\n",
        "stype_bad_count": "stype,Freq\nE,4421\nH,many\nM,1018\n",
    }
    out = {}
    for name, text in files.items():
        (d / f"{name}.csv").write_text(text)
        out[name] = d / f"{name}.csv"
    return out


def estimate(capsys, *args) -> list[dict]:
    code = main(["estimate", *map(str, args), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def fails(capsys, *args) -> str:
    code = main(["estimate", *map(str, args)])
    captured = capsys.readouterr()
    assert code == 1, captured.out
    assert "Traceback" not in captured.err
    return captured.err


def close(a, b, rel=REL):
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def refs(key):
    i, out = 1, []
    while f"{key}[{i}]" in R:
        out.append(R[f"{key}[{i}]"])
        i += 1
    return out


# ---------------------------------------------------------------------------------------------
# calibrated simple random samples (required by the issue)
# ---------------------------------------------------------------------------------------------


def test_poststratified_srs_mean_se_and_deff_match_r(capsys, pops):
    # svymean(~api00, postStratify(svydesign(id=~1, weights=~pw, data=apistrat), ~stype, pop.types), deff=TRUE)
    [r] = estimate(capsys, APISTRAT, "--outcome", "api00", "--weights", "pw", "--poststratify", f"stype={pops['stype']}")
    assert set(r) == {"domain", "estimate", "se", "ci_low", "ci_high", "n", "deff"}
    assert r["domain"] == "all" and r["n"] == 200
    assert close(r["estimate"], R["SRSps.mean.est"]) and close(r["se"], R["SRSps.mean.se"])
    assert close(r["deff"], R["SRSps.mean.deff"])
    # R's confint(svymean(...)): normal interval
    assert close(r["ci_low"], r["estimate"] - 1.959963984540054 * r["se"])


@pytest.mark.parametrize("pop", ["stype_r", "stype_noheader"])
def test_population_files_as_r_writes_them_or_without_header(capsys, pops, pop):
    [r] = estimate(capsys, APISTRAT, "--outcome", "api00", "--weights", "pw", "--poststratify", f"stype={pops[pop]}")
    assert close(r["estimate"], R["SRSps.mean.est"]) and close(r["se"], R["SRSps.mean.se"])


def test_raked_srs_mean_matches_r(capsys, pops):
    [r] = estimate(capsys, APISTRAT, "--outcome", "api00", "--weights", "pw",
                   "--rake", f"stype={pops['stype']}", "--rake", f"sch.wide={pops['schwide']}")
    assert close(r["estimate"], R["SRSrake.mean.est"]) and close(r["se"], R["SRSrake.mean.se"])


@pytest.mark.parametrize("method", ["logit", "likelihood", "asin", "beta", "mean", "xlogit"])
def test_raked_srs_yes_no_proportion_every_svyciprop_method(capsys, pops, method):
    # svyciprop(~I(awards=="Yes"), rake(dsrs, ...), method=m): awards is a Yes/No column
    [r] = estimate(capsys, APISTRAT, "--outcome", "awards", "--weights", "pw", "--ci", method,
                   "--rake", f"stype={pops['stype']}", "--rake", f"sch.wide={pops['schwide']}")
    key = f"SRSrake.awards.{method}"
    assert close(r["estimate"], R[f"{key}.est"])
    lo, hi = refs(f"{key}.ci")
    assert close(r["ci_low"], lo, 1e-6) and close(r["ci_high"], hi, 1e-6)


def test_value_outcome_and_text_output(capsys, pops):
    [r] = estimate(capsys, APISTRAT, "--outcome", "awards=Yes", "--weights", "pw",
                   "--rake", f"stype={pops['stype']}", "--rake", f"sch.wide={pops['schwide']}")
    assert close(r["estimate"], R["SRSrake.awards.logit.est"])
    code = main(["estimate", str(APISTRAT), "--outcome", "awards", "--weights", "pw"])
    out = capsys.readouterr().out
    assert code == 0 and "proportion with logit interval" in out and "domain" in out


# ---------------------------------------------------------------------------------------------
# cluster designs, domains
# ---------------------------------------------------------------------------------------------


def test_poststratified_cluster_design_matches_r(capsys, pops):
    [r] = estimate(capsys, APICLUS1, "--outcome", "api00", *CLUSTER, "--poststratify", f"stype={pops['stype']}")
    assert close(r["estimate"], R["C.mean.est"]) and close(r["se"], R["C.mean.se"])
    assert close(r["deff"], R["C.mean.deff"])


def test_rake_with_r_defaults_reproduces_the_help_page_example(capsys, pops):
    # rake(dclus1, list(~stype,~sch.wide), ...) with R's epsilon=1, maxit=10: 641.23 (SE 23.704)
    [r] = estimate(capsys, APICLUS1, "--outcome", "api00", *CLUSTER, "--epsilon", "1", "--maxit", "10",
                   "--rake", f"stype={pops['stype']}", "--rake", f"sch.wide={pops['schwide']}")
    assert round(r["estimate"], 2) == 641.23 and round(r["se"], 3) == 23.704


@pytest.mark.parametrize("method", ["logit", "likelihood", "asin", "beta", "mean", "xlogit"])
def test_domain_proportions_match_svyby_svyciprop(capsys, method):
    rows = estimate(capsys, APICLUS1, "--outcome", "sch.wide=Yes", "--by", "stype", *CLUSTER, "--ci", method)
    assert [r["domain"] for r in rows] == ["E", "H", "M"]
    assert [r["n"] for r in rows] == [144, 14, 25]
    key = f"by.B.schwide.stype.{method}"
    for r, est, lo, hi in zip(rows, refs(f"{key}.est"), refs(f"{key}.lo"), refs(f"{key}.hi")):
        assert close(r["estimate"], est) and close(r["ci_low"], lo) and close(r["ci_high"], hi)


def test_domain_means_on_calibrated_designs_match_svyby(capsys, pops):
    rows = estimate(capsys, APICLUS1, "--outcome", "api00", "--by", "stype", *CLUSTER)
    for r, est, se, deff in zip(rows, refs("by.B.api00.stype.est"), refs("by.B.api00.stype.se"),
                                refs("by.B.api00.stype.deff")):
        assert close(r["estimate"], est) and close(r["se"], se) and close(r["deff"], deff)
    rows = estimate(capsys, APICLUS1, "--outcome", "api00", "--by", "comp.imp", *CLUSTER,
                    "--poststratify", f"stype={pops['stype']}")
    assert [r["domain"] for r in rows] == ["No", "Yes"]
    for r, est, se, deff in zip(rows, refs("by.C.api00.compimp.est"), refs("by.C.api00.compimp.se"),
                                refs("by.C.api00.compimp.deff")):
        assert close(r["estimate"], est) and close(r["se"], se) and close(r["deff"], deff)
    rows = estimate(capsys, APICLUS1, "--outcome", "api00", "--by", "comp.imp", *CLUSTER, "--epsilon", "1",
                    "--maxit", "10", "--rake", f"stype={pops['stype']}", "--rake", f"sch.wide={pops['schwide']}")
    for r, est, se in zip(rows, refs("by.D.api00.compimp.est"), refs("by.D.api00.compimp.se")):
        assert close(r["estimate"], est) and close(r["se"], se)


def test_stratified_design_and_total(capsys):
    [r] = estimate(capsys, APISTRAT, "--outcome", "api00", "--weights", "pw", "--strata", "stype", "--fpc", "fpc")
    assert close(r["estimate"], R["A.mean.est"]) and close(r["se"], R["A.mean.se"]) and close(r["deff"], R["A.mean.deff"])
    [t] = estimate(capsys, APISTRAT, "--outcome", "enroll", "--statistic", "total", "--weights", "pw",
                   "--strata", "stype", "--fpc", "fpc")
    assert close(t["estimate"], R["A.total.est"]) and close(t["se"], R["A.total.se"])


def test_unweighted_wilson_is_the_plain_wilson_interval(capsys, tmp_path):
    from assets.estimates.intervals import wilson_interval

    data = tmp_path / "d.csv"
    data.write_text("x,g\n" + "".join(f"{'yes' if i < 7 else 'no'},{i % 2}\n" for i in range(20)) + "NA,1\n")
    [r] = estimate(capsys, data, "--outcome", "x", "--ci", "wilson")
    assert r["n"] == 20 and close(r["estimate"], 0.35)
    lo, hi = wilson_interval(7, 20)
    assert close(r["ci_low"], lo) and close(r["ci_high"], hi)
    rows = estimate(capsys, data, "--outcome", "x", "--by", "g", "--ci", "wilson")
    assert [(r["domain"], r["n"]) for r in rows] == [("0", 10), ("1", 10)]


def test_numeric_categories_match_numerically(capsys, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("y,region\n" + "".join(f"{i % 7},{1 + i % 3}\n" for i in range(60)))
    pop = tmp_path / "pop.csv"
    pop.write_text("region,N\n1.0,100\n2.0,300\n3.0,600\n")
    [r] = estimate(capsys, data, "--outcome", "y", "--poststratify", f"region={pop}")
    means = {g: sum(i % 7 for i in range(60) if 1 + i % 3 == g) / 20 for g in (1, 2, 3)}
    assert close(r["estimate"], (100 * means[1] + 300 * means[2] + 600 * means[3]) / 1000)


# ---------------------------------------------------------------------------------------------
# errors: a message and exit code 1, never a traceback
# ---------------------------------------------------------------------------------------------


def test_missing_files_and_columns(capsys, pops, tmp_path):
    assert "no such file" in fails(capsys, tmp_path / "nope.csv", "--outcome", "x")
    err = fails(capsys, APISTRAT, "--outcome", "api0")
    assert "no column 'api0'" in err and "api00" in err
    err = fails(capsys, APISTRAT, "--outcome", "api00", "--by", "school_type")
    assert "school_type" in err
    err = fails(capsys, APISTRAT, "--outcome", "api00", "--poststratify", f"stype={tmp_path / 'pop.csv'}")
    assert "pop.csv" in err and "no such file" in err


def test_calibration_problems_name_the_file_and_the_fix(capsys, pops):
    err = fails(capsys, APISTRAT, "--outcome", "api00", "--poststratify", f"stype={pops['stype_missing_h']}")
    assert "stype_missing_h.csv" in err and "'H'" in err and "not in this file" in err and "fix:" in err
    err = fails(capsys, APISTRAT, "--outcome", "api00", "--poststratify", f"stype={pops['stype_extra']}")
    assert "'K'" in err and "no respondents" in err and "--partial" in err
    [r] = estimate(capsys, APISTRAT, "--outcome", "api00", "--poststratify", f"stype={pops['stype_extra']}",
                   "--partial")
    assert r["n"] == 200
    err = fails(capsys, APISTRAT, "--outcome", "api00", "--rake", f"stype={pops['stype_extra']}",
                "--rake", f"sch.wide={pops['schwide']}")
    assert "'K'" in err and "--partial" not in err
    err = fails(capsys, APISTRAT, "--outcome", "api00", "--poststratify", f"stype={pops['stype_bad_count']}")
    assert "row 3" in err and "'many'" in err
    err = fails(capsys, APISTRAT, "--outcome", "api00", "--poststratify", "stype")
    assert "VAR=POP.csv" in err
    err = fails(capsys, APISTRAT, "--outcome", "api00", "--poststratify", f"stype={pops['stype']}",
                "--rake", f"sch.wide={pops['schwide']}")
    assert "not both" in err


def test_bad_values_are_clear_errors(capsys, tmp_path, pops):
    data = tmp_path / "d.csv"
    data.write_text("y,stype,w,answer\n1,E,1,maybe\n2,,1,yes\n3,M,-1,no\n")
    err = fails(capsys, data, "--outcome", "y", "--poststratify", f"stype={pops['stype']}")
    assert "1 rows have no value of 'stype'" in err
    err = fails(capsys, data, "--outcome", "y", "--weights", "w")
    assert "negative" in err
    err = fails(capsys, data, "--outcome", "answer")
    assert "neither numeric nor yes/no" in err and "--outcome answer=VALUE" in err
    err = fails(capsys, data, "--outcome", "answer=perhaps")
    assert "never takes the value 'perhaps'" in err
    empty = tmp_path / "e.csv"
    empty.write_text("")
    assert "empty" in fails(capsys, empty, "--outcome", "y")


def test_the_command_exits_1_with_a_message_and_no_traceback(tmp_path, pops):
    shutil.copy(APISTRAT, tmp_path / "api.csv")
    code, out, err = run_cli(["estimate", str(tmp_path / "api.csv"), "--outcome", "api00",
                              "--poststratify", f"stype={pops['stype_missing_h']}"])
    assert code == 1 and err.startswith("htna: ") and "Traceback" not in err + out
    code, out, err = run_cli(["estimate", str(tmp_path / "api.csv"), "--outcome", "api00", "--weights", "pw",
                              "--poststratify", f"stype={pops['stype']}", "--json"])
    assert code == 0, err
    assert close(json.loads(out)[0]["se"], R["SRSps.mean.se"])
