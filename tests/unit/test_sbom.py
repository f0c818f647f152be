"""`make sbom`: a CycloneDX 1.5 SBOM of the locked environment, written offline, valid against the schema.

The SBOM is written by the pinned uv from uv.lock alone (UV_OFFLINE=1: no network) and checked
against CycloneDX's own JSON schema (tests/fixtures/sbom/), and against the lock file: every locked
package is a component with its version, its purl and the SHA-256 of its distributions, so a
scanner working from the SBOM sees exactly what `make setup` installs.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import tomllib

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource

from pipelines.config import REPO_ROOT

SCHEMAS = REPO_ROOT / "tests" / "fixtures" / "sbom"
UV = REPO_ROOT / ".cache" / "uv-bootstrap" / "bin" / "uv"


@pytest.fixture(scope="module")
def sbom(tmp_path_factory) -> dict:
    if not UV.exists():
        pytest.fail("the pinned uv is missing: run `make setup` first (CI does, through `make test`)")
    out = tmp_path_factory.mktemp("sbom") / "sbom.cdx.json"
    env = {**os.environ, "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}  # no network reachable
    proc = subprocess.run(["make", "-s", "sbom", f"SBOM={out}"], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text(encoding="utf-8"))


def _validator() -> Draft7Validator:
    resources = []
    for name in ("bom-1.5.schema.json", "spdx.schema.json", "jsf-0.82.schema.json"):
        contents = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
        resources.append((f"http://cyclonedx.org/schema/{name}", Resource.from_contents(contents)))
    schema = dict(resources[0][1].contents)
    return Draft7Validator(schema, registry=Registry().with_resources(resources))


def test_the_sbom_is_valid_cyclonedx_1_5(sbom: dict) -> None:
    errors = sorted(_validator().iter_errors(sbom), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.5"
    assert sbom["metadata"]["component"]["name"] == "htna"


def test_the_schema_check_catches_a_malformed_sbom(sbom: dict) -> None:
    broken = json.loads(json.dumps(sbom))
    broken["components"][0]["type"] = "not-a-component-type"
    del broken["components"][1]["name"]
    assert len(list(_validator().iter_errors(broken))) >= 2


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_installed_package_is_a_component_with_its_version_purl_and_hashes(sbom: dict) -> None:
    """The SBOM lists every package `make setup` installed from the lock file (this environment), and
    only locked packages (those other platforms install too, e.g. pywin32, are in the lock and the SBOM)."""
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text(encoding="utf-8"))
    locked = {(p["name"], p["version"]) for p in lock["package"]}
    installed = {(_normal(d.metadata["Name"]), d.version) for d in importlib.metadata.distributions()} - {("htna", "0.1.0")}
    components = {(c["name"], c["version"]): c for c in sbom["components"]}
    assert installed and installed <= set(components), sorted(installed - set(components))[:10]
    assert set(components) <= locked, sorted(set(components) - locked)[:10]
    for (name, version), c in components.items():
        assert c["purl"] == f"pkg:pypi/{name}@{version}"
        hashes = [h for ref in c.get("externalReferences", []) for h in ref.get("hashes", [])]
        assert hashes and all(h["alg"] == "SHA-256" and len(h["content"]) == 64 for h in hashes), name
    refs = {c["bom-ref"] for c in sbom["components"]} | {sbom["metadata"]["component"]["bom-ref"]}
    assert all(d["ref"] in refs and set(d.get("dependsOn", [])) <= refs for d in sbom["dependencies"])
