"""Raw archive: exports kept by SHA-256 with their wave; same bytes twice is a no-op; a change supersedes."""

from __future__ import annotations

import hashlib
import json

import pytest

from assets.ingest.archive import archive_export, current_export, read_records, wave_history
from pipelines.errors import InputError


def test_archive_by_sha256_and_idempotent(tmp_path):
    export = tmp_path / "in" / "officer_survey.csv"
    export.parent.mkdir()
    export.write_bytes(b"Respondent ID\n1\n")
    digest = hashlib.sha256(b"Respondent ID\n1\n").hexdigest()
    archive = tmp_path / "archive"
    first = archive_export(export, "2015", archive)
    assert first.new and first.record.sha256 == digest
    stored = archive / digest / "officer_survey.csv"
    assert stored.read_bytes() == export.read_bytes()
    again = archive_export(export, "2015", archive)
    assert not again.new and again.record == first.record
    assert len(read_records(archive)) == 1  # the second ingest wrote nothing


def test_changed_file_supersedes_and_keeps_history(tmp_path):
    export = tmp_path / "officer_survey.csv"
    archive = tmp_path / "archive"
    export.write_bytes(b"v1")
    v1 = archive_export(export, "2016", archive).record
    export.write_bytes(b"v2")
    r2 = archive_export(export, "2016", archive)
    assert r2.new and r2.replaced is not None and r2.replaced.sha256 == v1.sha256
    history = wave_history(archive, "2016")
    assert [h.sha256 for h in history] == [v1.sha256, r2.record.sha256]
    assert history[0].superseded_by == r2.record.sha256 and history[1].current
    assert current_export(archive, "2016").sha256 == r2.record.sha256
    assert (archive / v1.sha256 / "officer_survey.csv").read_bytes() == b"v1"  # old bytes still there
    # other waves are untouched; the same bytes may belong to two waves
    export.write_bytes(b"v1")
    other = archive_export(export, "2017", archive)
    assert other.new and current_export(archive, "2017").sha256 == v1.sha256
    assert current_export(archive, "2016").sha256 == r2.record.sha256
    # going back to v1 for 2016 is a new version again
    back = archive_export(export, "2016", archive)
    assert back.new and current_export(archive, "2016").sha256 == v1.sha256
    lines = (archive / "records.jsonl").read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(x)["wave"] in ("2016", "2017") for x in lines)


def test_missing_file_and_damaged_records(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        archive_export(tmp_path / "nope.csv", "2015", tmp_path / "a")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "records.jsonl").write_text("{not json\n")
    with pytest.raises(InputError) as err:
        read_records(tmp_path / "a")
    assert err.value.row == 1
