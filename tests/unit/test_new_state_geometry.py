"""`htna geometry --config NEW/assessment.yaml` writes the county boundaries a new state's config names
even though that file does not exist yet (loading the config for anything else still needs it)."""

from __future__ import annotations

import json

import pytest

from assets.models.specs import outcomes_of
from pipelines.config import load_assessment
from pipelines.errors import ConfigError
from tests.conftest import run_cli
from tests.new_state import NEW_HAMPSHIRE, make_state_config


def test_geometry_is_written_for_a_new_state_whose_geometry_file_does_not_exist_yet(tmp_path):
    config = make_state_config(tmp_path / "new-hampshire", **NEW_HAMPSHIRE)
    target = config.parent / "counties.geojson"
    assert not target.exists()
    with pytest.raises(ConfigError) as err:  # a run needs the file, and says how to make it
        load_assessment(config)
    assert "report.county_geometry" in str(err.value) and f"htna geometry --config {config}" in str(err.value)

    code, out, err_text = run_cli(["geometry", "--config", str(config)], tmp_path / "dagster")
    assert code == 0, err_text
    assert f"10 counties written to {target}" in out
    written = json.loads(target.read_text(encoding="utf-8"))
    assert sorted(f["id"] for f in written["features"]) == sorted(f for _, f, _, _ in NEW_HAMPSHIRE["counties"])
    assessment = load_assessment(config)  # now complete
    assert assessment.config.state.name == "New Hampshire"
    assert "Share of officers not familiar with New Hampshire anti-trafficking organisations" in {
        o.gap_label for o in outcomes_of(assessment)}
