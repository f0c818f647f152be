"""Opening a wave's input files: regular files inside the wave folder, within the configured limits.

Every reader of a wave's inputs (officer survey, interview matrices, case lists, provider
inventory, the synthetic-data manifest) goes through :func:`check_input_file` before it reads a
byte, and reads through :func:`open_regular`:

* only a regular file is opened: a symbolic link (``case_lists_overlap.csv -> /etc/shadow``), a
  FIFO (which would block the run for ever while it holds the warehouse), a device or a socket is
  refused at once, from ``lstat``, and the file opened is checked to be the one looked at;
* only a file directly inside the wave folder;
* only within :class:`~pipelines.config.InputLimits` (file size, columns, rows, cells; for an
  XLSX workbook its unpacked size, compression ratio and declared sheet size; for an SPSS file its
  declared case count), checked before any parser sees the file, each with its own message.

Rows are counted as lines (a record whose answer holds line breaks counts once per line), so a
file within ``max_rows`` lines certainly has at most that many records. Plain code, no Dagster.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import stat
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pipelines.config import InputLimits
from pipelines.errors import InputError

MB = 2**20
#: bytes of a text file read to count the header's cells (more only while the first record runs on)
HEAD_BYTES = MB
MAX_HEAD_BYTES = 16 * MB
_DELIMITERS = (",", ";", "\t", "|")
_FIX_LIMIT = "if the file is genuine, raise input_limits.{name} in the assessment config"


@dataclass(frozen=True)
class InputFile:
    """What :func:`check_input_file` found: the file's status, container and what it counted."""

    path: Path
    size: int
    container: str  # "text", "xlsx", "sav", "other"
    columns: int | None = None
    lines: int | None = None


def _kind(mode: int) -> str | None:
    """The kind of a non-regular file, in words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def _refuse_kind(path: Path, kind: str) -> InputError:
    fix = ("put the file itself in the wave folder (a copy, not a link)" if kind == "a symbolic link"
           else "put the export itself, saved as an ordinary file, in the wave folder")
    return InputError(path, f"{kind}, not an ordinary file: inputs are read only from regular files", fix=fix)


def regular_status(path: Path | str, folder: Path | str | None = None) -> os.stat_result:
    """The file's ``lstat``, if it is a regular file (inside ``folder`` when given); else InputError."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise InputError(path, "file not found", fix="check the path of the file") from None
    except OSError as exc:
        raise InputError(path, f"cannot look at the file ({exc.strerror or type(exc).__name__})") from None
    kind = _kind(st.st_mode)
    if kind is not None:
        raise _refuse_kind(path, kind)
    if folder is not None:
        try:
            inside = path.parent.resolve(strict=True) == Path(folder).resolve(strict=True)
        except OSError:
            inside = False
        if not inside:
            raise InputError(path, f"the file is not inside the wave folder {folder}",
                             fix="put the wave's files directly in its folder")
    return st


def open_regular(path: Path | str, folder: Path | str | None = None) -> io.BufferedReader:
    """Open a regular file for reading, never following a link and never blocking on a FIFO; the
    file opened is checked to be the regular file looked at (nothing swapped in between)."""
    path = Path(path)
    st = regular_status(path, folder)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputError(path, "file not found", fix="check the path of the file") from None
    except PermissionError:
        raise InputError(path, "permission denied", fix="make the file readable, or copy it somewhere you can read") from None
    except OSError as exc:  # ELOOP: it became a link
        raise InputError(path, f"cannot open the file ({exc.strerror or type(exc).__name__})",
                         fix="put the file itself in the wave folder") from None
    opened = os.fstat(fd)
    if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
        os.close(fd)
        raise InputError(path, "the file changed while it was being opened", fix="wait until it is in place, and retry")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_regular(path: Path | str, folder: Path | str | None = None, max_bytes: int | None = None) -> bytes:
    """All of a regular file's bytes (see :func:`open_regular`); InputError past ``max_bytes``."""
    with open_regular(path, folder) as fh:
        if max_bytes is not None and os.fstat(fh.fileno()).st_size > max_bytes:
            raise InputError(path, f"the file is larger than {max_bytes} bytes", fix="this file is not an export")
        try:
            return fh.read()
        except OSError as exc:
            raise InputError(path, f"cannot read the file ({exc.strerror or type(exc).__name__})") from None


# --------------------------------------------------------------------------- the limits


def check_input_file(path: Path | str, folder: Path | str | None = None,
                     limits: InputLimits | None = None, *, content: bool = True) -> InputFile:
    """Refuse ``path`` unless it is a regular file (inside ``folder``) within ``limits``.

    ``content=False`` checks only what ``lstat`` tells (kind, place, size): for a file whose
    content was checked earlier in the run and has not changed since."""
    path = Path(path)
    limits = limits or InputLimits()
    st = regular_status(path, folder)
    max_bytes = int(limits.max_file_mb * MB)
    if st.st_size > max_bytes:
        raise InputError(path, f"the file is {st.st_size / MB:.0f} MB, more than the {limits.max_file_mb:g} MB allowed "
                         "(input_limits.max_file_mb)", fix=_FIX_LIMIT.format(name="max_file_mb"))
    if not content:
        return InputFile(path, st.st_size, "unchecked")
    with open_regular(path, folder) as fh:
        head = fh.read(HEAD_BYTES)
        if head.startswith(b"PK\x03\x04"):
            _check_xlsx(path, fh, st.st_size, limits)
            return InputFile(path, st.st_size, "xlsx")
        if head.startswith((b"$FL2", b"$FL3")):
            _check_sav(path, head, limits)
            return InputFile(path, st.st_size, "sav")
        if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")) or _looks_utf32(head):
            raise InputError(path, "the file is UTF-32 encoded text, which exports never use",
                             fix="save it again as UTF-8 (or UTF-16) CSV")
        return _check_text(path, fh, head, st.st_size, limits)


def _looks_utf32(head: bytes) -> bool:
    """UTF-32 without a byte-order mark: three zero bytes in each group of four."""
    sample = head[:4000]
    if len(sample) < 16:
        return False
    quads = [sample[i:i + 4] for i in range(0, len(sample) - 3, 4)]
    return sum(q.count(0) >= 3 for q in quads) > 0.9 * len(quads)


def _text_codec(head: bytes) -> tuple[str, bytes]:
    """The codec to count a text file's lines and header cells with, and its line break's bytes."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return ("utf-16-le" if head.startswith(b"\xff\xfe") else "utf-16-be"), \
            (b"\n\x00" if head.startswith(b"\xff\xfe") else b"\x00\n")
    sample = head[:400]
    even, odd = sample[0::2], sample[1::2]
    if len(sample) >= 4 and odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le", b"\n\x00"
    if len(sample) >= 4 and even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be", b"\x00\n"
    return "latin-1", b"\n"  # the cells of UTF-8 and Windows-1252 text are counted alike in Latin-1


def _header_cells(text: str) -> tuple[int, bool]:
    """The most cells the first record has under any of the delimiters a reader may pick, and
    whether that record ends within ``text``."""
    widest, complete = 0, True
    for d in _DELIMITERS:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=d)
        try:
            first = next(reader, [])
            ended = reader.line_num < text.count("\n") + 1 or text.endswith(("\n", "\r"))
        except csv.Error:  # not parsed as CSV: count the delimiters of the first line
            first, ended = text.split("\n", 1)[0].split(d), "\n" in text
        widest = max(widest, len(first))
        complete = complete and ended
    return widest, complete


def _check_text(path: Path, fh: io.BufferedReader, head: bytes, size: int, limits: InputLimits) -> InputFile:
    codec, newline = _text_codec(head)
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    text = decoder.decode(head)
    columns, complete = _header_cells(text.lstrip("\ufeff"))
    read = len(head)
    while not complete and columns <= limits.max_columns and read < min(size, MAX_HEAD_BYTES):
        more = fh.read(HEAD_BYTES)
        if not more:
            break
        read += len(more)
        text += decoder.decode(more)
        columns, complete = _header_cells(text.lstrip("\ufeff"))
    if columns > limits.max_columns:
        raise InputError(path, f"the header row has more than {limits.max_columns} columns "
                         "(input_limits.max_columns)", row=1,
                         fix="check that this is the export (and its delimiter); " + _FIX_LIMIT.format(name="max_columns"))
    lines = None
    # a file cannot have more lines than bytes, nor more cells than bytes per column: count only when it could
    if size > limits.max_rows or size * max(columns, 1) > limits.max_cells:
        fh.seek(0)
        lines = 0
        last = b""
        while block := fh.read(8 * MB):
            lines += block.count(newline)
            last = block
        if last and not last.endswith(newline):
            lines += 1
        if lines > limits.max_rows:
            raise InputError(path, f"the file has {lines} lines, more than the {limits.max_rows} rows allowed "
                             "(input_limits.max_rows)", fix=_FIX_LIMIT.format(name="max_rows"))
        if lines * max(columns, 1) > limits.max_cells:
            raise InputError(path, f"the file has up to {lines * columns} cells ({lines} lines of {columns} columns), "
                             f"more than the {limits.max_cells} allowed (input_limits.max_cells)",
                             fix=_FIX_LIMIT.format(name="max_cells"))
    return InputFile(path, size, "text", columns=columns, lines=lines)


# --------------------------------------------------------------------------- workbooks and SPSS files

_CELL = re.compile(r"^([A-Z]{1,3})(\d{1,7})$")


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def _first_sheet(z: zipfile.ZipFile) -> str | None:
    """The member holding the workbook's first worksheet (what a reader takes), from its parts."""
    try:
        workbook = z.open("xl/workbook.xml").read(MB).decode("utf-8", "replace")
        rels = z.open("xl/_rels/workbook.xml.rels").read(MB).decode("utf-8", "replace")
    except (KeyError, zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError):
        return None
    sheet = re.search(r"<(?:\w+:)?sheet\b[^>]*?\br:id=\"([^\"]+)\"", workbook) or \
        re.search(r"<(?:\w+:)?sheet\b[^>]*?\bid=\"([^\"]+)\"", workbook)
    if sheet is None:
        return None
    for rel in re.finditer(r"<Relationship\b[^>]*>", rels):
        if f'Id="{sheet.group(1)}"' in rel.group(0):
            target = re.search(r'Target="([^"]+)"', rel.group(0))
            if target:
                t = target.group(1)
                return t.lstrip("/") if t.startswith("/") else "xl/" + t
    return None


def _check_xlsx(path: Path, fh: io.BufferedReader, size: int, limits: InputLimits) -> None:
    fh.seek(0)
    try:
        z = zipfile.ZipFile(fh)
        members = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise InputError(path, "not a readable Excel workbook (its zip directory is damaged)",
                         fix="open it in Excel and save it again as .xlsx, or export the responses as CSV") from None
    unpacked = sum(m.file_size for m in members)
    if unpacked > limits.max_xlsx_uncompressed_mb * MB:
        raise InputError(path, f"the workbook unpacks to {unpacked / MB:.0f} MB, more than the "
                         f"{limits.max_xlsx_uncompressed_mb:g} MB allowed (input_limits.max_xlsx_uncompressed_mb)",
                         fix="export the responses as CSV; " + _FIX_LIMIT.format(name="max_xlsx_uncompressed_mb"))
    ratio = unpacked / max(size, 1)
    if ratio > limits.max_xlsx_compression_ratio:
        raise InputError(path, f"the workbook unpacks to {ratio:.0f} times its size, more than the "
                         f"{limits.max_xlsx_compression_ratio:g} allowed (input_limits.max_xlsx_compression_ratio): "
                         "it is not an ordinary export", fix="export the responses as CSV")
    sheet = _first_sheet(z)
    if sheet is None:
        return  # the reader reports a workbook without sheets
    try:
        with z.open(sheet) as member:
            start = member.read(64 * 1024).decode("utf-8", "replace")
    except (KeyError, zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError):
        return
    dim = re.search(r"<(?:\w+:)?dimension\s+ref=\"([^\"]+)\"", start)
    if dim is None:
        return
    corner = dim.group(1).split(":")[-1].replace("$", "").upper()
    m = _CELL.match(corner)
    if m is None:
        return
    columns, rows = _column_number(m.group(1)), int(m.group(2))
    if columns > limits.max_columns:
        raise InputError(path, f"the first sheet declares {columns} columns, more than the {limits.max_columns} "
                         "allowed (input_limits.max_columns)", fix="export the responses as CSV; "
                         + _FIX_LIMIT.format(name="max_columns"))
    if rows > limits.max_rows:
        raise InputError(path, f"the first sheet declares {rows} rows, more than the {limits.max_rows} allowed "
                         "(input_limits.max_rows)", fix=_FIX_LIMIT.format(name="max_rows"))
    if rows * columns > limits.max_cells:
        raise InputError(path, f"the first sheet declares {rows * columns} cells, more than the {limits.max_cells} "
                         "allowed (input_limits.max_cells)", fix=_FIX_LIMIT.format(name="max_cells"))


def _check_sav(path: Path, head: bytes, limits: InputLimits) -> None:
    """The case count an SPSS file declares in its header (-1: not given)."""
    if len(head) < 84:
        return
    for order in ("<", ">"):
        layout, = struct.unpack_from(order + "i", head, 64)
        if layout in (2, 3):
            cases, = struct.unpack_from(order + "i", head, 80)
            if cases > limits.max_rows:
                raise InputError(path, f"the file declares {cases} cases, more than the {limits.max_rows} rows "
                                 "allowed (input_limits.max_rows)", fix=_FIX_LIMIT.format(name="max_rows"))
            return
