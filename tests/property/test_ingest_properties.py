"""Property tests over the readers: whatever the bytes, only the project's InputError comes out."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.ingest.layouts import LAYOUTS, SUFFIX, write_layout
from assets.ingest.officer_responses import to_officer_responses
from assets.ingest.readers import FORMATS, read_bytes_as_export
from pipelines.config import REPO_ROOT, load_assessment
from pipelines.errors import InputError
from tests.fuzz.harness import mutate  # the fuzz targets' byte mutator (this test draws fewer kinds of edit)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                    derandomize=True)


@functools.lru_cache(maxsize=1)
def _assessment():
    return load_assessment(REPO_ROOT / "config" / "maine" / "assessment.yaml")


@functools.lru_cache(maxsize=1)
def _exports() -> dict[str, bytes]:
    """Small real exports (8 officers) in every layout, as bytes."""
    from assets.ingest.synthetic import generate_officer_answers

    a = _assessment()
    answers = generate_officer_answers(a, "2015", 9, 8)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for layout in LAYOUTS:
            path = write_layout(layout, a, answers, Path(tmp) / f"x{SUFFIX[layout]}")
            out[layout] = path.read_bytes()
    return out


def _ingest(data: bytes, suffix: str, fmt: str | None = None) -> None:
    """Read and map; anything but InputError fails the test (the exception propagates)."""
    try:
        raw = read_bytes_as_export(data, suffix, fmt)
        accepted, quarantine, report = to_officer_responses(raw, _assessment(), "2015")
    except InputError as exc:
        assert str(exc) and exc.path is not None
        return
    assert report.reconciles() and report.rows_read == len(accepted) + len(quarantine)


@SETTINGS
@given(data=st.binary(max_size=4096), suffix=st.sampled_from([".csv", ".tsv", ".xlsx", ".sav", ".txt"]))
def test_arbitrary_bytes(data, suffix):
    _ingest(data, suffix)


@SETTINGS
@given(prefix=st.sampled_from([b"PK\x03\x04", b"$FL2", b"\xff\xfe", b"\xef\xbb\xbf", b"\xd0\xcf\x11\xe0", b""]),
       data=st.binary(max_size=2048), fmt=st.sampled_from([None, *FORMATS]))
def test_arbitrary_bytes_behind_magic_numbers(prefix, data, fmt):
    _ingest(prefix + data, ".bin", fmt)


@SETTINGS
@given(tokens=st.lists(st.sampled_from(list(',;\t"\r\n =abcQ1_{}:\u00e9') + ["Respondent ID", "ResponseId", "record_id",
                                                                            "Response", '{"ImportId":"QID1"}']),
                       max_size=120))
def test_arbitrary_delimited_text(tokens):
    _ingest("".join(tokens).encode("utf-8"), ".csv")


_MUTATIONS = st.lists(st.tuples(st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate"]),
                                st.floats(0, 1, allow_nan=False), st.integers(1, 64),
                                st.sampled_from([b",", b";", b"\t", b'"', b"\n", b"\r", b"\x00", b"\xff", b"=", b"1",
                                                 b'""', b"\xe2\x80", b"Respondent ID,"])),
                      min_size=1, max_size=4)


@SETTINGS
@given(layout=st.sampled_from(LAYOUTS), mutations=_MUTATIONS)
def test_mutated_real_exports(layout, mutations):
    _ingest(mutate(_exports()[layout], mutations), SUFFIX[layout])


@SETTINGS
@given(layout=st.sampled_from(["surveymonkey_csv", "qualtrics_csv", "redcap_raw", "plain_csv", "redcap_labels"]),
       row=st.integers(0, 10), column=st.integers(0, 60),
       value=st.text(max_size=30) | st.sampled_from(["", "Respondent ID", "9", "Survey Preview", "=1+1", "<b>",
                                                    "Other (please specify)", "5 - Strongly agree", "23005"]))
def test_mutated_cells(layout, row, column, value):
    import csv
    import io

    text = _exports()[layout].decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    r = rows[min(row, len(rows) - 1)]
    r[min(column, len(r) - 1)] = value
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    _ingest(buf.getvalue().encode("utf-8"), ".csv")
