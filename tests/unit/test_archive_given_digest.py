"""Raw archive with the digest survey_exports already took: one read to copy, the copy checked against it."""

from __future__ import annotations

import hashlib
import json
import stat

import pytest

import assets.ingest.archive as archive_module
from assets.ingest.archive import archive_export, read_records
from pipelines.errors import InputError

BYTES = b"Respondent ID,Q1\n1,yes\n2,no\n" * 50_000  # over 1 MiB: the copy takes more than one block


def _export(tmp_path, content: bytes = BYTES):
    export = tmp_path / "in" / "officer_survey.csv"
    export.parent.mkdir(exist_ok=True)
    export.write_bytes(content)
    return export


def _tree(archive):
    """Every path of an archive with its mode bits, and the records without their timestamps."""
    files = {str(p.relative_to(archive)): stat.S_IMODE(p.stat().st_mode) for p in sorted(archive.rglob("*"))
             if p.name != "records.jsonl"}
    records = [{k: v for k, v in json.loads(line).items() if k != "archived_at"}
               for line in (archive / "records.jsonl").read_text().splitlines()]
    return files, records


def test_given_digest_archives_like_no_digest(tmp_path):
    export = _export(tmp_path)
    digest = hashlib.sha256(BYTES).hexdigest()
    given = archive_export(export, "2015", tmp_path / "given", sha256=digest)
    computed = archive_export(export, "2015", tmp_path / "computed")
    assert given.new and computed.new and given.record.sha256 == computed.record.sha256 == digest
    assert (tmp_path / "given" / digest / "officer_survey.csv").read_bytes() == BYTES
    assert _tree(tmp_path / "given") == _tree(tmp_path / "computed")
    files, _ = _tree(tmp_path / "given")
    assert files == {digest: 0o700, f"{digest}/officer_survey.csv": 0o400}
    # a new version for the wave supersedes the old one the same way
    export.write_bytes(b"v2")
    r2 = archive_export(export, "2015", tmp_path / "given", sha256=hashlib.sha256(b"v2").hexdigest())
    assert r2.new and r2.replaced is not None and r2.replaced.sha256 == digest
    assert [r.current for r in read_records(tmp_path / "given")] == [False, True]


def test_given_digest_that_does_not_match_the_bytes(tmp_path):
    export = _export(tmp_path)
    archive = tmp_path / "archive"
    wrong = hashlib.sha256(b"what survey_exports saw before the file was rewritten").hexdigest()
    with pytest.raises(InputError, match="the file changed while it was being archived"):
        archive_export(export, "2015", archive, sha256=wrong)
    assert not (archive / wrong).exists()  # neither the partial copy nor its folder
    assert [p for p in archive.rglob("*")] == [] and read_records(archive) == []
    # a later run with the right digest archives the file
    assert archive_export(export, "2015", archive, sha256=hashlib.sha256(BYTES).hexdigest()).new


def test_a_failed_copy_leaves_no_partial_file(tmp_path, monkeypatch):
    export = _export(tmp_path)
    archive = tmp_path / "archive"
    digest = hashlib.sha256(BYTES).hexdigest()

    def copy_then_fail(source, target):
        target.write_bytes(BYTES[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(archive_module, "_copy_hashed", copy_then_fail)
    with pytest.raises(OSError, match="No space left"):
        archive_export(export, "2015", archive, sha256=digest)
    assert not (archive / digest).exists() and read_records(archive) == []


def test_already_archived_digest_is_not_read_again(tmp_path, monkeypatch):
    export = _export(tmp_path)
    archive = tmp_path / "archive"
    digest = hashlib.sha256(BYTES).hexdigest()
    first = archive_export(export, "2015", archive, sha256=digest)

    def no_reading(*_args):
        raise AssertionError("the export was read although its digest is the wave's current one")

    monkeypatch.setattr(archive_module, "sha256_of", no_reading)
    monkeypatch.setattr(archive_module, "_copy_hashed", no_reading)
    again = archive_export(export, "2015", archive, sha256=digest)
    assert not again.new and again.record == first.record
    assert len(read_records(archive)) == 1
    # without a digest the file is hashed, as before
    with pytest.raises(AssertionError, match="was read"):
        archive_export(export, "2015", archive)


def test_given_digest_must_be_a_sha256(tmp_path):
    export = _export(tmp_path, b"x")
    for bad in ("../../etc", "ABC", hashlib.sha256(b"x").hexdigest().upper(), ""):
        with pytest.raises(ValueError, match="not a SHA-256"):
            archive_export(export, "2015", tmp_path / "archive", sha256=bad)
    assert not (tmp_path / "archive").exists()
