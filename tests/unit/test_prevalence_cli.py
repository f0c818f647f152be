"""`htna prevalence OVERLAP.csv`: SparseMSE and Rcapture references through the command line, and
clean errors (file, row, column; exit 1; no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.config import REPO_ROOT
from tests.conftest import run_cli

MSE = REPO_ROOT / "tests" / "fixtures" / "mse"
WESTERN = MSE / "western_5lists.csv"
HIV = MSE / "hiv_4lists.csv"


def printed(value: float, decimals: int):
    """Equal to ``value`` as printed with ``decimals`` decimals."""
    return pytest.approx(value, abs=0.5 * 10 ** (-decimals) + 1e-12)


def _json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["prevalence", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_western_defaults_reproduce_sparsemse_in_a_fresh_process() -> None:
    # SparseMSE 2.0.1 estimatepopulation.0(Western): 2,483.384; 1,657.094 – 3,830.030; main effects + A:E
    code, out, err = run_cli(["prevalence", str(WESTERN), "--json"])
    assert code == 0, err
    d = json.loads(out)
    assert set(d) == {"observed", "estimate", "ci_low", "ci_high", "model", "method"}
    assert d["observed"] == 345
    assert d["model"] == ["A:E"]
    assert d["estimate"] == printed(2483.384, 3)
    assert d["ci_low"] == printed(1657.094, 3)
    assert d["ci_high"] == printed(3830.030, 3)
    assert "stepwise" in d["method"] and "Wald" in d["method"]


def test_western_same_model_under_the_aic_rule_and_with_explicit_options(capsys) -> None:
    d = _json([str(WESTERN), "--criterion", "aic", "--threshold", "0.02", "--ci", "wald-log"], capsys)
    assert d["model"] == ["A:E"] and d["estimate"] == printed(2483.384, 3)
    assert d["ci_high"] == printed(3830.030, 3)


def test_hiv_profile_interval_matches_rcapture(capsys) -> None:
    # Rcapture closedpCI.t(HIV, mX=~.+c1:c2): 95% profile-likelihood CI 10,266 – 14,992.3
    d = _json([str(HIV), "--criterion", "aic", "--ci", "profile"], capsys)
    assert d["model"] == ["c1:c2"]
    assert d["observed"] == 1896
    assert d["estimate"] == printed(12318.4677, 4)  # the Poisson estimate
    assert d["ci_low"] == printed(10266, 0)
    assert d["ci_high"] == printed(14992.3, 1)
    assert "profile" in d["method"]


def test_fixed_models(capsys) -> None:
    d = _json([str(HIV), "--model", "independence"], capsys)
    assert d["model"] == [] and d["estimate"] == printed(11124.5785, 4)
    d = _json([str(HIV), "--model", "c1:c2", "--ci", "profile"], capsys)
    assert d["model"] == ["c1:c2"] and d["ci_high"] == printed(14992.3, 1)


def test_lognormal_and_seeded_bootstrap(capsys) -> None:
    wald = _json([str(WESTERN)], capsys)
    logn = _json([str(WESTERN), "--ci", "lognormal"], capsys)
    assert logn["estimate"] == wald["estimate"]
    assert logn["ci_low"] < logn["estimate"] < logn["ci_high"]
    assert (logn["ci_low"], logn["ci_high"]) != (wald["ci_low"], wald["ci_high"])
    assert "log-normal" in logn["method"]
    a = _json([str(WESTERN), "--ci", "bootstrap", "--replicates", "60", "--seed", "3"], capsys)
    b = _json([str(WESTERN), "--ci", "bootstrap", "--replicates", "60", "--seed", "3"], capsys)
    assert a == b and "bootstrap" in a["method"] and a["ci_low"] < a["estimate"] < a["ci_high"]


def test_text_output(capsys) -> None:
    assert main(["prevalence", str(WESTERN)]) == 0
    out = capsys.readouterr().out
    assert "345 cases seen" in out and "2,483.384" in out and "1,657.094 – 3,830.030" in out
    assert "main effects + A:E" in out


def test_r_write_csv_row_names_and_repeated_rows_are_handled(tmp_path: Path, capsys) -> None:
    lines = WESTERN.read_text().splitlines()
    header, rows = lines[0].split(","), lines[1:]
    r_style = ['"",' + ",".join(f'"{h}"' for h in header)]
    r_style += [f'"{i + 1}",{row}' for i, row in enumerate(rows)]
    (tmp_path / "r.csv").write_text("\n".join(r_style) + "\n")
    assert _json([str(tmp_path / "r.csv")], capsys)["estimate"] == printed(2483.384, 3)
    # one history split over two rows (SparseMSE's tidylists adds them up)
    first = rows[0].split(",")
    n = int(first[-1])
    split = [",".join(first[:-1] + [str(n - 2)]), ",".join(first[:-1] + ["2"])]
    (tmp_path / "split.csv").write_text("\n".join([lines[0], *split, *rows[1:]]) + "\n")
    assert main(["prevalence", str(tmp_path / "split.csv"), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["estimate"] == printed(2483.384, 3)
    assert "added up" in captured.err


def test_nonexistent_estimate_is_reported_as_null_with_a_reason(tmp_path: Path, capsys) -> None:
    f = tmp_path / "no_overlap.csv"
    f.write_text("A,B,C,count\n1,0,0,5\n0,1,0,6\n0,0,1,4\n")
    assert main(["prevalence", str(f), "--json"]) == 0
    captured = capsys.readouterr()
    d = json.loads(captured.out)
    assert d["estimate"] is None and d["ci_low"] is None and d["observed"] == 15
    assert "does not exist" in captured.err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("A,B,C,count\n1,0,0,5\n0,1,0,x\n", "(row 3, column 'count')"),
        ("A,B,C,count\n1,0,0,5\n0,2,0,3\n", "(row 3, column 'B')"),
        ("A,B,C,total\n1,0,0,5\n", "no count column"),
        ("A,count\n1,5\n", "at least 2 lists"),
        ("A,B,count\n1,0,5\n0,0,3\n", "(row 3, column 'count')"),
        ("A,B,count\n1,0,-5\n0,1,3\n", "(row 2, column 'count')"),
        ("", "the file is empty"),
    ],
)
def test_bad_tables_name_file_row_and_column(tmp_path: Path, capsys, content: str, expected: str) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(content)
    assert main(["prevalence", str(f)]) == 1
    err = capsys.readouterr().err
    assert str(f) in err and expected in err
    assert "Traceback" not in err


def test_errors_in_a_fresh_process_have_no_traceback(tmp_path: Path) -> None:
    code, out, err = run_cli(["prevalence", str(tmp_path / "missing.csv"), "--json"])
    assert code == 1 and out == ""
    assert "missing.csv: file not found" in err and "Traceback" not in err
    bad = tmp_path / "bad.csv"
    bad.write_text("A,B,count\n1,0,5\n0,1,three\n")
    code, out, err = run_cli(["prevalence", str(bad)])
    assert code == 1 and "row 3" in err and "'count'" in err and "Traceback" not in err


def test_bad_options(capsys) -> None:
    assert main(["prevalence", str(WESTERN), "--threshold", "2"]) == 1
    assert "--threshold" in capsys.readouterr().err
    assert main(["prevalence", str(WESTERN), "--model", "A:Z"]) == 1
    assert "A:Z" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["prevalence", str(WESTERN), "--ci", "magic"])
