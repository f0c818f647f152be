"""The services section (service types and hours of the provider inventory) is validated on load."""

from __future__ import annotations

import pytest

from pipelines.config import load_assessment, name_key
from pipelines.errors import ConfigError
from tests.unit.test_config import copy_config, edit


def test_maine_services_are_the_eight_types_and_three_hours(assessment):
    s = assessment.config.services
    assert [t.id for t in s.types] == ["emergency_response", "basic_needs", "shelter_housing", "medical", "legal",
                                       "mental_health", "substance_use", "mentorship"]
    hours = {h.id: (h.after_hours, h.round_the_clock) for h in s.hours}
    assert hours == {"24_7": (True, True), "after_hours": (True, False), "business_hours": (False, False)}
    assert s.after_hours.required == ["emergency_response"] and s.after_hours.count_statewide is False


def test_name_key_ignores_case_spaces_and_punctuation():
    assert name_key("24/7") == name_key(" 24-7 ") == "247"
    assert name_key("Shelter/Housing") == name_key("shelter housing") == name_key("SHELTER-HOUSING")
    assert name_key("Après-hours") == "apreshours"


def test_services_section_is_optional(tmp_path):
    cfg = copy_config(tmp_path)
    def drop(d):
        d.pop("services")
        (d.get("report") or {}).pop("recommendations", None)  # they may name service types

    edit(cfg / "assessment.yaml", drop)
    assert load_assessment(cfg / "assessment.yaml").config.services is None


@pytest.mark.parametrize("change, expected", [
    (lambda s: s["types"].append({"id": "legal", "label": "Law"}), "each service type needs its own id"),
    (lambda s: s["types"][1]["aliases"].append("Crisis-Response"), "used by two types: crisisresponse"),
    (lambda s: s["hours"][1]["aliases"].append("24 x 7"), "used by two hours values: 24x7"),
    (lambda s: s["hours"][0].update(after_hours=False), "round_the_clock"),
    (lambda s: s["after_hours"].update(required=["outreach"]), "unknown service types: outreach"),
    (lambda s: s["types"][0].update(id="Emergency Response"), "services.types.0.id"),
    (lambda s: s["hours"][0].update(after_hours="sometimes"), "services.hours.0.after_hours"),
    (lambda s: s["hours"].__setitem__(slice(None), [s["hours"][2]]), "at least one hours value must be after_hours"),
])
def test_bad_services_are_reported_with_the_file_and_place(tmp_path, change, expected):
    cfg = copy_config(tmp_path)
    edit(cfg / "assessment.yaml", lambda d: change(d["services"]))
    with pytest.raises(ConfigError) as err:
        load_assessment(cfg / "assessment.yaml")
    assert "assessment.yaml" in str(err.value) and expected in str(err.value)
