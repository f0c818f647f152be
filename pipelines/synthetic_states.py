"""A config folder for another state, made as a user would: copy config/maine/ and rewrite its data
(state, counties, groups, headcounts, the questionnaire's mentions of the state), dropping what is
Maine's alone (its municipality table, county covariates, the 2015 assessment's published figures).

Used by the tests of a new state and by ``htna bench --states N`` (:func:`invented_states`: N invented
states of different sizes, for the many-states benchmark)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

from pipelines.config import DEFAULT_CONFIG

#: the bundled config (Maine's) every invented state is copied from
MAINE = DEFAULT_CONFIG.parent


def _load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _dump(path: Path, data) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def make_state_config(dest: Path, name: str, abbreviation: str, fips: str,
                      counties: list[tuple[str, str, int, int]], groups: dict[str, list[str]],
                      geometry: bool = True) -> Path:
    """``counties``: (name, 5-digit FIPS, population, officer headcount). Returns the assessment.yaml
    path. ``geometry=False``: no map (no county boundary file for an invented state)."""
    shutil.copytree(MAINE, dest)
    old_state = _load(MAINE / "assessment.yaml")["state"]["name"]
    old_counties = [c["name"] for c in _load(MAINE / "assessment.yaml")["counties"]]
    old_groups = [g["name"] for g in _load(MAINE / "assessment.yaml")["county_groups"]]

    def rename(text: str) -> str:
        return re.sub(rf"\b{re.escape(old_state)}\b", name, text)

    for f in ("municipalities.csv", "county_covariates.csv", "published_2015.yaml", "counties.geojson"):
        (dest / f).unlink(missing_ok=True)
    a = _load(dest / "assessment.yaml")
    a["state"] = {"name": name, "abbreviation": abbreviation, "fips": fips}
    a["counties"] = [{"name": n, "fips": f, "population_2020": p} for n, f, p, _ in counties]
    a["county_groups"] = [{"name": g, "counties": list(cs)} for g, cs in groups.items()]
    a["officer_headcounts"] = {"status": "illustrative", "note": f"Illustrative headcounts for {name}.",
                               "by_county": {n: h for n, _, _, h in counties}}
    a["small_area"].pop("covariates", None)
    a["small_area"].pop("covariates_status", None)
    a["report"].pop("context", None)
    if not geometry:
        a["report"].pop("county_geometry", None)
    for li in a["prevalence"]["lists"]:  # the agencies are the state's own (Maine's name its coalition)
        li["label"] = li["name"].replace("_", " ").capitalize()
        li["description"] = rename(li.get("description", ""))
    if a.get("services"):
        a["services"]["statewide"] = ["Statewide", "All counties", f"All {name} counties", f"All of {name}", name]
    _dump(dest / "assessment.yaml", a)
    # the questionnaire's wording names the state
    cb = (dest / "officer_codebook.yaml").read_text(encoding="utf-8")
    (dest / "officer_codebook.yaml").write_text(rename(cb), encoding="utf-8")
    # no figures published before: nothing to compare with
    (dest / "indicators.yaml").write_text(rename((dest / "indicators.yaml").read_text(encoding="utf-8")),
                                          encoding="utf-8")
    ind = _load(dest / "indicators.yaml")
    ind["source_2015"] = ""
    for i in ind["indicators"]:
        i["published"], i["published_note"] = {}, ""
    _dump(dest / "indicators.yaml", ind)
    # interview regions are the county groups
    frames = (dest / "interview_frames.yaml").read_text(encoding="utf-8")
    new_groups = list(groups)
    for old, new in zip(old_groups, new_groups):
        frames = frames.replace(old, new)
    (dest / "interview_frames.yaml").write_text(rename(frames), encoding="utf-8")
    rec = (dest / "recommendations.yaml").read_text(encoding="utf-8")
    (dest / "recommendations.yaml").write_text(rename(rec), encoding="utf-8")
    assert not any(c in (dest / "assessment.yaml").read_text() for c in old_counties if c not in dict(
        (n, 1) for n, *_ in counties))
    return dest / "assessment.yaml"


NEW_HAMPSHIRE = dict(
    name="New Hampshire", abbreviation="NH", fips="33",
    counties=[("Belknap", "33001", 63705, 120), ("Carroll", "33003", 50107, 95), ("Cheshire", "33005", 76458, 140),
              ("Coos", "33007", 31268, 60), ("Grafton", "33009", 91118, 170), ("Hillsborough", "33011", 422937, 800),
              ("Merrimack", "33013", 153808, 290), ("Rockingham", "33015", 314176, 600),
              ("Strafford", "33017", 130889, 250), ("Sullivan", "33019", 43063, 80)],
    groups={"Southern tier": ["Hillsborough", "Rockingham", "Strafford"],
            "North and west": ["Belknap", "Carroll", "Cheshire", "Coos", "Grafton", "Merrimack", "Sullivan"]},
)


#: syllables the invented states and counties are named from (no real state or county is made)
_SYLLABLES = ["bra", "ken", "ost", "val", "quil", "moor", "tam", "sin", "wyck", "ford", "lan", "dor",
              "mer", "rin", "sal", "tor", "ves", "hal", "cor", "nel"]


def _name(i: int, j: int) -> str:
    return (_SYLLABLES[i % len(_SYLLABLES)] + _SYLLABLES[(i * 7 + j * 3 + 5) % len(_SYLLABLES)]).capitalize()


def _abbreviation(i: int) -> str:
    return "Q" + chr(ord("A") + i % 26) if i < 26 else chr(ord("A") + (i // 26) % 26) + chr(ord("A") + i % 26)


def invented_states(count: int) -> list[dict]:
    """``count`` invented states of different sizes (3 to 16 counties, populations and officer headcounts
    growing with the state), as keyword arguments of :func:`make_state_config` (without ``geometry``).
    Their FIPS codes (state 60 and up, counties 001, 003, ...) are not real states'; names are unique."""
    states = []
    for i in range(count):
        n_counties = 3 + (i * 5) % 14
        name = f"{_name(i, 0)}land {i + 1}"
        fips = f"{60 + i % 40:02d}"
        counties = []
        for j in range(n_counties):
            population = 20_000 + ((i + 1) * (j + 3) * 7_919) % 400_000
            counties.append((f"{_name(i, j + 1)} {j + 1}", f"{fips}{2 * j + 1:03d}", population,
                             max(200, population // 100)))
        half = max(1, n_counties // 2)
        groups = {"Coastal counties": [c[0] for c in counties[:half]],
                  "Inland counties": [c[0] for c in counties[half:]]}
        states.append(dict(name=name, abbreviation=_abbreviation(i), fips=fips, counties=counties, groups=groups))
    return states
