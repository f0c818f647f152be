"""Who may read and change htna's files: the owner only, except the published site.

The warehouse (with its write-ahead log), the raw archive and the Dagster home hold respondent-level
data or can make the next run load code (``dagster.yaml``), so they are created readable and
writable by their owner only (folders 0700, files 0600) whatever the umask, and every run first
re-checks them: a folder or file of theirs that others may write is refused with a message (a
local user could swap the warehouse or plant a ``dagster.yaml``), and one others may read is
tightened. The published site is meant to be shared: it is readable as the config says
(``report.readable_by``) and never writable by anyone but its owner.

Plain code, no Dagster.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pipelines.errors import HtnaError

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
#: (folder mode, file mode) of the published site for each ``report.readable_by``
SITE_MODES = {"everyone": (0o755, 0o644), "group": (0o750, 0o640), "owner": (0o700, 0o600)}


def restrict_umask() -> None:
    """Make every file this process creates from now on private to its owner (umask 077 at least)."""
    current = os.umask(0o077)
    os.umask(current | 0o077)


class SharedFolderError(HtnaError):
    """A private folder or file of htna's may be changed (or is owned) by someone else."""


def _others_may_write(st: os.stat_result) -> bool:
    return bool(st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def _foreign_owner(st: os.stat_result) -> bool:
    return st.st_uid not in (os.getuid(), 0) if hasattr(os, "getuid") else False


def check_private(path: Path | str, what: str, *, tighten: bool = True) -> None:
    """Refuse ``path`` (if it exists) when others may write it or another user owns it; with
    ``tighten``, take away others' read access. ``what`` names it in the message."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # not there: nothing to check
        return
    if stat.S_ISLNK(st.st_mode):
        raise SharedFolderError(f"{path} ({what}) is a symbolic link\n  fix: point the setting at the folder or file "
                                "itself")
    mode = stat.S_IMODE(st.st_mode)
    if _others_may_write(st) or _foreign_owner(st):
        who = "another user owns it" if _foreign_owner(st) else f"others may change it (mode {mode:o})"
        raise SharedFolderError(
            f"{path} ({what}) is not private: {who}, so they could replace what htna reads or runs\n"
            f"  fix: check nobody has changed it, then `chmod go-rwx {path}` (or use a folder of your own)")
    if tighten and mode & 0o077:
        try:
            os.chmod(path, mode & 0o700)
        except OSError as exc:
            raise SharedFolderError(f"{path} ({what}) is readable by others and cannot be made private "
                                    f"({exc.strerror})\n  fix: `chmod go-rwx {path}`") from None


def check_not_shared_writable(path: Path | str, what: str) -> None:
    """Refuse ``path`` (if it exists) when others may write it (it may be readable: a site)."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # not there: nothing to check
        return
    if _others_may_write(st) or _foreign_owner(st):
        mode = stat.S_IMODE(st.st_mode)
        raise SharedFolderError(
            f"{path} ({what}) may be changed by others (mode {mode:o}{', another user owns it' if _foreign_owner(st) else ''})"
            f"\n  fix: `chmod go-w {path}` (or use a folder of your own)")


def private_folder(path: Path | str, what: str = "a private folder of htna's") -> Path:
    """``path`` as a folder only its owner may use: made (with missing parents) 0700; an existing one
    is checked (:func:`check_private`)."""
    path = Path(path)
    if not path.exists():
        restrict_umask()
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, PRIVATE_DIR)
    check_private(path, what)
    return path


def make_private_file(path: Path | str) -> None:
    """Owner-only read and write for a file of htna's that exists (a no-op when it does not)."""
    try:
        if stat.S_IMODE(os.lstat(path).st_mode) != PRIVATE_FILE:
            os.chmod(path, PRIVATE_FILE)
    except (FileNotFoundError, NotADirectoryError):
        pass


def apply_site_modes(root: Path | str, readable_by: str) -> None:
    """Set the modes of a built site: its folders and files readable as ``readable_by`` says,
    writable by the owner only."""
    folder_mode, file_mode = SITE_MODES[readable_by]
    root = Path(root)
    os.chmod(root, folder_mode)
    for base, dirs, files in os.walk(root):
        for d in dirs:
            os.chmod(Path(base) / d, folder_mode)
        for f in files:
            os.chmod(Path(base) / f, file_mode)
