"""Inputs are regular files of the wave folder, bounded before they are parsed.

Attacks: a link in the drop folder to a file elsewhere (``-> /etc/shadow``), a FIFO named like the
export (which blocked a run for ever), a device, a file outside the wave folder; a 3 MB CSV of
300,000 columns, a 1 MB XLSX holding 260 MB of sheet XML, a sheet declaring a million rows, an SPSS
file declaring more cases than allowed, files past the size, row and cell limits, UTF-32 text. Each
is refused with one message naming the file and the limit or rule, before any parser reads it.
"""

from __future__ import annotations

import os
import shutil
import stat
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from assets.ingest.exports import find_exports
from assets.ingest.readers import read_export
from assets.prevalence.inputs import read_wave_lists
from pipelines.config import REPO_ROOT, InputLimits
from pipelines.errors import InputError
from pipelines.input_files import check_input_file, open_regular, read_regular

DEMO = REPO_ROOT / "data" / "demo" / "incoming" / "2015"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "exports"
SECRET_LINE = "CanaryShadowLine:$6$rounds$hash:19000:0:99999:7:::"
IDS = ["first_name", "last_name", "date_of_birth"]
LISTS = [("hotline", "Hotline"), ("advocates", "Advocates"), ("law_enforcement", "Law enforcement")]


@pytest.fixture()
def wave(tmp_path: Path) -> Path:
    folder = tmp_path / "data" / "incoming" / "2015"
    shutil.copytree(DEMO, folder)
    return folder


@pytest.fixture()
def secret_file(tmp_path: Path) -> Path:
    target = tmp_path / "elsewhere" / "shadow"
    target.parent.mkdir()
    target.write_text(SECRET_LINE + "\n", encoding="utf-8")
    return target


def _refused(call, *fragments: str) -> str:
    with pytest.raises(InputError) as exc:
        call()
    message = str(exc.value)
    for fragment in fragments:
        assert fragment in message, message
    assert "Canary" not in message and "$6$" not in message  # nothing of the file is quoted
    assert exc.value.__cause__ is None
    return message


# --------------------------------------------------------------------------- not regular files


def test_a_link_to_a_file_elsewhere_is_refused_by_every_reader(wave: Path, secret_file: Path) -> None:
    overlap = wave / "case_lists_overlap.csv"
    os.symlink(secret_file, overlap)
    _refused(lambda: read_wave_lists(wave, identifiers=IDS, lists=LISTS), "case_lists_overlap.csv",
             "a symbolic link, not an ordinary file")
    (wave / "officer_survey.csv").unlink()
    os.symlink(secret_file, wave / "officer_survey.csv")
    _refused(lambda: find_exports(wave.parent.parent, "2015"), "officer_survey.csv", "symbolic link")
    _refused(lambda: read_export(wave / "officer_survey.csv"), "symbolic link")  # the reader itself, too
    _refused(lambda: read_regular(overlap), "symbolic link")


def test_a_link_that_leads_nowhere_is_refused_not_ignored(wave: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "gone.csv", wave / "case_lists_overlap.csv")
    _refused(lambda: read_wave_lists(wave, identifiers=IDS, lists=LISTS), "symbolic link")


def test_a_fifo_is_refused_at_once_never_read(wave: Path) -> None:
    (wave / "officer_survey.csv").unlink()
    os.mkfifo(wave / "officer_survey.csv")
    _refused(lambda: check_input_file(wave / "officer_survey.csv", wave), "a named pipe (FIFO)")
    # the readers open it without blocking: a run that read it would wait for a writer for ever
    code = ("import sys\nfrom assets.ingest.readers import read_export\nfrom pipelines.errors import InputError\n"
            f"try:\n    read_export({str(wave / 'officer_survey.csv')!r})\nexcept InputError as e:\n"
            "    print(e); sys.exit(3)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3 and "named pipe (FIFO)" in proc.stdout, proc.stdout + proc.stderr


def test_a_device_is_refused(wave: Path) -> None:
    path = wave / "survivor_interviews.csv"
    path.unlink()
    try:
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # what /dev/zero is
    except PermissionError:
        pytest.skip("making a device node needs root; the link to /dev/zero below is refused as a link")
    _refused(lambda: check_input_file(path, wave), "a device")
    _refused(lambda: open_regular(path), "a device")


def test_a_file_outside_the_wave_folder_is_refused(wave: Path, secret_file: Path) -> None:
    _refused(lambda: check_input_file(secret_file, wave), "not inside the wave folder")
    (wave.parent / "SYNTHETIC.json").write_text('{"synthetic": true}')
    _refused(lambda: check_input_file(wave / ".." / "2015" / ".." / "SYNTHETIC.json", wave), "not inside")


def test_a_folder_named_like_an_export_is_refused(wave: Path) -> None:
    (wave / "provider_inventory.csv").unlink()
    (wave / "provider_inventory.csv").mkdir()
    _refused(lambda: find_exports(wave.parent.parent, "2015"), "provider_inventory.csv", "a folder")


# --------------------------------------------------------------------------- limits, before parsing


def test_300000_columns_are_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "officer_survey.csv"
    header = ",".join(f"q{i}" for i in range(300_000)).encode()
    path.write_bytes(header + b"\n" + b"\x00\xff" * 1000)  # the rest is not even text: never parsed
    assert path.stat().st_size > 2_000_000
    _refused(lambda: check_input_file(path, tmp_path), "more than 5000 columns (input_limits.max_columns)")


def test_rows_cells_and_size_limits(tmp_path: Path) -> None:
    path = tmp_path / "officer_survey.csv"
    path.write_text("a,b,c,d\n" + "1,2,3,4\n" * 2000, encoding="utf-8")
    assert check_input_file(path, tmp_path).container == "text"
    _refused(lambda: check_input_file(path, tmp_path, InputLimits(max_rows=1000)),
             "2001 lines, more than the 1000 rows allowed (input_limits.max_rows)")
    _refused(lambda: check_input_file(path, tmp_path, InputLimits(max_cells=5000)),
             "more than the 5000 allowed (input_limits.max_cells)")
    _refused(lambda: check_input_file(path, tmp_path, InputLimits(max_file_mb=0.01)),
             "more than the 0.01 MB allowed (input_limits.max_file_mb)")
    _refused(lambda: check_input_file(path, tmp_path, InputLimits(max_columns=3)), "input_limits.max_columns")


def test_the_limits_are_the_configs(wave: Path, tmp_path: Path) -> None:
    limits = InputLimits(max_rows=50)  # the demo export has 184 lines
    _refused(lambda: find_exports(wave.parent.parent, "2015", limits), "officer_survey.csv", "input_limits.max_rows")


def _bomb(path: Path, sheet_bytes: int, dimension: str = "A1:C3") -> None:
    """An XLSX whose first sheet's XML unpacks to ``sheet_bytes`` of one repeated cell."""
    cell = b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"/>')
        z.writestr("xl/workbook.xml", '<workbook xmlns:r="r"><sheets><sheet name="S" sheetId="1" r:id="rId1"/>'
                   '</sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<Relationships><Relationship Id="rId1" '
                   'Target="worksheets/sheet1.xml"/></Relationships>')
        with z.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(f'<worksheet><dimension ref="{dimension}"/><sheetData>'.encode())
            block = cell * (1 << 14)
            written = 0
            while written < sheet_bytes:
                sheet.write(block)
                written += len(block)
            sheet.write(b"</sheetData></worksheet>")


def test_a_zip_bomb_workbook_is_refused_by_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "officer_survey.xlsx"
    _bomb(path, 260 * 2**20)  # the attack: about 1 MB holding 260 MB of sheet XML
    assert path.stat().st_size < 3 * 2**20
    message = _refused(lambda: check_input_file(path, tmp_path), "officer_survey.xlsx", "the workbook unpacks to 26",
                       "more than the 200 MB allowed (input_limits.max_xlsx_uncompressed_mb)")
    assert "MB" in message
    small = tmp_path / "provider_inventory.xlsx"
    _bomb(small, 20 * 2**20)  # within the size limit, but 20 MB from a few kilobytes: the ratio
    _refused(lambda: check_input_file(small, tmp_path), "input_limits.max_xlsx_compression_ratio")


def test_a_sheet_declaring_a_huge_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "officer_survey.xlsx"
    lenient = InputLimits(max_xlsx_compression_ratio=10_000)  # the sheet's few cells pack tightly: not the point
    _bomb(path, 10_000, dimension="A1:XFD1048576")
    _refused(lambda: check_input_file(path, tmp_path, lenient), "declares 16384 columns", "input_limits.max_columns")
    _bomb(path, 10_000, dimension="A1:C9000000")
    _refused(lambda: check_input_file(path, tmp_path, lenient), "declares 9000000 rows", "input_limits.max_rows")
    _bomb(path, 10_000, dimension="A1:GR4000000")  # 200 columns, 4 million rows
    _refused(lambda: check_input_file(path, tmp_path, lenient), "declares 800000000 cells", "input_limits.max_cells")
    _bomb(path, 10_000, dimension="A1:C3")
    assert check_input_file(path, tmp_path, lenient).container == "xlsx"
    real = FIXTURES / "formats" / "surveymonkey_xlsx.xlsx"
    if real.exists():  # an ordinary workbook passes
        shutil.copy(real, tmp_path / "ok.xlsx")
        assert check_input_file(tmp_path / "ok.xlsx", tmp_path).container == "xlsx"


def test_an_spss_file_declaring_too_many_cases_is_refused(tmp_path: Path) -> None:
    source = FIXTURES / "formats" / "spss.sav"
    data = bytearray(source.read_bytes())
    order = "<" if struct.unpack_from("<i", data, 64)[0] in (2, 3) else ">"
    struct.pack_into(order + "i", data, 80, 50_000_000)
    path = tmp_path / "officer_survey.sav"
    path.write_bytes(bytes(data))
    _refused(lambda: check_input_file(path, tmp_path), "declares 50000000 cases", "input_limits.max_rows")
    shutil.copy(source, tmp_path / "ok.sav")
    assert check_input_file(tmp_path / "ok.sav", tmp_path).container == "sav"


def test_utf32_text_gets_its_own_message(tmp_path: Path) -> None:
    text = (DEMO / "stakeholder_interviews.csv").read_text(encoding="utf-8")
    for codec in ("utf-32", "utf-32-le", "utf-32-be"):  # with and without the byte-order mark
        path = tmp_path / f"{codec}.csv"
        path.write_bytes(text.encode(codec))
        _refused(lambda: check_input_file(path, tmp_path), "UTF-32 encoded text")
    path = tmp_path / "utf16.csv"
    path.write_bytes(text.encode("utf-16"))  # UTF-16 (Qualtrics' TSV) is an ordinary export
    assert check_input_file(path, tmp_path).columns == text.splitlines()[0].count(",") + 1


def test_htna_validate_checks_before_it_parses(tmp_path: Path) -> None:
    path = tmp_path / "officer_survey.xlsx"
    _bomb(path, 260 * 2**20)
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "validate", str(path), "--json"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "max_xlsx_uncompressed_mb" in proc.stdout, proc.stdout + proc.stderr
