"""The output folder is htna's own: a wave's site replaces only a site htna built.

Publishing a wave replaces ``<output>/<wave>/`` whole. So that this can never delete anything else
(``--output <data>/incoming`` once replaced ``incoming/2015/``, case lists and all, with a site):

* the output folder carries a marker file (:data:`ROOT_MARKER`), written when htna first makes or
  adopts it; a folder without the marker is adopted only while it is empty or holds nothing but
  sites htna built;
* each wave's site carries its own marker (:data:`SITE_MARKER`); an existing wave folder is replaced
  only if it has it (or, for sites built before the marker existed, holds nothing but a site's files);
* the output folder may not be, or lie inside, the data folder, and may not be the warehouse's folder.

Plain code, no Dagster; the CLI checks before a run starts, :func:`~assets.report.site.build_site`
again before it swaps a site in.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.errors import HtnaError

ROOT_MARKER = ".htna-output"
SITE_MARKER = ".htna-site"
_ROOT_TEXT = "This folder holds the published sites htna builds, one folder per wave; htna replaces only those.\n"
_SITE_TEXT = "A published site built by htna. htna replaces this folder when the wave is published again.\n"
_WAVE = re.compile(r"^\d{4}$")
_LEFTOVER = re.compile(r"^\.\d{4}\.(building-|old-)")


class OutputFolderError(HtnaError):
    """The output folder (or a wave folder in it) is not htna's to write."""


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _is_old_site(folder: Path) -> bool:
    """A site built before the markers existed: index.html, indicators.csv and static/site.css, and
    nothing but its pages, its two downloads and the static folder."""
    if not folder.is_dir() or folder.is_symlink():
        return False
    if not ((folder / "index.html").is_file() and (folder / "indicators.csv").is_file()
            and (folder / "static" / "site.css").is_file()):
        return False
    return all((e.name == "static" and e.is_dir() and not e.is_symlink())
               or (e.is_file() and not e.is_symlink()
                   and (e.suffix == ".html" or e.name in ("indicators.csv", "needs-assessment-tables.xlsx")))
               for e in folder.iterdir())


def is_site(folder: Path) -> bool:
    """True for a folder htna may replace with a new build of the wave's site."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    return (folder / SITE_MARKER).is_file() or _is_old_site(folder)


def check_output_folder(out_root: Path | str, data_dir: Path | str | None = None,
                        warehouse: Path | str | None = None) -> None:
    """Refuse an output folder htna may not write into (see the module's docstring)."""
    out = Path(out_root).expanduser().resolve()
    if data_dir is not None:
        data = Path(data_dir).expanduser().resolve()
        if _inside(out, data):
            raise OutputFolderError(
                f"the output folder {out} is inside the data folder {data}: publishing a wave there could replace "
                "the wave's exports\n  fix: pass --output a folder of its own (the default is build/report)")
    if warehouse is not None and out == Path(warehouse).expanduser().resolve().parent:
        raise OutputFolderError(
            f"the output folder {out} is the warehouse's folder, which holds the respondent-level data and the raw "
            "archive\n  fix: pass --output a folder of its own (the default is build/report)")
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise OutputFolderError(f"the output folder {out} is not a folder\n  fix: pass --output a folder")
    if not out.exists() or (out / ROOT_MARKER).is_file():
        return
    foreign = [e.name for e in out.iterdir()
               if not ((_WAVE.match(e.name) and is_site(e)) or (_LEFTOVER.match(e.name) and e.is_dir()))]
    if foreign:
        shown = ", ".join(sorted(foreign)[:5]) + (" ..." if len(foreign) > 5 else "")
        raise OutputFolderError(
            f"the output folder {out} is not htna's: it holds other things ({shown}), and htna replaces the "
            "folders it publishes in\n  fix: pass --output an empty or new folder (htna marks it as its own)")


def claim_output_folder(out_root: Path | str) -> Path:
    """Make (or adopt) the output folder, after :func:`check_output_folder`, and mark it as htna's."""
    out = Path(out_root)
    check_output_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    marker = out / ROOT_MARKER
    if not marker.is_file():
        marker.write_text(_ROOT_TEXT, encoding="utf-8")
    return out


def check_replaceable(folder: Path) -> None:
    """Refuse to replace ``folder`` (an existing wave folder of the output) unless it is a site htna built."""
    if (folder.exists() or folder.is_symlink()) and not is_site(folder):
        raise OutputFolderError(
            f"{folder} exists and is not a site htna built (it has no {SITE_MARKER} marker), so it is not replaced"
            "\n  fix: move it away, or pass --output another folder")


def mark_site(folder: Path) -> None:
    """Mark a site being built as htna's (written into the staging folder before it is swapped in)."""
    (folder / SITE_MARKER).write_text(_SITE_TEXT, encoding="utf-8")
