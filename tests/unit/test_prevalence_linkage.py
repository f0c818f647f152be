"""Keyed record linkage: normalisation, HMAC keys, secret handling."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from assets.prevalence.linkage import (
    LinkageError,
    LinkageSecretError,
    add_linkage_keys,
    linkage_key,
    normalise_date,
    normalise_identifiers,
    overlap_from_records,
    secret_from_env,
)

SECRET = b"test-secret-0123456789abcdef-0123456789abcdef"  # 46 bytes, tests only
OTHER_SECRET = b"another-secret-0123456789abcdef-0123456789ab"

PERSON_ON_LIST_A = {"first_name": "José", "last_name": "O'Neil-Smith", "dob": "1990-03-07"}
PERSON_ON_LIST_B = {"first_name": "  JOSE ", "last_name": "oneil  smith", "dob": "03/07/1990"}
PERSON_ON_LIST_C = {"last_name": "O NEIL SMITH", "First_Name": "josé", "DOB": "19900307"}


def test_same_person_links_despite_case_accents_spacing_and_date_format() -> None:
    keys = {linkage_key(p, SECRET) for p in (PERSON_ON_LIST_A, PERSON_ON_LIST_B, PERSON_ON_LIST_C)}
    assert len(keys) == 1
    key = keys.pop()
    assert len(key) == 64 and all(c in "0123456789abcdef" for c in key)


def test_different_people_do_not_link() -> None:
    base = linkage_key(PERSON_ON_LIST_A, SECRET)
    others = [
        {**PERSON_ON_LIST_A, "dob": "1990-07-03"},  # day and month swapped
        {**PERSON_ON_LIST_A, "first_name": "Josefa"},
        {**PERSON_ON_LIST_A, "last_name": "O'Neil"},
        {**PERSON_ON_LIST_A, "dob": None},  # missing DOB is not a wildcard
    ]
    keys = [linkage_key(p, SECRET) for p in others]
    assert base not in keys
    assert len(set(keys)) == len(keys)


def test_field_boundaries_matter() -> None:
    # "ann" + "lee" must not collide with "annl" + "ee"
    a = linkage_key({"first": "Ann", "last": "Lee"}, SECRET)
    b = linkage_key({"first": "Annl", "last": "ee"}, SECRET)
    assert a != b


def test_key_is_keyed_not_a_plain_sha256() -> None:
    key = linkage_key(PERSON_ON_LIST_A, SECRET)
    assert linkage_key(PERSON_ON_LIST_A, OTHER_SECRET) != key
    norm = normalise_identifiers(PERSON_ON_LIST_A)
    plain_messages = [
        "htna-linkage-v1\x1e" + "\x1f".join(f"{k}={norm[k]}" for k in sorted(norm)),
        "\x1f".join(f"{k}={norm[k]}" for k in sorted(norm)),
        "|".join(norm[k] for k in sorted(norm)),
        "".join(norm[k] for k in sorted(norm)),
        json.dumps(norm, sort_keys=True),
        json.dumps(PERSON_ON_LIST_A, sort_keys=True),
    ]
    for msg in plain_messages:
        assert hashlib.sha256(msg.encode()).hexdigest() != key
        assert hashlib.sha256(SECRET + msg.encode()).hexdigest() != key


def test_normalisation_details() -> None:
    norm = normalise_identifiers(PERSON_ON_LIST_B)
    assert norm == {"first_name": "jose", "last_name": "oneilsmith", "dob": "1990-03-07"}
    assert normalise_identifiers({"Name": "Łukasz Øvergård"})["name"] == "lukaszovergard"
    assert normalise_date(pd.Timestamp("2001-02-03 10:00")) == "2001-02-03"
    assert normalise_date("2001-02-03T10:11:12Z") == "2001-02-03"
    with pytest.raises(LinkageError, match="date"):
        normalise_date("3rd of never")
    with pytest.raises(LinkageError, match="empty"):
        linkage_key({"first_name": "  ", "dob": None}, SECRET)
    with pytest.raises(LinkageError, match="twice"):
        linkage_key({"Name": "a", "name": "a"}, SECRET)


def test_missing_secret_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HTNA_LINKAGE_SECRET", raising=False)
    with pytest.raises(LinkageSecretError, match="HTNA_LINKAGE_SECRET"):
        secret_from_env()
    monkeypatch.setenv("HTNA_LINKAGE_SECRET", "   ")
    with pytest.raises(LinkageSecretError, match="not set"):
        secret_from_env()


def test_short_secret_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTNA_LINKAGE_SECRET", "short")
    with pytest.raises(LinkageSecretError, match="too short"):
        secret_from_env()
    with pytest.raises(LinkageSecretError, match="too short"):
        linkage_key(PERSON_ON_LIST_A, b"")
    with pytest.raises(LinkageSecretError):
        linkage_key(PERSON_ON_LIST_A, b"x" * 31)


def test_secret_from_env_returns_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTNA_LINKAGE_SECRET", SECRET.decode())
    secret = secret_from_env()
    assert secret == SECRET
    assert linkage_key(PERSON_ON_LIST_A, secret) == linkage_key(PERSON_ON_LIST_A, SECRET)
    monkeypatch.setenv("MY_VAR", OTHER_SECRET.decode())
    assert secret_from_env("MY_VAR") == OTHER_SECRET


def test_records_to_overlap_table_end_to_end() -> None:
    raw = pd.DataFrame(
        [
            ("police", "José", "O'Neil-Smith", "1990-03-07"),
            ("police", "Ana", "Lee", "1985-12-01"),
            ("police", "ANA", "LEE", "12/01/1985"),  # duplicate within the same list
            ("shelter", "jose", "ONEIL SMITH", "03/07/1990"),
            ("shelter", "Mia", "Chen", "2004-05-06"),
            ("health", "Mía", "Chén", "20040506"),
            ("health", "Ana", "Lee", "1985-12-01"),
        ],
        columns=["list", "first_name", "last_name", "dob"],
    )
    keyed = add_linkage_keys(raw, ["first_name", "last_name", "dob"], SECRET)
    assert list(keyed.columns) == ["list", "key"]  # identifiers dropped
    table = overlap_from_records(keyed, lists=["police", "shelter", "health"])
    counts = {tuple(r[:3]): r[3] for r in table.to_numpy().tolist()}
    assert counts[(1, 1, 0)] == 1  # José: police + shelter
    assert counts[(1, 0, 1)] == 1  # Ana: police (twice) + health
    assert counts[(0, 1, 1)] == 1  # Mia: shelter + health
    assert table["count"].sum() == 3
