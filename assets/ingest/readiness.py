"""Whether a wave folder is complete and settled: the one rule every way of starting a run follows.

A wave's folder (``<data_dir>/incoming/<wave>/``) fills up file by file: an evaluator copies the
officer export, then the interview matrices, perhaps a day later the provider inventory. A run that
starts half way publishes a wrong report. The config (``wave_inputs:``) says, per wave, which inputs
are *required*, *optional* (the pages that use it say it is missing) or *absent* by design, and when a
folder counts as finished:

* ``ready_when: manifest`` (the default): a ``READY`` manifest that matches the folder. ``htna ready
  <wave>`` writes it once every file is in: one line per file, ``<sha256>  <name>`` (the format of
  ``sha256sum``, so ``sha256sum -c READY`` checks it too). It matches when every file it lists is there
  with that content and the folder holds no other file. A copy still under way, a file replaced after
  the manifest was written, or a file added since, all make it differ.
* ``ready_when: settled``: every required input present and no file changed (modified, or created by
  a copy that kept its old modification time: the later of mtime and ctime) for ``settle_seconds``.
  A matching manifest is enough here too.

Whatever the mode, a wave missing a required input, holding an input its config says is not collected,
or with a manifest that differs from the folder is refused by the run's first asset
(:func:`refusal`), so a run started from the CLI, the UI or the sensor stops the same way. A run
started deliberately (``htna run``, the UI) on a folder without a manifest is the evaluator's own
call and goes ahead; the drop-folder sensor starts only runs of folders that are :attr:`ready`.

Plain code, no Dagster.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from assets.ingest.drop_folder import IGNORED_PREFIXES
from assets.ingest.exports import DATASET_FILES, SYNTHETIC_MANIFEST, sha256_of
from pipelines.config import WAVE_INPUTS, Assessment
from pipelines.errors import HtnaError

READY_FILE = "READY"
#: the files each input of a wave is read from (the prevalence stage reads either case-list file)
INPUT_FILES: dict[str, tuple[str, ...]] = {
    "officer_survey": DATASET_FILES["officer_survey"],
    "stakeholder_survey": DATASET_FILES["stakeholder_survey"],
    "stakeholder_interviews": DATASET_FILES["stakeholder_interviews"],
    "survivor_interviews": DATASET_FILES["survivor_interviews"],
    "provider_inventory": DATASET_FILES["provider_inventory"],
    "case_lists": ("case_lists.csv", "case_lists_overlap.csv"),
}
#: each input in the report's words
INPUT_LABEL = {
    "officer_survey": "officer survey",
    "stakeholder_survey": "stakeholder survey",
    "stakeholder_interviews": "stakeholder interviews",
    "survivor_interviews": "survivor interviews",
    "provider_inventory": "service-provider inventory",
    "case_lists": "agency case lists",
}
#: how each input's absence is said on the pages that would use it
ABSENT_STATEMENT = {
    "stakeholder_survey": "no stakeholder survey in this wave",
    "stakeholder_interviews": "no stakeholder interviews in this wave",
    "survivor_interviews": "no survivor interviews in this wave",
    "provider_inventory": "no service-provider inventory in this wave",
    "case_lists": "no agency case lists in this wave",
    "officer_survey": "no officer survey in this wave",
}
_MANIFEST_HEADER = "# htna READY manifest: the wave's files and their SHA-256 (sha256sum -c READY checks it)\n"


@dataclass(frozen=True)
class WaveReadiness:
    """What :func:`wave_readiness` found in one wave folder."""

    wave: str
    folder: Path
    mode: str                                   # "manifest" | "settled"
    settle_seconds: int
    status: dict[str, str]                      # input -> required | optional | absent
    present: dict[str, str] = field(default_factory=dict)     # input -> file name found
    missing_required: list[str] = field(default_factory=list)
    absent_optional: list[str] = field(default_factory=list)
    absent_by_design: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)       # present although the config says absent
    changing: list[str] = field(default_factory=list)         # files changed within the settle period
    manifest: str = "absent"                    # "absent" | "matches" | "differs"
    manifest_problems: list[str] = field(default_factory=list)
    folder_exists: bool = True

    @property
    def complete(self) -> bool:
        """Every required input present, nothing the config rules out, and no manifest that differs."""
        return (self.folder_exists and not self.missing_required and not self.unexpected
                and self.manifest != "differs")

    @property
    def settled(self) -> bool:
        return not self.changing

    @property
    def ready(self) -> bool:
        """The folder may be run and published without anyone saying so (what the sensor waits for)."""
        if not self.complete:
            return False
        if self.manifest == "matches":
            return True
        return self.mode == "settled" and self.settled

    def reasons(self) -> list[str]:
        """Why the folder is not ready, one sentence each (empty when it is)."""
        out = []
        if not self.folder_exists:
            out.append(f"there is no folder {self.folder}")
            return out
        for name in self.missing_required:
            out.append(f"{WAVE_INPUTS[name]} is missing (expected one of: {', '.join(INPUT_FILES[name])})")
        for name in self.unexpected:
            out.append(f"{self.present[name]} is in the folder, but the config says {WAVE_INPUTS[name]} is not "
                       f"collected in wave {self.wave}")
        if self.manifest == "differs":
            out.append(f"the {READY_FILE} manifest does not match the folder: " + "; ".join(self.manifest_problems))
        if self.complete and self.manifest == "absent":
            if self.mode == "manifest":
                out.append(f"no {READY_FILE} manifest yet (the folder is run once `htna ready {self.wave}` says every "
                           "file is in)")
            elif self.changing:
                out.append(f"files changed within the last {self.settle_seconds} s: {', '.join(self.changing)}")
        return out

    def fixes(self) -> list[str]:
        out = []
        if self.missing_required:
            out.append(f"copy the missing file(s) into {self.folder}, or, if the wave has none by design, set it "
                       f"`optional` or `absent` under wave_inputs.waves.\"{self.wave}\" in the assessment config")
        if self.unexpected:
            out.append(f"remove the file, or set the input `optional` under wave_inputs.waves.\"{self.wave}\"")
        if self.manifest == "differs":
            out.append(f"wait until the copy is finished, then run `htna ready {self.wave}` again to declare "
                       "the folder's files")
        return out

    def message(self) -> str:
        """One message: what is wrong with the folder and how to fix it (no traceback, no file content)."""
        lines = [f"wave {self.wave} is not ready to run ({self.folder}):"]
        lines += [f"  - {r}" for r in self.reasons()]
        lines += [f"  fix: {f}" for f in self.fixes()]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"wave": self.wave, "folder": str(self.folder), "mode": self.mode, "ready": self.ready,
                "complete": self.complete, "missing_required": self.missing_required,
                "absent_optional": self.absent_optional, "absent_by_design": self.absent_by_design,
                "unexpected": self.unexpected, "changing": self.changing, "manifest": self.manifest,
                "manifest_problems": self.manifest_problems, "reasons": self.reasons()}


class WaveNotReady(HtnaError):
    """A run of a wave whose folder is incomplete or differs from its READY manifest."""

    def __init__(self, readiness: WaveReadiness) -> None:
        self.readiness = readiness
        super().__init__(readiness.message())


def folder_files(folder: Path) -> dict[str, os.stat_result]:
    """The entries of a wave folder that count as its content (not hidden or lock files, not READY, not
    sub-folders), by ``lstat``: a link, FIFO or device named like an input counts as present, so the run's
    reader refuses it with its own message (it is never followed, opened or hashed here)."""
    out = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(IGNORED_PREFIXES) or path.name == READY_FILE:
            continue
        try:
            st = path.lstat()
        except FileNotFoundError:  # removed while we looked
            continue
        if not stat.S_ISDIR(st.st_mode):
            out[path.name] = st
    return out


def _regular(st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode)


def read_manifest(path: Path) -> dict[str, str] | None:
    """The manifest's files and hashes; None when a line is not ``<sha256>  <name>``."""
    entries = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        digest, sep, name = line.partition("  ")
        name = name.lstrip("*")
        if not sep or len(digest) != 64 or not name or any(c not in "0123456789abcdef" for c in digest.lower()):
            return None
        entries[name] = digest.lower()
    return entries


def _manifest_problems(folder: Path, files: dict[str, os.stat_result], listed: dict[str, str]) -> list[str]:
    problems = []
    for name, digest in sorted(listed.items()):
        if name not in files:
            problems.append(f"{name} is listed but not in the folder")
        elif not _regular(files[name]):
            problems.append(f"{name} is not an ordinary file")
        elif sha256_of(folder / name) != digest:
            problems.append(f"{name} has changed since the manifest was written")
    extra = sorted(set(files) - set(listed))
    if extra:
        problems.append(f"not listed: {', '.join(extra)}")
    return problems


def wave_readiness(assessment: Assessment, wave: str, folder: Path, now: float | None = None) -> WaveReadiness:
    """Whether ``folder`` (the wave's drop folder) is complete and settled, by the config's rule."""
    rules = assessment.config.wave_inputs
    status = rules.status(wave)
    base = dict(wave=wave, folder=folder, mode=rules.ready_when, settle_seconds=rules.settle_seconds, status=status)
    if not folder.is_dir():
        return WaveReadiness(**base, missing_required=[n for n, s in status.items() if s == "required"],
                             folder_exists=False)
    files = folder_files(folder)
    present = {}
    for name, candidates in INPUT_FILES.items():
        found = next((c for c in candidates if c in files), None)
        if found is not None:
            present[name] = found
    missing = [n for n, s in status.items() if s == "required" and n not in present]
    optional = [n for n, s in status.items() if s == "optional" and n not in present]
    by_design = [n for n, s in status.items() if s == "absent"]
    unexpected = [n for n in by_design if n in present]
    now = time.time() if now is None else now
    changing = sorted(name for name, st in files.items() if now - max(st.st_mtime, st.st_ctime) < rules.settle_seconds)
    manifest_path = folder / READY_FILE
    manifest, problems = "absent", []
    if os.path.lexists(manifest_path):
        listed = read_manifest(manifest_path) if manifest_path.is_file() and not manifest_path.is_symlink() else None
        if listed is None:
            manifest, problems = "differs", [f"{READY_FILE} is not a manifest htna can read (one `<sha256>  <name>` "
                                             "line per file)"]
        else:
            problems = _manifest_problems(folder, files, listed)
            manifest = "differs" if problems else "matches"
    return WaveReadiness(**base, present=present, missing_required=missing, absent_optional=optional,
                         absent_by_design=by_design, unexpected=unexpected, changing=changing, manifest=manifest,
                         manifest_problems=problems)


def refusal(readiness: WaveReadiness) -> HtnaError | None:
    """The error a run of this folder must stop with (whoever started it), or None."""
    if not readiness.folder_exists:  # the ingest stage's own message for a wave without a folder
        from assets.ingest.exports import wave_folder
        from pipelines.errors import InputError

        try:
            wave_folder(readiness.folder.parent.parent, readiness.wave)
        except InputError as exc:
            return exc
    return None if readiness.complete else WaveNotReady(readiness)


def write_manifest(assessment: Assessment, wave: str, folder: Path) -> tuple[Path, WaveReadiness]:
    """Declare the folder's current files the wave's (``htna ready``): write READY, return it and the
    readiness it gives. Refused (nothing written) while a required input is missing or a file the config
    rules out is present."""
    if not folder.is_dir():
        raise HtnaError(f"there is no folder {folder} for wave {wave}; copy the wave's files there first")
    tmp_manifest = folder / READY_FILE
    before = wave_readiness(assessment, wave, folder)
    if before.missing_required or before.unexpected:
        raise WaveNotReady(before)
    files = folder_files(folder)
    odd = sorted(name for name, st in files.items() if not _regular(st))
    if odd:
        raise HtnaError(f"{folder}: not ordinary files: {', '.join(odd)} (a link, named pipe or device is never "
                        "read); put the files themselves in the folder, then run `htna ready` again")
    lines = [_MANIFEST_HEADER] + [f"{sha256_of(folder / name)}  {name}\n" for name in sorted(files)]
    tmp = folder / f".{READY_FILE}.tmp"
    tmp.write_text("".join(lines), encoding="utf-8")
    os.replace(tmp, tmp_manifest)  # never a half-written manifest
    return tmp_manifest, wave_readiness(assessment, wave, folder)


def redeclare_file(folder: Path, name: str) -> bool:
    """After htna itself rewrote ``name`` in the folder (``htna erase``): give it its new hash in the READY
    manifest, if there is one listing it, so the rewritten wave still matches. Only that file's line
    changes (another file changed since would still make the manifest differ). True if the manifest changed."""
    path = folder / READY_FILE
    if not path.is_file() or path.is_symlink():
        return False
    listed = read_manifest(path)
    if listed is None or name not in listed:
        return False
    digest = sha256_of(folder / name)
    lines = [_MANIFEST_HEADER] + [f"{digest if n == name else h}  {n}\n" for n, h in sorted(listed.items())]
    tmp = folder / f".{READY_FILE}.tmp"
    tmp.write_text("".join(lines), encoding="utf-8")
    os.replace(tmp, path)
    return True


def is_marker(name: str) -> bool:
    """Files of a wave folder that are not inputs read by any stage (the READY manifest, the synthetic-data flag)."""
    return name in (READY_FILE, SYNTHETIC_MANIFEST)
