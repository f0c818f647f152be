"""Reading a wave's case lists: overlap files, case-level records keyed under the secret, the demo
key for synthetic folders only, and error messages that never repeat an identifier."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from assets.prevalence.demo import DEMO_LINKAGE_SECRET, generate_case_lists
from assets.prevalence.inputs import (
    linkage_secret_for,
    read_case_lists,
    read_overlap_file,
    read_wave_lists,
)
from pipelines.errors import InputError

SECRET = b"test-secret-0123456789abcdef-0123456789abcdef"
LISTS = [("hotline", "National Human Trafficking Hotline (Polaris)"),
         ("advocates", "Sexual assault support centers (MECASA)"),
         ("law_enforcement", "Law enforcement")]
IDS = ["first_name", "last_name", "date_of_birth"]


def _write(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_case_lists_link_across_spellings_and_deduplicate(tmp_path: Path) -> None:
    f = _write(tmp_path / "case_lists.csv", [
        {"list": "hotline", "first_name": "Synthia", "last_name": "Notreal", "date_of_birth": "03/14/1999"},
        {"list": "advocates", "first_name": " SYNTHIA ", "last_name": "NOTREAL", "date_of_birth": "1999-03-14"},
        {"list": "Advocates", "first_name": "synthia", "last_name": "Not-Real", "date_of_birth": "14 Mar 1999"},
        {"list": "Law enforcement", "first_name": "Zoë", "last_name": "Fakerson", "date_of_birth": "2001-01-02"},
        {"list": "hotline", "first_name": "Zoe", "last_name": "FAKERSON", "date_of_birth": "01/02/2001"},
        {"list": "hotline", "first_name": "Zoe", "last_name": "Fakerson", "date_of_birth": "2001-01-03"},
    ])
    table, summary = read_case_lists(f, SECRET, identifiers=IDS, lists=LISTS)
    assert list(table.columns) == ["hotline", "advocates", "law_enforcement", "count"]
    assert summary.rows == 6 and summary.cases == 3 and summary.within_list_duplicates == 1
    counts = {tuple(r[:3]): r[3] for r in table.itertuples(index=False)}
    assert counts[(1, 1, 0)] == 1  # Synthia on hotline and advocates (three spellings, one case)
    assert counts[(1, 0, 1)] == 1  # Zoë on hotline and law enforcement
    assert counts[(1, 0, 0)] == 1  # a different date of birth is a different person
    assert table["count"].sum() == 3


def test_stratum_and_unused_columns(tmp_path: Path) -> None:
    f = _write(tmp_path / "case_lists.csv", [
        {"list": "hotline", "first_name": "A", "last_name": "Notreal", "date_of_birth": "2000-01-01",
         "age_group": "minor", "street": "1 Fake St"},
        {"list": "advocates", "first_name": "A", "last_name": "Notreal", "date_of_birth": "2000-01-01",
         "age_group": "minor", "street": "1 Fake St"},
        {"list": "advocates", "first_name": "B", "last_name": "Notreal", "date_of_birth": "1980-01-01",
         "age_group": "adult", "street": ""},
    ])
    table, summary = read_case_lists(f, SECRET, identifiers=IDS, lists=LISTS, stratum="age_group")
    assert summary.dropped_columns == ["street"]
    assert "stratum" in table.columns and set(table["stratum"]) == {"minor", "adult"}
    assert "law_enforcement" not in table.columns  # a configured list with no records is left out
    assert "street" not in table.columns


def test_bad_dates_and_lists_name_row_and_column_but_not_the_value(tmp_path: Path) -> None:
    f = _write(tmp_path / "case_lists.csv", [
        {"list": "hotline", "first_name": "Synthia", "last_name": "Notreal", "date_of_birth": "1999-03-14"},
        {"list": "hotline", "first_name": "Identifiable", "last_name": "Person", "date_of_birth": "31/31/1999"},
    ])
    with pytest.raises(InputError) as exc:
        read_case_lists(f, SECRET, identifiers=IDS, lists=LISTS)
    msg = str(exc.value)
    assert "row 3" in msg and "'date_of_birth'" in msg
    assert "31/31/1999" not in msg and "Identifiable" not in msg and "Person" not in msg
    assert exc.value.__cause__ is None and exc.value.__context__ is None  # nothing chained either

    f = _write(tmp_path / "case_lists.csv", [
        {"list": "shelter", "first_name": "Synthia", "last_name": "Notreal", "date_of_birth": "1999-03-14"}])
    with pytest.raises(InputError, match=r"row 2, column 'list'.*list name is not one of prevalence.lists") as exc:
        read_case_lists(f, SECRET, identifiers=IDS, lists=LISTS)
    assert "shelter" not in str(exc.value)  # the cell's shape, never its value

    f = _write(tmp_path / "case_lists.csv", [{"list": "hotline", "first_name": "Synthia"}])
    with pytest.raises(InputError, match="identifier column.*last_name"):
        read_case_lists(f, SECRET, identifiers=IDS, lists=LISTS)


def test_secret_from_environment_demo_key_only_for_synthetic_folders(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("HTNA_LINKAGE_SECRET", raising=False)
    real = tmp_path / "real"
    real.mkdir()
    with pytest.raises(InputError, match="HTNA_LINKAGE_SECRET is not set"):
        linkage_secret_for(real)
    # an unreadable or non-committal manifest is not enough for the demo key
    (real / "SYNTHETIC.json").write_text("{not json")
    with pytest.raises(InputError, match="HTNA_LINKAGE_SECRET"):
        linkage_secret_for(real)
    (real / "SYNTHETIC.json").write_text(json.dumps({"synthetic": "yes"}))
    with pytest.raises(InputError, match="HTNA_LINKAGE_SECRET"):
        linkage_secret_for(real)

    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / "SYNTHETIC.json").write_text(json.dumps({"synthetic": True}))
    s = linkage_secret_for(demo)
    assert s.source == "demo" and s.key == DEMO_LINKAGE_SECRET

    monkeypatch.setenv("HTNA_LINKAGE_SECRET", "x" * 40)
    assert linkage_secret_for(demo).source == "environment"  # any 32 bytes key a synthetic wave
    with pytest.raises(InputError, match="not random"):  # but not real case lists
        linkage_secret_for(real)
    strong = "9f2c1e7a5b3d48c6a0e1f7d2b9c4e8a13d5f7b9e2c4a6f8d0b1e3c5a7f9d2e4b"
    monkeypatch.setenv("HTNA_LINKAGE_SECRET", strong)
    assert linkage_secret_for(real).key == strong.encode()
    monkeypatch.setenv("HTNA_LINKAGE_SECRET", "short")
    with pytest.raises(InputError, match="too short"):
        linkage_secret_for(real)


def test_overlap_file_matches_configured_lists_by_name_or_label(tmp_path: Path) -> None:
    f = tmp_path / "case_lists_overlap.csv"
    f.write_text("Hotline,Sexual assault support centers (MECASA),count\n1,0,3\n0,1,7\n1,1,2\n")
    table = read_overlap_file(f, lists=LISTS)
    assert list(table.columns) == ["hotline", "advocates", "count"]
    assert table["count"].tolist() == [3, 7, 2]
    f.write_text("hotline,shelter,count\n1,0,3\n0,1,7\n")
    with pytest.raises(InputError, match="row 1, column 'shelter'"):
        read_overlap_file(f, lists=LISTS)


def test_overlap_file_with_strata(tmp_path: Path) -> None:
    f = tmp_path / "case_lists_overlap.csv"
    f.write_text("age_group,hotline,advocates,count\nminor,1,0,3\nminor,0,1,7\nadult,1,1,2\n")
    table = read_overlap_file(f, lists=LISTS, stratum="age_group")
    assert set(table["stratum"]) == {"minor", "adult"}
    assert len(table) == 6 and table["count"].sum() == 12
    f.write_text("age_group,hotline,advocates,count\nminor,1,0,3\nall,0,1,7\n")
    with pytest.raises(InputError, match="row 3, column 'age_group'.*reserved"):
        read_overlap_file(f, lists=LISTS, stratum="age_group")


def test_wave_folder_choices(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("HTNA_LINKAGE_SECRET", raising=False)
    empty = read_wave_lists(tmp_path, identifiers=IDS, lists=LISTS)
    assert empty.table is None and "no case lists" in empty.notes[0]
    frame, _ = generate_case_lists("2015", 2015)
    frame.to_csv(tmp_path / "case_lists.csv", index=False)
    with pytest.raises(InputError, match="HTNA_LINKAGE_SECRET"):  # no manifest: real data
        read_wave_lists(tmp_path, identifiers=IDS, lists=LISTS)
    (tmp_path / "case_lists_overlap.csv").write_text("hotline,advocates,count\n1,0,3\n0,1,7\n1,1,2\n")
    both = read_wave_lists(tmp_path, identifiers=IDS, lists=LISTS)  # the aggregated table wins
    assert both.source == "case_lists_overlap.csv" and "using case_lists_overlap.csv" in both.notes[0]
