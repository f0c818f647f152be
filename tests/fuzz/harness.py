"""Shared parts of the fuzz targets: the contract, the input counter, budgets, mutators.

The contract of every reader and loader: it returns normally or raises an
:class:`~pipelines.errors.HtnaError` subclass naming the file. Anything else escaping is a bug;
the input that caused it is written to ``build/fuzz/crashes/`` so it can be added to
``tests/fuzz/regressions/`` (named ``<target>__<what-it-broke>.<ext>``) once fixed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st

from pipelines.config import REPO_ROOT
from pipelines.errors import HtnaError

#: inputs executed per target in this process (the total is checked by test_fuzz_total)
EXECUTED: Counter[str] = Counter()
#: inputs across the readers a CI run executes at least; HTNA_FUZZ_EXAMPLES raises it locally
READER_TOTAL = max(10_000, int(os.environ.get("HTNA_FUZZ_EXAMPLES", "0") or 0))
CRASH_DIR = REPO_ROOT / "build" / "fuzz" / "crashes"
COUNTS_FILE = REPO_ROOT / "build" / "fuzz" / "executed.json"
FIXTURES = REPO_ROOT / "tests" / "fixtures"
DEMO_WAVE = REPO_ROOT / "data" / "demo" / "incoming" / "2015"


#: a local crash hunt: HTNA_FUZZ_SEED=N draws other inputs (CI leaves it unset: derandomized)
SEED = os.environ.get("HTNA_FUZZ_SEED", "").strip()


def budget(share: float) -> int:
    """This target's number of examples: its share of READER_TOTAL, rounded up."""
    return -(-int(READER_TOTAL * share * 1000) // 1000)


def scaled(examples: int) -> int:
    """A config target's number of examples, raised in proportion when HTNA_FUZZ_EXAMPLES raises the total."""
    return -(-examples * READER_TOTAL // 10_000)


def fuzz_settings(examples: int):
    """Deterministic (derandomized, no example database), no deadline, exactly ``examples`` inputs."""
    chosen = settings(max_examples=examples, deadline=None, derandomize=not SEED, database=None,
                      suppress_health_check=list(HealthCheck), print_blob=False)
    if not SEED:
        return chosen
    return lambda test: seed(int(SEED))(chosen(test))


class Crash(AssertionError):
    """An exception other than HtnaError escaped a reader or loader."""


def check(target: str, data: bytes, suffix: str, call) -> object:
    """Run ``call()`` under the contract; count the input; keep a crashing input on disk."""
    EXECUTED[target] += 1
    try:
        return call()
    except HtnaError as exc:  # the user's message names the file
        assert str(exc).strip() and getattr(exc, "path", None) is not None, f"{target}: {exc!r} names no file"
        return exc
    except Exception as exc:  # noqa: BLE001 - exactly what the fuzz target looks for
        CRASH_DIR.mkdir(parents=True, exist_ok=True)
        name = f"{target}__{type(exc).__name__}-{hashlib.sha256(data).hexdigest()[:12]}{suffix}"
        (CRASH_DIR / name).write_bytes(data)
        raise Crash(f"{target}: {type(exc).__name__}: {exc} (input kept as {CRASH_DIR / name})") from exc


def write_counts() -> None:
    COUNTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    readers = {k: v for k, v in EXECUTED.items() if k.startswith("readers-")}
    COUNTS_FILE.write_text(json.dumps({"targets": dict(sorted(EXECUTED.items())),
                                       "readers_total": sum(readers.values()),
                                       "all_total": sum(EXECUTED.values())}, indent=2) + "\n")


# --------------------------------------------------------------------------- mutators

CHUNKS = [b",", b";", b"\t", b"|", b'"', b"\n", b"\r", b"\r\n", b"\x00", b"\xff", b"\xfe", b"=", b"1", b"-1",
          b'""', b"\xe2\x80", b"\xef\xbb\xbf", b"Respondent ID,", b"ResponseId,", b'{"ImportId":"QID', b"record_id",
          b"999999999999999999999999", b"NaN", b"1e309", b"\xc3\xa9", b"Other (please specify)", b"\\", b"'"]

MUTATIONS = st.lists(st.tuples(st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate", "swap"]),
                               st.floats(0, 1, allow_nan=False), st.integers(1, 64), st.sampled_from(CHUNKS)),
                     min_size=1, max_size=5)


def mutate(data: bytes, mutations) -> bytes:
    """Byte-level edits at relative positions (deterministic given the mutation list)."""
    buf = bytearray(data)
    for kind, where, size, chunk in mutations:
        if not buf:
            buf.extend(chunk)
            continue
        i = int(where * (len(buf) - 1))
        if kind == "flip":
            buf[i] ^= (size % 255) + 1
        elif kind == "delete":
            del buf[i:i + size]
        elif kind == "insert":
            buf[i:i] = chunk * (1 + size % 3)
        elif kind == "truncate":
            del buf[i:]
        elif kind == "duplicate":
            buf[i:i] = buf[i:i + size * 8]
        else:  # swap two spans
            j = int((1 - where) * (len(buf) - 1))
            a, b = sorted((i, j))
            buf[a:a + size], buf[b:b + size] = buf[b:b + size], buf[a:a + size]
    return bytes(buf)


ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252", "latin-1", "mac_roman"]


def encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


def rezip(data: bytes, member_edit) -> bytes:
    """An XLSX (zip) with one member's bytes edited; the original when it is not a zip."""
    try:
        zin = zipfile.ZipFile(io.BytesIO(data))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            names = zin.namelist()
            for n in names:
                zout.writestr(n, member_edit(n, zin.read(n)))
        return out.getvalue()
    except zipfile.BadZipFile:
        return data


def scratch(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path
