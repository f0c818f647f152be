"""The prevalence assets materialised for a wave into a temporary warehouse: the demo estimate
against its known truth, empty tables for a wave without case lists, a clean failure for real
case lists without the linkage secret, and a canary check that no identifier reaches DuckDB, the
Dagster event log or the logs."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from assets.prevalence.assets import case_list_overlap, prevalence_estimate, prevalence_sensitivity
from assets.prevalence.demo import DEMO_LISTS, FIRST_NAMES, LAST_NAMES, generate_case_lists
from assets.prevalence.linkage import linkage_key, normalise_text
from assets.prevalence.tables import case_list_overlap_table, prevalence_estimate_table
from pipelines import warehouse
from pipelines.config import REPO_ROOT
from pipelines.resources import AssessmentSettings, WarehouseIOManager
from tests.conftest import wave_instance

ASSETS = [case_list_overlap, prevalence_estimate, prevalence_sensitivity]
BUNDLED = REPO_ROOT / "data" / "demo" / "incoming"


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Maine config with fewer bootstrap replicates (the assets' work is the same)."""
    folder = tmp_path_factory.mktemp("config") / "maine"
    shutil.copytree(REPO_ROOT / "config" / "maine", folder)
    path = folder / "assessment.yaml"
    text = path.read_text()
    assert "bootstrap_replicates: 1000" in text
    path.write_text(text.replace("bootstrap_replicates: 1000", "bootstrap_replicates: 100"))
    return path


def _materialize(root: Path, config: Path, wave: str = "2015", instance: dg.DagsterInstance | None = None,
                 **kwargs) -> tuple[dg.ExecuteInProcessResult, AssessmentSettings]:
    settings = AssessmentSettings(config_path=str(config), data_dir=str(root / "data"),
                                  warehouse=str(root / "htna.duckdb"), output_dir=str(root / "site"))
    result = dg.materialize(ASSETS, partition_key=wave, instance=instance or wave_instance(),
                            resources={"settings": settings, "io_manager": WarehouseIOManager(settings=settings)},
                            **kwargs)
    return result, settings


# ----------------------------------------------------------------------------- demo data


def test_demo_lists_are_plausible_and_obviously_synthetic() -> None:
    frame, manifest = generate_case_lists("2015", 2015)
    again, _ = generate_case_lists("2015", 2015)
    pd.testing.assert_frame_equal(frame, again)  # deterministic
    assert 200 <= manifest["prevalence_truth"] <= 350
    assert set(frame["list"]) == set(DEMO_LISTS)
    assert set(frame["age_group"]) == {"adult", "minor"}
    assert (frame.loc[frame["list"] == "child_welfare", "age_group"] == "minor").all()
    fake_first = {normalise_text(n) for n in FIRST_NAMES}
    fake_last = {normalise_text(n) for n in LAST_NAMES}
    assert frame["first_name"].map(normalise_text).isin(fake_first).all()
    assert frame["last_name"].map(normalise_text).isin(fake_last).all()


@pytest.mark.parametrize("wave", ["2015", "2016", "2017"])
def test_bundled_demo_estimate_covers_the_manifest_truth(assessment, wave: str) -> None:
    manifest = json.loads((BUNDLED / wave / "SYNTHETIC.json").read_text())
    truth = manifest["prevalence_truth"]
    assert "case_lists.csv" in manifest["files"]
    overlap = case_list_overlap_table(REPO_ROOT / "data" / "demo", wave, assessment)
    pooled = overlap.table[overlap.table["stratum"] == "all"]
    per_list = {n: int((pooled[n] * pooled["count"]).sum()) for n in DEMO_LISTS}
    if wave == "2015":  # near the list sizes the 2015 assessment cites (Polaris 11, MECASA 48)
        assert 8 <= per_list["hotline"] <= 16 and 38 <= per_list["advocates"] <= 60
    assert overlap.metadata["within_list_duplicates"] > 0  # the linkage deduplicated them
    est = prevalence_estimate_table(overlap.table, assessment, wave).table
    head = est[est["stratum"] == "all"].iloc[0]
    assert head["exists"] and head["identifiable"]
    assert head["observed"] < truth
    assert head["ci_low"] <= truth <= head["ci_high"], (wave, truth, head.to_dict())
    assert json.loads(head["cases_per_list"]) == per_list


# ----------------------------------------------------------------------------- assets


def _messages(instance: dg.DagsterInstance, run_id: str) -> str:
    return "\n".join(entry.user_message for entry in instance.all_logs(run_id))


def test_assets_materialise_a_synthetic_wave(tmp_path: Path, quick_config: Path) -> None:
    shutil.copytree(BUNDLED / "2015", tmp_path / "data" / "incoming" / "2015")
    instance = wave_instance()
    result, settings = _materialize(tmp_path, quick_config, instance=instance)
    assert result.success
    wh = settings.warehouse_path()
    assert set(warehouse.list_tables(wh)) >= {"case_list_overlap", "prevalence_estimate",
                                              "prevalence_sensitivity"}
    overlap = warehouse.read_wave(wh, "case_list_overlap", "2015")
    pooled = overlap[overlap["stratum"] == "all"]
    assert len(pooled) == 2**5 - 1  # every combination, zeros kept
    assert set(overlap["stratum"]) == {"all", "adult", "minor"}
    assert (pooled["count"] == 0).any() and not pooled["publishable"].all()
    est = warehouse.read_wave(wh, "prevalence_estimate", "2015")
    assert est["stratum"].tolist() == ["all", "adult", "minor"]
    head = est.iloc[0]
    assert head["observed"] == pooled["count"].sum()
    assert head["ci_low"] < head["estimate"] < head["ci_high"]
    assert head["boot_low"] < head["estimate"] < head["boot_high"] and head["boot_replicates"] == 100
    assert head["interval"] == "lognormal" and head["criterion"] == "pvalue"
    assert "child_welfare" in est.iloc[1]["message"]  # no adult on the child welfare list: left out
    assert len(json.loads(head["caveats"])) >= 3
    sens = warehouse.read_wave(wh, "prevalence_sensitivity", "2015")
    assert {"stepwise BIC", "independence (main effects only)"} <= set(sens["scenario"])
    assert any(s.startswith("stepwise AIC") for s in sens["scenario"])
    assert sum(s.startswith("without list") for s in sens["scenario"]) == 5
    assert (sens["wave"] == "2015").all()
    assert "public DEMO linkage key" in _messages(instance, result.run_id)


def test_wave_without_case_lists_gives_empty_tables(tmp_path: Path, quick_config: Path) -> None:
    folder = tmp_path / "data" / "incoming" / "2016"
    folder.mkdir(parents=True)
    instance = wave_instance()
    result, settings = _materialize(tmp_path, quick_config, "2016", instance=instance)
    assert result.success
    for table in ("case_list_overlap", "prevalence_estimate", "prevalence_sensitivity"):
        frame = warehouse.read_wave(settings.warehouse_path(), table, "2016")
        assert len(frame) == 0 and "wave" in frame.columns
    assert "no case lists" in _messages(instance, result.run_id)


def test_real_case_lists_without_the_secret_fail_cleanly(tmp_path: Path, quick_config: Path, monkeypatch) -> None:
    monkeypatch.delenv("HTNA_LINKAGE_SECRET", raising=False)
    folder = tmp_path / "data" / "incoming" / "2015"
    folder.mkdir(parents=True)
    shutil.copy(BUNDLED / "2015" / "case_lists.csv", folder / "case_lists.csv")  # no SYNTHETIC.json
    result, _ = _materialize(tmp_path, quick_config, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    text = failure.step_failure_data.user_failure_data.description
    assert "HTNA_LINKAGE_SECRET is not set" in text and "case_lists.csv" in text


# ----------------------------------------------------------------------------- canary

CANARY = [
    # (first, last, date of birth as written) — nothing like these may be stored anywhere
    ("Quillonia", "Zwartbergh-Canary", "1987-06-05"),
    ("Vexmundo", "Oxtrowbridge", "11/23/1979"),
    ("Yseultra", "Plimquist", "1995-02-28"),
]


def _canary_strings(secret: bytes) -> list[str]:
    out = []
    for first, last, dob in CANARY:
        out += [first, last, first.casefold(), last.casefold(), normalise_text(last), dob, f"{first} {last}"]
        out.append(linkage_key({"first_name": first, "last_name": last, "date_of_birth": dob}, secret))
    out += ["1987-06-05", "1979-11-23", "1995-02-28"]  # the normalised dates too
    return out


def test_canary_identifiers_never_reach_duckdb_or_the_event_log(tmp_path: Path, quick_config: Path,
                                                                 monkeypatch, caplog, capfd) -> None:
    secret = "canary-test-secret-" + "7c1f9a04e83b2d56" * 3
    monkeypatch.setenv("HTNA_LINKAGE_SECRET", secret)
    folder = tmp_path / "data" / "incoming" / "2015"
    folder.mkdir(parents=True)
    frame, _ = generate_case_lists("2015", 7)
    planted = []
    for (first, last, dob), lists in zip(CANARY, [["hotline", "advocates"], ["law_enforcement"],
                                                   ["health", "advocates", "child_welfare"]], strict=True):
        planted += [{"list": name, "first_name": first, "last_name": last, "date_of_birth": dob,
                     "age_group": "adult" if name != "child_welfare" else "minor"} for name in lists]
    # (the third canary is on child welfare: give it one stratum on every list)
    for row in planted:
        if row["first_name"] == "Yseultra":
            row["age_group"] = "minor"
    pd.concat([frame, pd.DataFrame(planted)], ignore_index=True).to_csv(folder / "case_lists.csv", index=False)
    instance = wave_instance()
    result, settings = _materialize(tmp_path, quick_config, instance=instance)
    assert result.success

    needles = [s.casefold() for s in _canary_strings(secret.encode())]
    # 1. every text value of every table in the DuckDB file (and its raw bytes)
    db = settings.warehouse_path()
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        assert len(tables) >= 3
        for schema, name in tables:
            cells = con.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall()
            text = " ".join(str(v) for row in cells for v in row).casefold()
            text += " " + " ".join(d[0] for d in con.execute(
                f'SELECT * FROM "{schema}"."{name}" LIMIT 0').description).casefold()
            for needle in needles:
                assert needle not in text, (name, needle)
            assert not re.search(r"\b[0-9a-f]{64}\b", text), name  # no linkage keys either
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*")).lower()
    for needle in needles:
        assert needle.encode() not in raw, needle

    # 2. the Dagster event log (metadata, log messages) and the Python logs / console
    from dagster._serdes import serialize_value

    log_text = " ".join(serialize_value(entry) for entry in instance.all_logs(result.run_id)).casefold()
    log_text += caplog.text.casefold() + " ".join(capfd.readouterr()).casefold()
    assert "case_lists.csv" in log_text  # the log was captured at all
    for needle in needles:
        assert needle not in log_text, needle


def test_an_unreadable_date_fails_without_repeating_it(tmp_path: Path, quick_config: Path, monkeypatch) -> None:
    monkeypatch.setenv("HTNA_LINKAGE_SECRET", "canary-test-secret-" + "e0b94d17a2c68f35" * 3)
    folder = tmp_path / "data" / "incoming" / "2015"
    folder.mkdir(parents=True)
    pd.DataFrame([
        {"list": "hotline", "first_name": "Quillonia", "last_name": "Plimquist", "date_of_birth": "1990-01-01"},
        {"list": "advocates", "first_name": "Quillonia", "last_name": "Zwartbergh", "date_of_birth": "32/13/1987"},
    ]).to_csv(folder / "case_lists.csv", index=False)
    instance = wave_instance()
    result, _ = _materialize(tmp_path, quick_config, instance=instance, raise_on_error=False)
    assert not result.success
    from dagster._serdes import serialize_value

    log_text = " ".join(serialize_value(e) for e in instance.all_logs(result.run_id))
    assert "row 3" in log_text and "date_of_birth" in log_text
    for needle in ("Quillonia", "Zwartbergh", "Plimquist", "32/13/1987"):
        assert needle not in log_text
