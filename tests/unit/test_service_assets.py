"""The service-inventory assets in Dagster: a wave with an inventory, and an older wave without one."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb

from assets.estimates import assets as estimates
from assets.estimates.services import COVERAGE_COLUMNS, GAP_COLUMNS
from assets.ingest import assets as ingest
from assets.ingest.service_inventory import PROVIDER_COLUMNS
from pipelines.config import DEFAULT_CONFIG, REPO_ROOT
from pipelines.resources import AssessmentSettings, WarehouseIOManager
from tests.conftest import wave_instance

ASSETS = [ingest.survey_exports, ingest.service_providers, estimates.service_coverage_by_county,
          estimates.counties_without_after_hours]


def test_service_assets_with_and_without_an_inventory(tmp_path):
    data = tmp_path / "data" / "incoming"
    for wave in ("2015", "2016"):
        shutil.copytree(REPO_ROOT / "data" / "demo" / "incoming" / wave, data / wave)
    (data / "2016" / "provider_inventory.csv").unlink()  # a wave from before the inventory existed
    settings = AssessmentSettings(config_path=str(DEFAULT_CONFIG), data_dir=str(tmp_path / "data"),
                                  warehouse=str(tmp_path / "htna.duckdb"), output_dir=str(tmp_path / "site"))
    for wave in ("2015", "2016"):
        result = dg.materialize(ASSETS, partition_key=wave, instance=wave_instance(), resources={
            "settings": settings, "io_manager": WarehouseIOManager(settings=settings)})
        assert result.success
    with duckdb.connect(str(tmp_path / "htna.duckdb"), read_only=True) as con:
        def rows(table, wave):
            return con.execute(f"SELECT count(*) FROM assessment.{table} WHERE wave = ?", [wave]).fetchone()[0]

        def columns(table):
            return [r[0] for r in con.execute(f"DESCRIBE assessment.{table}").fetchall()]

        exports = con.execute("SELECT dataset, rows, sha256 FROM assessment.survey_exports WHERE wave = '2015'"
                              ).df().set_index("dataset")
        read = int(exports.loc["provider_inventory", "rows"])
        assert len(exports.loc["provider_inventory", "sha256"]) == 64
        assert read == rows("service_providers", "2015") + rows("service_providers_quarantine", "2015")
        assert rows("service_coverage_by_county", "2015") == 128
        assert 0 < rows("counties_without_after_hours", "2015") < 16
        assert con.execute("SELECT count(*) FROM assessment.survey_exports WHERE wave = '2016' AND "
                           "dataset = 'provider_inventory'").fetchone()[0] == 0
        for table in ("service_providers", "service_providers_quarantine", "service_coverage_by_county",
                      "counties_without_after_hours"):
            assert rows(table, "2016") == 0, table
        assert columns("service_providers") == list(PROVIDER_COLUMNS)
        assert columns("service_coverage_by_county") == list(COVERAGE_COLUMNS)
        assert columns("counties_without_after_hours") == list(GAP_COLUMNS)
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE "
                                 "table_name = 'service_coverage_by_county'").fetchall())
        assert types["providers"] == "BIGINT" and types["covered"] == "BOOLEAN"
