"""Nothing of a state lives in the Python packages: the config's state name, its counties and the
answer wordings of its codebook appear in no string literal of assets/ or pipelines/ (docstrings may
name the demo state as an example; messages, labels and defaults may not)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from pipelines.config import REPO_ROOT, Assessment, Option

PACKAGES = ("assets", "pipelines")
#: files that may still hold the demo state's wording, each with why (and what would remove it)
ALLOWED = {
    # the demo data generator draws answers at rates calibrated to the 2015 Maine assessment (its
    # answer wordings, its rural counties): moving those rates into the config is still to do
    "assets/ingest/synthetic.py",
}
#: single literals allowed: (file, literal, why)
ALLOWED_LITERALS = {
    ("pipelines/config/assessment_schema.py", "maine"),  # the folder of the bundled demo config, the default without --config
}


def _string_literals(path: Path):
    """(line, text) of every string constant that is not a docstring, f-string parts included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                docstrings.add(id(body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def _words_of_the_state(assessment: Assessment) -> set[str]:
    """The state's name, its counties and county groups, and every instrument codebook's answer wordings (all but
    one-word answers such as "Yes", "No" or "None", words code uses for its own purposes)."""
    words = {assessment.config.state.name, *assessment.county_names}
    words |= {g.name for g in assessment.config.county_groups}
    for view in [assessment.for_instrument(i.id) for i in assessment.instruments]:  # every instrument's codebook
        for v in view.codebook.variables:
            if v.type == "single" and v.options_from != "counties":
                words |= set(view.options(v))
            words |= {o.label for o in v.options or [] if isinstance(o, Option)}
    return {w for w in words if " " in w.strip() or w in {assessment.config.state.name, *assessment.county_names}}


def test_no_state_county_or_answer_wording_in_python_string_literals(assessment):
    words = _words_of_the_state(assessment)
    # whole words only ("York" in "America/New_York" or "Waldo" in "Waldorf" do not count), any case
    patterns = {w: re.compile(rf"(?<![\w/]){re.escape(w)}(?!\w)", re.IGNORECASE) for w in words}
    found = []
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if str(path.relative_to(REPO_ROOT)) in ALLOWED:
                continue
            for line, text in _string_literals(path):
                if (str(path.relative_to(REPO_ROOT)), text) in ALLOWED_LITERALS:
                    continue
                hits = [w for w, p in patterns.items() if p.search(text)]
                if hits:
                    found.append(f"{path.relative_to(REPO_ROOT)}:{line}: {', '.join(sorted(hits))}")
    assert not found, "state-specific wording in code (move it to the config):\n" + "\n".join(found)


def test_the_check_finds_a_state_name_in_a_literal(tmp_path, assessment):
    """The literal scan is not blind: a message naming the state is found, a docstring is not."""
    src = tmp_path / "m.py"
    src.write_text(f'"""About {assessment.config.state.name}."""\nX = "all of {assessment.config.state.name}"\n')
    texts = [t for _, t in _string_literals(src)]
    assert texts == [f"all of {assessment.config.state.name}"]


def test_county_abbreviations_come_from_the_config(assessment, tmp_path):
    """The county abbreviations officers write ("Andro", "Piscat") are the config's `aliases`: they
    resolve with the demo config, and not once a config drops them."""
    import shutil

    import yaml

    from assets.ingest.geography import CountyResolver

    demo = CountyResolver.for_assessment(assessment)
    assert demo.resolve("Andro").county == "Androscoggin" and demo.resolve("piscat.").county == "Piscataquis"
    cfg = tmp_path / "state"
    shutil.copytree(REPO_ROOT / "config" / "maine", cfg)
    data = yaml.safe_load((cfg / "assessment.yaml").read_text())
    for c in data["counties"]:
        c.pop("aliases", None)
    (cfg / "assessment.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    from pipelines.config import load_assessment

    bare = CountyResolver.for_assessment(load_assessment(cfg / "assessment.yaml"))
    assert bare.resolve("Andro").county is None
    assert bare.resolve("Androscoggin County").county == "Androscoggin"


def test_the_prevalence_caveat_names_the_population_of_the_config(assessment, tmp_path):
    from assets.prevalence.tables import caveats

    assert any("victims in Maine in the year" in c for c in caveats(assessment))
    other = assessment.config.model_copy(update={
        "state": assessment.config.state.model_copy(update={"name": "Vermont"}),
        "prevalence": assessment.config.prevalence.model_copy(update={"population": "people trafficked in {state}"})})
    moved = type(assessment)(assessment.path, other, assessment.codebook, assessment.frames, assessment.indicators)
    text = " ".join(caveats(moved))
    assert "(people trafficked in Vermont, by the same definition)" in text and "Maine" not in text
