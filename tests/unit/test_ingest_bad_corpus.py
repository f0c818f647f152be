"""The corpus of malformed and awkward exports: each loads cleanly with the problem reported, or fails
with one InputError naming the file, the place and what to do. No other exception, no traceback."""

from __future__ import annotations

import importlib.util

import pytest

from assets.ingest.officer_responses import to_officer_responses
from assets.ingest.readers import read_export
from pipelines.cli import main
from pipelines.config import REPO_ROOT
from pipelines.errors import InputError

_spec = importlib.util.spec_from_file_location(
    "make_bad_corpus", REPO_ROOT / "tests" / "fixtures" / "exports" / "make_bad_corpus.py")
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)  # type: ignore[union-attr]
CASES = corpus.CASES
BAD = corpus.BAD


def test_corpus_is_complete_and_current():
    on_disk = {p.name for p in BAD.iterdir() if p.name != "README.md"}
    assert on_disk == set(CASES), "run tests/fixtures/exports/make_bad_corpus.py to regenerate bad/"
    assert len(CASES) >= 30
    assert sum(k == "error" for k, _ in CASES.values()) >= 10 and sum(k == "load" for k, _ in CASES.values()) >= 10


def _ingest(path, assessment):
    raw = read_export(path)
    return (*to_officer_responses(raw, assessment, "2015"), raw)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_file(name, assessment):
    kind, expect = CASES[name]
    path = BAD / name
    try:
        accepted, quarantine, report, raw = _ingest(path, assessment)
    except InputError as exc:
        assert kind == "error", f"{name} should load, but: {exc}"
        assert expect in str(exc), str(exc)
        assert str(path) in str(exc) and exc.path == path
        assert exc.fix, "every input error says what to do"
        return
    assert kind == "load", f"{name} should fail with an InputError containing {expect!r}"
    assert report.reconciles() and report.rows_read == len(accepted) + len(quarantine)
    # a check of an open-ended answer's text reads the export as read (the table keeps only its coding)
    given = (report, accepted, quarantine, raw)[:expect.__code__.co_argcount]
    assert expect(*given), report.to_dict()


def _run_would_block(path, assessment, wave: str) -> list[str]:
    """The blocking checks the run's quality stage fails on this export (none if it cannot load)."""
    import pandas as pd

    from assets.ingest.officer_responses import not_collected_in, survey_questions
    from assets.quality.stage import quality_stage

    raw = read_export(path)
    accepted, quarantine, report = to_officer_responses(raw, assessment, wave)
    screening, _ = quality_stage(
        assessment, wave, {"officer_responses": accepted},
        exports=pd.DataFrame({"dataset": ["officer_survey"], "rows": [raw.n_rows]}), ingest_quarantine=quarantine,
        not_collected=not_collected_in(survey_questions(report, assessment, wave)))
    return [r.check for r in screening.datasets["officer_responses"].blocking_failures()]


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_cli_on_bad_file(name, capsys, assessment):
    """Exit 1 when the file cannot be loaded, or when the run would hold it back at a blocking check."""
    kind, _expect = CASES[name]
    code = main(["validate", str(BAD / name)])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert ("CANNOT LOAD" in out.out) == (kind == "error")
    blocked = [] if kind == "error" else _run_would_block(BAD / name, assessment, assessment.config.waves[-1])
    assert code == (1 if kind == "error" or blocked else 0)
    assert ("WOULD BE HELD BACK" in out.out) == bool(blocked)
    assert all(f"BLOCKS: {check}:" in out.out for check in blocked)


def test_fifty_megabyte_export(assessment, tmp_path):
    path = tmp_path / "big.csv"
    n = corpus.write_big(path)
    assert path.stat().st_size >= 50 * 2**20
    accepted, quarantine, report, _raw = _ingest(path, assessment)  # (its speed: `htna bench`)
    assert report.rows_read == n and len(accepted) == n and quarantine.empty and report.reconciles()
    assert not report.value_problems and not report.unmatched_questions


def test_fifty_megabyte_export_truncated(assessment, tmp_path):
    path = tmp_path / "big.csv"
    corpus.write_big(path)
    data = path.read_bytes()
    cut = data.rfind(b",", 0, len(data) - 100)
    path.write_bytes(data[:cut])
    with pytest.raises(InputError) as err:
        _ingest(path, assessment)
    assert err.value.row is not None and err.value.fix
