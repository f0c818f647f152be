"""The trends asset compares a wave with the earlier waves already in the warehouse."""

from __future__ import annotations

import dagster as dg
import duckdb

from pipelines.config import REPO_ROOT
from pipelines.definitions import build_definitions
from pipelines.resources import AssessmentSettings
from tests.conftest import wave_instance


def test_trends_of_2016_compare_with_2015(tmp_path):
    settings = AssessmentSettings(config_path=str(REPO_ROOT / "config" / "maine" / "assessment.yaml"),
                                  data_dir=str(REPO_ROOT / "data" / "demo"), warehouse=str(tmp_path / "htna.duckdb"),
                                  output_dir=str(tmp_path / "site"))
    job = build_definitions(settings).resolve_job_def("assessment")
    instance = wave_instance()
    for wave in ("2015", "2016"):
        assert job.execute_in_process(partition_key=wave, instance=instance).success
    with duckdb.connect(str(tmp_path / "htna.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT wave, compared_with, count(*) FROM assessment.indicator_trends "
                           "GROUP BY ALL ORDER BY 1").fetchall()
        male = con.execute("SELECT change, ci_low, ci_high, direction FROM assessment.indicator_trends "
                           "WHERE indicator = 'male' AND domain = 'all' AND NOT weighted").fetchone()
    assert rows[0][:2] == ("2016", "2015") and rows[0][2] > 20
    assert all(r[0] != "2015" for r in rows)  # the first wave has nothing to compare with
    change, low, high, direction = male
    assert low < change < high and direction in {"up", "down", "no clear change"}
