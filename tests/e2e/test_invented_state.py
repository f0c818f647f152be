"""Any state from a folder: a config for an invented state (five counties of other names, other county
groups and headcounts, its own questionnaire wording, no figures published before, no map) runs end
to end on synthetic exports, and its site names neither Maine nor anything of Maine's."""

from __future__ import annotations

import zipfile

import duckdb

from pipelines.config import REPO_ROOT, load_assessment
from tests.conftest import run_cli
from tests.new_state import make_state_config

NORLAND = dict(
    name="Norland", abbreviation="NL", fips="91",
    counties=[("Brackenfell", "91001", 120000, 240), ("Ostervale", "91003", 45000, 90),
              ("Quillmoor", "91005", 30000, 60), ("Tamsin Ridge", "91007", 80000, 160),
              ("Wyckford", "91009", 25000, 50)],
    groups={"Harbour counties": ["Brackenfell", "Tamsin Ridge"],
            "Back country": ["Ostervale", "Quillmoor", "Wyckford"]},
)


def _maine_words() -> list[str]:
    maine = load_assessment(REPO_ROOT / "config" / "maine" / "assessment.yaml")
    return [maine.config.state.name, *maine.county_names, *(g.name for g in maine.config.county_groups)]


def test_an_invented_state_runs_end_to_end_and_its_site_names_nothing_of_maine(tmp_path):
    config = make_state_config(tmp_path / "norland", geometry=False, **NORLAND)
    data, wh, site = tmp_path / "data", tmp_path / "norland.duckdb", tmp_path / "site"
    dagster = tmp_path / "dagster"
    code, _, err = run_cli(["synth", "--config", str(config), "--wave", "2015",
                            "--out", str(data / "incoming" / "2015")], dagster)
    assert code == 0, err
    code, out, err = run_cli(["run", "--config", str(config), "--wave", "2015", "--data", str(data),
                              "--warehouse", str(wh), "--output", str(site)], dagster)
    assert code == 0, err + out
    with duckdb.connect(str(wh), read_only=True) as con:
        counties = con.execute("SELECT DISTINCT county FROM assessment.training_gap_by_county").df()["county"]
        labels = con.execute("SELECT DISTINCT measure_label FROM assessment.published_county_estimates").df()
    assert set(counties) == {c for c, *_ in NORLAND["counties"]}
    assert "Share of officers not familiar with Norland anti-trafficking organisations" in set(
        labels["measure_label"])
    pages = {p.name: p.read_text(encoding="utf-8") for p in (site / "2015").glob("*.html")}
    assert "index.html" in pages and "law-enforcement.html" in pages
    texts = dict(pages)
    texts["indicators.csv"] = (site / "2015" / "indicators.csv").read_text(encoding="utf-8")
    with zipfile.ZipFile(site / "2015" / "needs-assessment-tables.xlsx") as book:
        texts["needs-assessment-tables.xlsx"] = " ".join(
            book.read(n).decode("utf-8", "replace") for n in book.namelist() if n.endswith(".xml"))
    assert "Norland" in pages["index.html"] and "Tamsin Ridge" in texts["law-enforcement.html"]
    found = sorted({f"{name}: {w}" for name, text in texts.items() for w in _maine_words() if w in text})
    assert not found, found
