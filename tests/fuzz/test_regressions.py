"""Every input that ever crashed a reader or loader, replayed under the same contract.

Files in ``regressions/`` are named ``<target>__<what-it-broke>.<ext>``; the target says how the
input is read. Add a file here for every crash the fuzz targets find, with the fix.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest

from assets.ingest.exports import read_interviews
from assets.ingest.geography import MUNICIPALITIES_FILE, CountyResolver
from assets.ingest.readers import read_export
from assets.prevalence.tables import case_list_overlap_table
from pipelines.config import REPO_ROOT, load_assessment
from pipelines.errors import HtnaError

REGRESSIONS = Path(__file__).parent / "regressions"
CONFIG_FILES = {"config-assessment": "assessment.yaml", "config-codebook": "officer_codebook.yaml",
                "config-frames": "interview_frames.yaml", "config-indicators": "indicators.yaml",
                "municipalities": MUNICIPALITIES_FILE}


@functools.lru_cache(maxsize=1)
def _assessment():
    return load_assessment(REPO_ROOT / "config" / "maine" / "assessment.yaml")


def _replay(target: str, source: Path, tmp: Path) -> None:
    if target == "officer-export":
        read_export(shutil.copy(source, tmp / f"officer_survey{source.suffix}"))
    elif target in ("interviews-stakeholder", "interviews-survivor"):
        dataset = target.split("-")[1] + "_interviews"
        path = shutil.copy(source, tmp / f"{dataset}.csv")
        read_interviews(Path(path), getattr(_assessment().frames, dataset), dataset, "2015")
    elif target in ("case-lists", "case-lists-overlap"):
        folder = tmp / "data" / "incoming" / "2015"
        folder.mkdir(parents=True)
        (folder / "SYNTHETIC.json").write_text('{"synthetic": true}')
        shutil.copy(source, folder / ("case_lists.csv" if target == "case-lists" else "case_lists_overlap.csv"))
        case_list_overlap_table(tmp / "data", "2015", _assessment())
    elif target in CONFIG_FILES:
        config = tmp / "maine"
        shutil.copytree(REPO_ROOT / "config" / "maine", config)
        shutil.copy(source, config / CONFIG_FILES[target])
        CountyResolver.for_assessment(load_assessment(config / "assessment.yaml"))
    else:
        raise AssertionError(f"{source.name}: unknown target {target!r} (see CONFIG_FILES and _replay)")


CASES = sorted(p for p in REGRESSIONS.iterdir() if p.is_file() and "__" in p.name)


def test_the_corpus_is_not_empty():
    assert CASES


@pytest.mark.parametrize("source", CASES, ids=[p.name for p in CASES])
def test_regression(source: Path, tmp_path: Path):
    target = source.name.split("__", 1)[0]
    try:
        _replay(target, source, tmp_path)
    except HtnaError as exc:  # a refusal names the file it is about
        assert str(exc).strip() and getattr(exc, "path", None) is not None


@pytest.mark.parametrize("target", ["interviews-stakeholder", "case-lists"])
def test_rows_wider_than_the_header_are_refused_not_shifted(target: str, tmp_path: Path):
    """pandas reads a first column of extra cells as row labels and shifts every value one column left;
    the readers refuse such a file instead (found by the fuzz target as a crash of the interview reader)."""
    if target == "case-lists":
        text = "list,first_name,last_name,date_of_birth,age_group\nhotline,Ann,Example,1990-01-02,adult,x\n" \
               "advocates,Bo,Sample,1991-03-04,adult,y\n"
    else:
        lines = (REPO_ROOT / "data" / "demo" / "incoming" / "2015" / "stakeholder_interviews.csv") \
            .read_text(encoding="utf-8").splitlines()[:4]
        text = "\n".join([lines[0]] + [line + ",1" for line in lines[1:]]) + "\n"
    source = tmp_path / "source.csv"
    source.write_text(text, encoding="utf-8")
    with pytest.raises(HtnaError, match="a row has more cells than the header row"):
        _replay(target, source, tmp_path)
