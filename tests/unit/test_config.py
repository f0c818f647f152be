"""The assessment configuration is data, validated on load with errors that name file and place."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from pipelines.config import REPO_ROOT, load_assessment
from pipelines.errors import ConfigError

MAINE = REPO_ROOT / "config" / "maine"


def copy_config(tmp_path: Path) -> Path:
    dest = tmp_path / "state"
    shutil.copytree(MAINE, dest)
    return dest


def edit(path: Path, fn) -> None:
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_maine_config_has_the_16_counties_and_their_2020_census_total(assessment):
    assert len(assessment.county_names) == 16
    assert len({c.fips for c in assessment.config.counties}) == 16
    # Maine's 2020 Census resident population
    assert sum(c.population_2020 for c in assessment.config.counties) == 1_362_359
    assert assessment.county_group_of["York"] == "Cumberland and York"
    assert assessment.county_group_of["Aroostook"] == "All other counties"
    assert assessment.min_cell_count == 6
    assert assessment.config.officer_headcounts.status == "illustrative"


def test_relative_paths_resolve_against_the_config_folder(assessment):
    assert assessment.data_dir == (REPO_ROOT / "data" / "demo").resolve()
    assert assessment.warehouse.suffix == ".duckdb"


def test_malformed_yaml_names_file_and_line(tmp_path):
    cfg = copy_config(tmp_path)
    (cfg / "assessment.yaml").write_text("state:\n  name: Maine\n  abbreviation: [ME\n")
    with pytest.raises(ConfigError) as err:
        load_assessment(cfg / "assessment.yaml")
    assert "assessment.yaml" in str(err.value) and "line" in str(err.value)


def test_county_in_no_group_and_missing_headcount_are_reported_together(tmp_path):
    cfg = copy_config(tmp_path)

    def break_it(d):
        d["county_groups"][1]["counties"].remove("Waldo")
        del d["officer_headcounts"]["by_county"]["Knox"]

    edit(cfg / "assessment.yaml", break_it)
    with pytest.raises(ConfigError) as err:
        load_assessment(cfg / "assessment.yaml")
    msg = str(err.value)
    assert "counties in no group: Waldo" in msg
    assert "lacks: Knox" in msg


def test_bad_fips_and_minimum_cell_are_rejected_with_their_location(tmp_path):
    cfg = copy_config(tmp_path)

    def break_it(d):
        d["counties"][2]["fips"] = "2305"
        d["disclosure"]["min_cell_count"] = 0

    edit(cfg / "assessment.yaml", break_it)
    with pytest.raises(ConfigError) as err:
        load_assessment(cfg / "assessment.yaml")
    assert "counties.2.fips" in str(err.value)
    assert "disclosure.min_cell_count" in str(err.value)


def test_indicator_naming_an_answer_the_codebook_lacks_is_reported(tmp_path):
    cfg = copy_config(tmp_path)
    edit(cfg / "indicators.yaml", lambda d: d["indicators"][0].update(success=["Mail"]))
    with pytest.raises(ConfigError) as err:
        load_assessment(cfg / "assessment.yaml")
    assert "indicator male" in str(err.value) and "Mail" in str(err.value)


def test_codebook_unknown_scale_is_reported(tmp_path):
    cfg = copy_config(tmp_path)
    edit(cfg / "officer_codebook.yaml", lambda d: d["variables"][6].update(scale="agree7"))
    with pytest.raises(ConfigError) as err:
        load_assessment(cfg / "assessment.yaml")
    assert "officer_codebook.yaml" in str(err.value) and "agree7" in str(err.value)


def test_another_state_is_another_config_file_not_code(tmp_path):
    cfg = copy_config(tmp_path)

    def vermont(d):
        d["state"] = {"name": "Vermont", "abbreviation": "VT", "fips": "50"}
        d["counties"] = [{"name": "Chittenden", "fips": "50007", "population_2020": 168323},
                         {"name": "Rutland", "fips": "50021", "population_2020": 60572}]
        d["county_groups"] = [{"name": "Chittenden", "counties": ["Chittenden"]},
                              {"name": "Rest of state", "counties": ["Rutland"]}]
        d["officer_headcounts"]["by_county"] = {"Chittenden": 300, "Rutland": 110}
        d.get("small_area", {}).pop("covariates", None)  # Maine's county covariates file is Maine's

    edit(cfg / "assessment.yaml", vermont)
    edit(cfg / "indicators.yaml", lambda d: d["indicators"].__setitem__(
        2, {**d["indicators"][2], "published": {}}))
    a = load_assessment(cfg / "assessment.yaml")
    assert a.config.state.name == "Vermont"
    assert a.county_group_of == {"Chittenden": "Chittenden", "Rutland": "Rest of state"}


def test_missing_config_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_assessment(tmp_path / "nope.yaml")


def test_published_context_is_validated_with_its_file_named(tmp_path):
    """The 2015 assessment's published figures are config data: a case count on an unknown list, or a
    prevalence range out of order, is reported with the file and the fix."""
    config = tmp_path / "maine"
    shutil.copytree(REPO_ROOT / "config" / "maine", config)
    ctx = config / "published_2015.yaml"
    good = ctx.read_text(encoding="utf-8")
    ctx.write_text(good.replace("{list: hotline,", "{list: polaris,"), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_assessment(config / "assessment.yaml")
    assert "published_2015.yaml" in str(err.value) and "polaris" in str(err.value)
    assert "prevalence.lists" in str(err.value)
    ctx.write_text(good.replace("range_low: 79", "range_low: 250"), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_assessment(config / "assessment.yaml")
    assert "published_2015.yaml" in str(err.value) and "range_low" in str(err.value)
    ctx.write_text(good, encoding="utf-8")
    loaded = load_assessment(config / "assessment.yaml").context
    assert loaded.prevalence.likely_low <= loaded.prevalence.likely_high
    assert {c.list for c in loaded.case_counts} <= {li.name for li in load_assessment(
        config / "assessment.yaml").config.prevalence.lists}


def test_a_load_is_reused_until_a_file_it_read_or_looked_for_changes(tmp_path):
    """Each run step loads the config: the load is kept while its files are the same, and an edit (even one
    that keeps the file's size and lands within the same clock tick) is read at the next load."""
    config = copy_config(tmp_path) / "assessment.yaml"
    first = load_assessment(config)
    assert load_assessment(config) is first  # nothing changed: the same load
    indicators = config.parent / "indicators.yaml"
    text = indicators.read_text(encoding="utf-8")
    assert "label: Officers who are male\n" in text
    indicators.write_text(text.replace("label: Officers who are male\n", "label: Officers who are MALE\n"),
                          encoding="utf-8")  # the same size
    second = load_assessment(config)
    assert second is not first
    assert "Officers who are MALE" in [i.label for i in second.indicators.indicators]
    assert load_assessment(config) is second
    geometry = config.parent / second.config.report.county_geometry
    geometry.rename(geometry.with_suffix(".moved"))  # a file the load only looked for is gone
    with pytest.raises(ConfigError, match="county_geometry"):
        load_assessment(config)
    geometry.with_suffix(".moved").rename(geometry)
    assert load_assessment(config) is second  # every file as it was when it was loaded


def test_report_templates_name_a_folder_of_page_templates(tmp_path):
    path = copy_config(tmp_path) / "assessment.yaml"
    assert load_assessment(path).report_templates == REPO_ROOT / "reports" / "templates"  # the default
    shutil.copytree(REPO_ROOT / "reports" / "templates", tmp_path / "pages")
    edit(path, lambda d: d["report"].update(templates="../pages"))
    assert load_assessment(path).report_templates == (tmp_path / "pages").resolve()
    edit(path, lambda d: d["report"].update(templates="../nowhere"))
    with pytest.raises(ConfigError, match="report.templates"):
        load_assessment(path)
    edit(path, lambda d: d["report"].update(templates=3))
    with pytest.raises(ConfigError, match="report.templates"):
        load_assessment(path)
