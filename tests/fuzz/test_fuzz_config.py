"""Fuzz targets over the config loaders: assessment.yaml, the officer codebook, the interview
frames and the indicators (structural mutations of the parsed documents: dropped keys, wrong
types, huge numbers, unicode, nested garbage, bounded YAML alias bombs; and byte mutations of the
text) and municipalities.csv.

Contract: ``load_assessment`` (and the county resolver built from the municipality table) returns
normally or raises ConfigError (an HtnaError); nothing else.
"""

from __future__ import annotations

import copy
import shutil
import time

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from assets.ingest.geography import MUNICIPALITIES_FILE, CountyResolver
from pipelines.config import REPO_ROOT, load_assessment
from pipelines.errors import ConfigError
from tests.fuzz.harness import EXECUTED, MUTATIONS, check, fuzz_settings, mutate, scaled

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

DOCUMENTS = ["assessment.yaml", "officer_codebook.yaml", "interview_frames.yaml", "indicators.yaml", "models.yaml"]
SCALARS = (st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.sampled_from([10**400, -(10**400), 0, -1])
           | st.floats() | st.text(max_size=20)
           | st.sampled_from(["", " ", "\u202e\u0000", "\U0001f600", "2015", "Cumberland", "single", "multi", "text",
                              "counties", "county_groups", "1e999", ".nan", "~", "yes", "Male", "&x", "*x", "{", "- "]))
GARBAGE = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=8) | st.integers(-5, 5), inner, max_size=3), max_leaves=8)


@st.composite
def alias_bomb(draw):
    """Nested shared lists: YAML writes them with anchors and aliases (at most 6**4 leaves)."""
    node: object = [draw(SCALARS)] * draw(st.integers(1, 6))
    for _ in range(draw(st.integers(1, 3))):
        node = [node] * draw(st.integers(1, 6))
    return node


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _edit(doc, path, op, value):
    """A copy of ``doc`` with one edit at ``path``."""
    doc = copy.deepcopy(doc)
    if not path:
        return value if op == "replace" else doc
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    last = path[-1]
    if op == "delete":
        del parent[last]
    elif op == "replace":
        parent[last] = value
    elif op == "rename" and isinstance(parent, dict):
        parent[str(value)[:20] if not isinstance(value, (dict, list)) else "renamed"] = parent.pop(last)
    elif op == "duplicate" and isinstance(parent, list):
        parent.insert(last, parent[last])
    elif op == "empty":
        parent[last] = type(parent[last])() if isinstance(parent[last], (dict, list, str)) else None
    elif op == "wrap":
        parent[last] = [parent[last]]
    return doc


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-config") / "maine"
    shutil.copytree(REPO_ROOT / "config" / "maine", folder)
    return folder


def _load(target, config, name, data: bytes):
    path = config / name
    original = path.read_bytes()
    path.write_bytes(data)

    def call():
        assessment = load_assessment(config / "assessment.yaml")
        CountyResolver.for_assessment(assessment)  # reads municipalities.csv
        return assessment

    try:
        return check(target, data, "." + name, call)
    finally:
        path.write_bytes(original)


def test_config_structure(config):
    docs = {n: yaml.safe_load((config / n).read_text(encoding="utf-8")) for n in DOCUMENTS}
    paths = {n: list(_paths(d)) for n, d in docs.items()}

    @fuzz_settings(scaled(240))
    @given(name=st.sampled_from(DOCUMENTS), where=st.integers(0, 10**6),
           edits=st.lists(st.tuples(st.sampled_from(["delete", "replace", "replace", "rename", "duplicate", "empty",
                                                     "wrap"]), GARBAGE | alias_bomb()), min_size=1, max_size=3))
    def run(name, where, edits):
        doc = docs[name]
        for i, (op, value) in enumerate(edits):
            candidates = list(_paths(doc)) if i else paths[name]
            doc = _edit(doc, candidates[(where * (i + 1)) % len(candidates)], op, value)
        _load("config-structure", config, name, yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode())

    run()
    assert EXECUTED["config-structure"] >= scaled(240)


def test_config_text(config):
    texts = {n: (config / n).read_bytes() for n in DOCUMENTS}

    @fuzz_settings(scaled(160))
    @given(name=st.sampled_from(DOCUMENTS), mutations=MUTATIONS | st.lists(
        st.tuples(st.just("insert"), st.floats(0, 1, allow_nan=False), st.integers(1, 3),
                  st.sampled_from([b"\t", b": ", b"- ", b"&a ", b"*a", b"*undefined", b"!!python/object:os.system ",
                                   b"<<: *a", b"{", b"[", b"\"", b"'", b"%YAML 1.1\n", b"---\n", b"\xff", b"? "])),
        min_size=1, max_size=4))
    def run(name, mutations):
        _load("config-text", config, name, mutate(texts[name], mutations))

    run()
    assert EXECUTED["config-text"] >= scaled(160)


def test_municipalities(config):
    table = (config / MUNICIPALITIES_FILE).read_bytes()
    head = b"".join(table.splitlines(keepends=True)[:30])
    assessment = load_assessment(config / "assessment.yaml")

    @fuzz_settings(scaled(200))
    @given(base=st.sampled_from([head, table]), mutations=st.none() | MUTATIONS,
           rows=st.lists(st.tuples(st.text(max_size=12) | st.sampled_from(["", "Portland", "Cumberland", "Atlantis"]),
                                   st.text(max_size=12) | st.sampled_from(["", "Cumberland", "York", "Nowhere"]),
                                   st.sampled_from(["town", "city", "", "x,y", '"'])), max_size=3),
           encoding=st.sampled_from(["utf-8", "utf-16", "cp1252"]))
    def run(base, mutations, rows, encoding):
        data = base + "".join(f"{a},{b},{c}\n" for a, b, c in rows).encode(encoding, errors="replace")
        if encoding != "utf-8":
            data = data.decode("utf-8", errors="replace").encode(encoding, errors="replace")
        if mutations:
            data = mutate(data, mutations)
        path = config / MUNICIPALITIES_FILE
        path.write_bytes(data)
        try:
            check("config-municipalities", data, ".csv", lambda: CountyResolver.for_assessment(assessment))
        finally:
            path.write_bytes(table)

    run()
    assert EXECUTED["config-municipalities"] >= scaled(200)


def test_alias_bomb_is_refused_quickly(config):
    """A billion-laughs document (9**9 strings once expanded) under a field is refused, not expanded."""
    bomb = "lol0: &l0 [a, a, a, a, a, a, a, a, a]\n" + "".join(
        f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9))
    cases = {"officer_codebook.yaml": ["scales:\n  big: *l8\n", "variables: *l8\n"],
             "assessment.yaml": ["waves: *l8\n"], "indicators.yaml": ["indicators: *l8\n"],
             "interview_frames.yaml": ["stakeholder_interviews:\n  attributes: {sector: *l8}\n"]}
    for name, tails in cases.items():
        for tail in tails:
            started = time.monotonic()
            refused = _load("config-bomb", config, name, (bomb + tail).encode())
            assert isinstance(refused, ConfigError), (name, tail)
            assert time.monotonic() - started < 10, (name, tail)
