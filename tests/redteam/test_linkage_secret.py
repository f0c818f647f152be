"""A real wave's case lists are keyed only with a secret that is the analyst's own and random.

``HTNA_LINKAGE_SECRET="a"*32`` or the public demo key (printed in the code) would let anyone who
guesses names recompute the linkage keys; both were accepted for a real wave. Now a real wave (no
``SYNTHETIC.json`` saying it is synthetic) refuses the demo key, repeated patterns, runs of
consecutive characters, few distinct characters and low estimated entropy, with a message that
never repeats the secret; a synthetic wave still runs with any 32 bytes, or the demo key.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from assets.prevalence.demo import DEMO_LINKAGE_SECRET
from assets.prevalence.inputs import linkage_secret_for
from assets.prevalence.linkage import MIN_SECRET_BITS, weak_secret_problem
from pipelines.errors import InputError

WEAK = {
    "one character": "a" * 32,
    "the public demo key": DEMO_LINKAGE_SECRET.decode(),
    "a repeated word": "passwordpasswordpasswordpassword",
    "a repeated phrase": "Summer2015!" * 3,
    "consecutive characters": "abcdefghijklmnopqrstuvwxyz0123456789",
    "few characters": "abababababababababababbbabababaabab"[:32] + "ba",
    "two characters at random": "".join(secrets.choice("xy") for _ in range(64)),
}


@pytest.fixture()
def folders(tmp_path: Path) -> tuple[Path, Path]:
    real, demo = tmp_path / "real", tmp_path / "demo"
    real.mkdir()
    demo.mkdir()
    (demo / "SYNTHETIC.json").write_text(json.dumps({"synthetic": True}))
    return real, demo


@pytest.mark.parametrize("kind", list(WEAK))
def test_a_weak_or_public_secret_is_refused_for_a_real_wave(kind: str, folders, monkeypatch) -> None:
    real, demo = folders
    monkeypatch.setenv("HTNA_LINKAGE_SECRET", WEAK[kind])
    with pytest.raises(InputError) as exc:
        linkage_secret_for(real)
    message = str(exc.value)
    assert "HTNA_LINKAGE_SECRET" in message and "secrets.token_hex(32)" in message
    assert WEAK[kind] not in message and WEAK[kind][:12] not in message
    if kind != "the public demo key" and len(WEAK[kind].encode()) >= 32:
        assert linkage_secret_for(demo).source == "environment"  # synthetic data: any 32 bytes will do


def test_the_demo_key_is_named_as_such(folders, monkeypatch) -> None:
    real, _ = folders
    monkeypatch.setenv("HTNA_LINKAGE_SECRET", DEMO_LINKAGE_SECRET.decode())
    with pytest.raises(InputError, match="public demo key"):
        linkage_secret_for(real)


def test_random_secrets_are_accepted(folders, monkeypatch) -> None:
    real, _ = folders
    for _ in range(2000):  # the documented ways of making one, and shorter ones of 32 characters
        for secret in (secrets.token_hex(32), secrets.token_hex(16), secrets.token_urlsafe(32)):
            assert weak_secret_problem(secret.encode()) is None, secret
    secret = secrets.token_hex(32)
    monkeypatch.setenv("HTNA_LINKAGE_SECRET", secret)
    assert linkage_secret_for(real).key == secret.encode()
    assert MIN_SECRET_BITS >= 64


def test_a_linked_manifest_does_not_make_a_wave_synthetic(folders, monkeypatch, tmp_path: Path) -> None:
    real, _ = folders
    target = tmp_path / "elsewhere.json"
    target.write_text(json.dumps({"synthetic": True}))
    (real / "SYNTHETIC.json").symlink_to(target)
    monkeypatch.delenv("HTNA_LINKAGE_SECRET", raising=False)
    with pytest.raises(InputError, match="HTNA_LINKAGE_SECRET is not set"):
        linkage_secret_for(real)  # no demo key for a folder whose manifest is a link
