"""The raw archive: every ingested export kept byte for byte, named by its SHA-256, with its wave.

Layout of an archive folder::

    <archive>/<sha256>/<original file name>     the export as received (read-only)
    <archive>/records.jsonl                     one JSON record per (wave, dataset, sha256)

Archiving the same bytes again for the same wave is a no-op. A changed file for a wave becomes the
wave's current export; the record of the old version stays, marked ``superseded_by`` the new hash,
so every published number can be traced to the exact bytes it came from. Plain functions; the
Dagster asset calls :func:`archive_export` and uses :func:`current_export` for lineage metadata.

Retention (:func:`apply_retention`): exports are kept for the most recent waves only (the config's
``raw_archive.keep_waves``, default the current wave and the one before it); older ones are
deleted and their records marked ``removed_at``. Erasure (:func:`rewrite_wave_exports`): the
archived exports of a wave are rewritten without a respondent, their records following the new
hashes and counting the records ``erased`` (never naming whom). The folder is the owner's only, and
one process at a time changes it (a lock file).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

from assets.ingest.exports import sha256_of
from pipelines.errors import InputError
from pipelines.permissions import restrict_umask

RECORDS = "records.jsonl"


@dataclass
class ArchiveRecord:
    """One archived export and its place in a wave's history."""

    wave: str
    dataset: str
    sha256: str
    file_name: str
    bytes: int
    archived_at: str
    archive_path: str
    superseded_by: str | None = None
    superseded_at: str | None = None
    removed_at: str | None = None  # the file was deleted (retention); the record stays
    erased: int = 0  # records taken out of the file by `htna erase` (how many, never whose)

    @property
    def current(self) -> bool:
        return self.superseded_by is None


@dataclass
class ArchiveResult:
    """What :func:`archive_export` did: ``new`` is False when the same bytes were already this wave's export."""

    record: ArchiveRecord
    new: bool
    replaced: ArchiveRecord | None = None


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:  # not empty: another export with these bytes is (being) archived there
        pass


def read_records(archive: Path) -> list[ArchiveRecord]:
    """Every record of an archive folder, oldest first (an absent archive has none)."""
    path = archive / RECORDS
    if not path.exists():
        return []
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            known = {f.name for f in fields(ArchiveRecord)}
            out.append(ArchiveRecord(**{k: v for k, v in json.loads(line).items() if k in known}))
        except (ValueError, TypeError) as exc:
            raise InputError(path, f"archive record is damaged ({exc})", row=i,
                             fix="restore records.jsonl from backup; the archived files themselves are intact") from None
    return out


def _write_records(archive: Path, records: list[ArchiveRecord]) -> None:
    archive.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=archive, prefix=".records-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(asdict(r), sort_keys=True) + "\n")
    os.replace(tmp, archive / RECORDS)


def _copy_hashed(source: Path, target: Path) -> str:
    """Copy ``source`` to ``target`` and return the SHA-256 of the copy as written.

    The kernel copies (``sendfile``) and the copy is hashed back from the page cache: for a 355 MB
    export 0.4 s, where hashing the bytes while copying them through Python took 0.4 to 1.9 s."""
    shutil.copyfile(source, target)
    return sha256_of(target)


def archive_export(path: Path | str, wave: str, archive: Path | str, dataset: str = "officer_survey",
                   sha256: str | None = None) -> ArchiveResult:
    """Copy an export into the archive under its SHA-256 and record it as the wave's current export
    (one process at a time: see :func:`_archive_export`)."""
    restrict_umask()  # the archive holds respondent-level exports: its folders and files are the owner's only
    if not Path(path).is_file():
        raise InputError(path, "file not found", fix="check the path of the export")
    if sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")  # it names a folder of the archive
    with _locked(Path(archive)):
        return _archive_export(path, wave, archive, dataset, sha256)


def _archive_export(path: Path | str, wave: str, archive: Path | str, dataset: str = "officer_survey",
                    sha256: str | None = None) -> ArchiveResult:
    """Copy an export into the archive under its SHA-256 and record it as the wave's current export.

    ``sha256`` is the file's digest when the caller already computed it in this run (survey_exports
    does): the file is then not hashed first, only copied, and the copy's digest must equal the given
    one. A digest that is already the wave's current export is trusted without reading
    the file, so pass only a digest of the file as it is now, never one remembered from an earlier run.
    """
    path, archive = Path(path), Path(archive)
    if not path.is_file():
        raise InputError(path, "file not found", fix="check the path of the export")
    if sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")  # it names a folder of the archive
    digest = sha256 if sha256 is not None else sha256_of(path)
    records = read_records(archive)
    current = [r for r in records if r.wave == wave and r.dataset == dataset and r.current]
    same = next((r for r in current if r.sha256 == digest), None)
    if same is not None:
        return ArchiveResult(same, new=False)
    folder = archive / digest
    target = folder / path.name
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        for d in (archive, folder):  # respondent-level data: the owner only
            os.chmod(d, 0o700)
        tmp = folder / f".{path.name}.partial"
        try:
            copied = _copy_hashed(path, tmp)  # the copy is verified by reading it back
        except BaseException:  # disk full, interrupted: no partial copy left behind
            tmp.unlink(missing_ok=True)
            _remove_if_empty(folder)
            raise
        if copied != digest:
            tmp.unlink(missing_ok=True)
            _remove_if_empty(folder)  # a folder named by a digest whose bytes never arrived
            raise InputError(path, "the file changed while it was being archived", fix="wait until it is fully written and retry")
        os.replace(tmp, target)
        os.chmod(target, 0o400)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    record = ArchiveRecord(wave=wave, dataset=dataset, sha256=digest, file_name=path.name, bytes=target.stat().st_size,
                           archived_at=now, archive_path=str(target.relative_to(archive)))
    replaced = None
    for r in current:
        r.superseded_by, r.superseded_at = digest, now
        replaced = r
    _write_records(archive, records + [record])
    return ArchiveResult(record, new=True, replaced=replaced)


def current_export(archive: Path | str, wave: str, dataset: str = "officer_survey") -> ArchiveRecord | None:
    """The wave's current archived export, or None."""
    return next((r for r in reversed(read_records(Path(archive)))
                 if r.wave == wave and r.dataset == dataset and r.current), None)


def wave_history(archive: Path | str, wave: str, dataset: str = "officer_survey") -> list[ArchiveRecord]:
    """Every version archived for the wave, oldest first."""
    return [r for r in read_records(Path(archive)) if r.wave == wave and r.dataset == dataset]


@contextmanager
def _locked(archive: Path) -> Iterator[None]:
    """One process at a time reads and rewrites the archive (a lock on the folder itself)."""
    if not archive.exists():
        archive.mkdir(parents=True, exist_ok=True)
        os.chmod(archive, 0o700)
    fd = os.open(archive, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _delete_file(archive: Path, relative: str) -> None:
    target = archive / relative
    target.unlink(missing_ok=True)
    _remove_if_empty(target.parent)


def apply_retention(archive: Path | str, keep_waves: int) -> list[ArchiveRecord]:
    """Delete the archived exports of every wave but the ``keep_waves`` most recent ones in the
    archive; their records stay, marked ``removed_at``. Returns the records newly removed."""
    archive = Path(archive)
    if not (archive / RECORDS).exists():
        return []
    with _locked(archive):
        records = read_records(archive)
        kept = set(sorted({r.wave for r in records}, reverse=True)[:keep_waves])
        removed = [r for r in records if r.wave not in kept and r.removed_at is None]
        if not removed:
            return []
        now = _now()
        for r in removed:
            r.removed_at = now
        in_use = {r.archive_path for r in records if r.removed_at is None}
        for r in removed:
            if r.archive_path not in in_use:  # the same bytes may still be another kept wave's export
                _delete_file(archive, r.archive_path)
        _write_records(archive, records)
    return removed


def rewrite_wave_exports(archive: Path | str, wave: str, dataset: str,
                         rewrite: Callable[[Path, Path], int]) -> int:
    """Rewrite every archived export of ``wave`` and ``dataset`` with ``rewrite(source, target)``
    (which returns how many records it took out; 0 leaves the file as it was); records follow the
    new hashes. Returns the number of files rewritten."""
    archive = Path(archive)
    if not (archive / RECORDS).exists():
        return 0
    changed = 0
    with _locked(archive):
        records = read_records(archive)
        renamed: dict[str, str] = {}
        for r in records:
            if r.wave != wave or r.dataset != dataset or r.removed_at is not None:
                continue
            source = archive / r.archive_path
            tmp = archive / f".{r.file_name}.erasing"
            tmp.unlink(missing_ok=True)
            try:
                taken = rewrite(source, tmp)
                if not taken:
                    continue
                digest = sha256_of(tmp)
                target = archive / digest / r.file_name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(target.parent, 0o700)
                os.replace(tmp, target)
                os.chmod(target, 0o400)
            finally:
                tmp.unlink(missing_ok=True)
            old_path = r.archive_path
            renamed[r.sha256] = digest
            r.sha256, r.archive_path, r.bytes = digest, str(target.relative_to(archive)), target.stat().st_size
            r.erased += taken
            changed += 1
            if all(o.archive_path != old_path for o in records):
                _delete_file(archive, old_path)
        for r in records:
            if r.superseded_by in renamed:
                r.superseded_by = renamed[r.superseded_by]
        if changed:
            _write_records(archive, records)
    return changed
