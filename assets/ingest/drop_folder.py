"""What is in the drop folder: one fingerprint per wave, from the content of its files.

An evaluator's only step is to put a wave's exports in ``<data_dir>/incoming/<wave>/``. The
fingerprint is a SHA-256 over the names and content hashes of the files, so touching or re-saving an
unchanged file never counts as new data, while any change of content does. File hashes are cached by
(size, modification time) so that a large unchanged export is not re-read on every look.
"""

from __future__ import annotations

import hashlib
import stat
from dataclasses import dataclass
from pathlib import Path

from assets.ingest.exports import sha256_of

IGNORED_PREFIXES = (".", "~$")  # hidden files, editors' and Excel's lock files
#: not part of the content: the READY manifest declares the files (assets/ingest/readiness.py), so writing it
#: does not make the folder differ from the run that read those files
NOT_CONTENT = ("READY",)


@dataclass(frozen=True)
class WaveContent:
    wave: str
    fingerprint: str
    files: dict[str, tuple[int, int, str]]  # name -> (size, mtime_ns, sha256)


def scan_wave(folder: Path, cache: dict[str, list] | None = None) -> WaveContent | None:
    """Fingerprint one wave folder; None when it holds no files yet."""
    cache = cache or {}
    files: dict[str, tuple[int, int, str]] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(IGNORED_PREFIXES) or path.name in NOT_CONTENT:
            continue
        st = path.lstat()
        if not stat.S_ISREG(st.st_mode):  # a link, FIFO or device is never read (the run refuses it)
            continue
        cached = cache.get(path.name)
        if cached is not None and cached[0] == st.st_size and cached[1] == st.st_mtime_ns:
            digest = cached[2]
        else:
            digest = sha256_of(path)
        files[path.name] = (st.st_size, st.st_mtime_ns, digest)
    if not files:
        return None
    h = hashlib.sha256()
    for name, (_, _, digest) in sorted(files.items()):
        h.update(f"{name}\0{digest}\n".encode())
    return WaveContent(folder.name, h.hexdigest(), files)


def scan_drop_folder(data_dir: Path, waves: list[str], cache: dict[str, dict] | None = None) -> tuple[list[WaveContent], list[str]]:
    """Fingerprint every configured wave's folder; also list folders that are not configured waves."""
    cache = cache or {}
    incoming = data_dir / "incoming"
    if not incoming.is_dir():
        return [], []
    found, unknown = [], []
    for folder in sorted(p for p in incoming.iterdir() if p.is_dir()):
        if folder.name not in waves:
            unknown.append(folder.name)
            continue
        content = scan_wave(folder, cache.get(folder.name, {}).get("files"))
        if content is not None:
            found.append(content)
    return found, unknown


def wave_fingerprint(data_dir: Path, wave: str) -> str | None:
    """The fingerprint of ``<data_dir>/incoming/<wave>/`` as the drop-folder sensor computes it (None when
    the folder is missing or empty): a run records it, so the sensor knows the content was run."""
    folder = data_dir / "incoming" / wave
    if not folder.is_dir():
        return None
    content = scan_wave(folder)
    return content.fingerprint if content is not None else None
