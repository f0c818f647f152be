"""Privacy-preserving record linkage keys and overlap tables from case-level records.

Each agency list is reduced to one row per case with a *linkage key*: an HMAC-SHA256 of the
case's normalised identifiers under a secret key held only by the analyst
(``HTNA_LINKAGE_SECRET``). The same person on two lists gets the same key even if the lists
spell the name with different case, accents, spacing or punctuation, or write the date of birth
differently; without the secret the key cannot be recomputed from guessed identifiers, unlike a
plain hash. There is deliberately no default secret.

:func:`overlap_from_records` then turns ``(list, key[, stratum])`` records into the aggregated
overlap table used by :mod:`assets.prevalence.mse`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import math
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .overlap import (
    COUNT_COLUMN,
    STRATUM_COLUMN,
    OverlapTableError,
    all_histories,
    complete_overlap_table,
)

SECRET_ENV_VAR = "HTNA_LINKAGE_SECRET"
MIN_SECRET_BYTES = 32
_KEY_VERSION = "htna-linkage-v1"

__all__ = [
    "MIN_SECRET_BITS",
    "MIN_SECRET_BYTES",
    "SECRET_ENV_VAR",
    "LinkageError",
    "LinkageSecretError",
    "add_linkage_keys",
    "linkage_key",
    "normalise_date",
    "normalise_identifiers",
    "normalise_text",
    "overlap_from_records",
    "secret_from_env",
    "weak_secret_problem",
]


class LinkageError(ValueError):
    """Identifiers or records cannot be linked (missing, unparseable or conflicting values)."""


class LinkageSecretError(RuntimeError):
    """The linkage secret is missing or too weak. There is no default secret, by design."""


# Letters that Unicode decomposition does not reduce to an ASCII base letter.
_EXTRA_FOLD = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i", "ŀ": "l"}
)

_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y%m%d",
    "%m/%d/%Y",  # US order: the assessment's source systems are US agencies
    "%m-%d-%Y",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d %Y",
    "%b %d %Y",
    "%B %d, %Y",
    "%b %d, %Y",
)


def _check_secret(secret: bytes) -> bytes:
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not isinstance(secret, (bytes, bytearray)):
        raise LinkageSecretError(f"linkage secret must be bytes, got {type(secret).__name__}")
    if len(secret) < MIN_SECRET_BYTES:
        raise LinkageSecretError(
            f"linkage secret is too short ({len(secret)} bytes); use at least {MIN_SECRET_BYTES} "
            "random bytes, e.g. `python -c \"import secrets; print(secrets.token_hex(32))\"`"
        )
    return bytes(secret)


def secret_from_env(var: str = SECRET_ENV_VAR) -> bytes:
    """Read the linkage secret from environment variable ``var`` (UTF-8 bytes of its value).

    Raises :class:`LinkageSecretError` if the variable is unset, empty, or shorter than
    :data:`MIN_SECRET_BYTES` bytes. There is no fallback key.
    """
    value = os.environ.get(var)
    if value is None or value.strip() == "":
        raise LinkageSecretError(
            f"linkage secret not set: export {var} (at least {MIN_SECRET_BYTES} random bytes, "
            "kept out of the repository); there is no default key"
        )
    return _check_secret(value.encode("utf-8"))


#: least estimated entropy (bits) of a real wave's secret: its length times the entropy of its
#: characters' frequencies (a 64-character hex token scores about 240, ``"a" * 32`` scores 0)
MIN_SECRET_BITS = 80


def weak_secret_problem(secret: bytes) -> str | None:
    """Why ``secret`` is not fit to key real case lists (None when it is): the public demo key, a
    repeated pattern, a run of consecutive characters, few distinct characters, or too little
    estimated entropy. The secret itself is never part of the answer."""
    from .demo import DEMO_LINKAGE_SECRET

    if hmac.compare_digest(bytes(secret), DEMO_LINKAGE_SECRET):
        return (f"{SECRET_ENV_VAR} is the public demo key (it is printed in the code): real case lists "
                "need a secret of your own")
    n = len(secret)
    counts = [secret.count(b) for b in set(secret)]
    for unit in range(1, n // 2 + 1):
        if (secret[:unit] * (n // unit + 1))[:n] == secret:
            return f"{SECRET_ENV_VAR} repeats a pattern of {unit} character(s): it is not random"
    steps = sum(abs(a - b) == 1 for a, b in zip(secret, secret[1:]))
    if steps >= (n - 1) / 2:
        return f"{SECRET_ENV_VAR} is mostly a run of consecutive characters: it is not random"
    if len(counts) < 8:
        return f"{SECRET_ENV_VAR} uses only {len(counts)} different characters: it is not random"
    bits = -n * sum(c / n * math.log2(c / n) for c in counts)
    if bits < MIN_SECRET_BITS:
        return (f"{SECRET_ENV_VAR} looks too predictable (about {bits:.0f} bits of entropy, at least "
                f"{MIN_SECRET_BITS} needed)")
    return None


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and value.strip() == "":
        return True
    return False


def normalise_text(value: object) -> str:
    """Casefold, strip accents, and drop whitespace and punctuation (keep letters and digits).

    ``"  Zoë  O'Brien-Núñez "`` and ``"ZOE OBRIEN NUNEZ"`` both become ``"zoeobriennunez"``.
    """
    if _is_missing(value):
        return ""
    text = unicodedata.normalize("NFKD", str(value).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.translate(_EXTRA_FOLD)
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def normalise_date(value: object) -> str:
    """ISO 8601 date (``YYYY-MM-DD``) from a date, datetime, timestamp or common date string.

    Slash dates are read in US order (``MM/DD/YYYY``); two-digit years are rejected as ambiguous.
    Raises :class:`LinkageError` for values that cannot be read as a date.
    """
    if _is_missing(value):
        return ""
    if isinstance(value, (pd.Timestamp, _dt.datetime)):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date().isoformat()
    text = re.sub(r"\s+", " ", str(value).strip())
    text = re.sub(r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$", "", text)
    for fmt in _DATE_FORMATS:
        try:
            return _dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    raise LinkageError(f"cannot read {value!r} as a date (use YYYY-MM-DD)")


def _is_date_field(name: str) -> bool:
    n = name.casefold()
    return (
        "dob" in n
        or "birth" in n
        or n.startswith("date")
        or n.endswith("date")
        or n.endswith("_dt")
    )


def normalise_identifiers(
    identifiers: Mapping[str, object], *, date_fields: Iterable[str] | None = None
) -> dict[str, str]:
    """Normalise identifier names and values, as hashed by :func:`linkage_key`.

    Field names are casefolded and stripped. Date fields (``date_fields``, or by default any field
    whose name contains ``dob``/``birth`` or starts/ends with ``date``) become ISO dates; every
    other field goes through :func:`normalise_text`. Missing values become ``""`` (the field is
    still part of the key, so a record missing a field only links to records missing it too).
    """
    if not isinstance(identifiers, Mapping) or not identifiers:
        raise LinkageError("identifiers must be a non-empty mapping of field name to value")
    dates = {d.casefold().strip() for d in date_fields} if date_fields is not None else None
    out: dict[str, str] = {}
    for raw_name, value in identifiers.items():
        name = str(raw_name).casefold().strip()
        if not name:
            raise LinkageError("identifier field names must not be empty")
        if name in out:
            raise LinkageError(f"identifier field {raw_name!r} given twice (names are case-blind)")
        is_date = name in dates if dates is not None else _is_date_field(name)
        out[name] = normalise_date(value) if is_date else normalise_text(value)
    if all(v == "" for v in out.values()):
        raise LinkageError(f"all identifiers are empty: {sorted(out)}")
    return out


def linkage_key(
    identifiers: Mapping[str, object],
    secret: bytes,
    *,
    date_fields: Iterable[str] | None = None,
) -> str:
    """Keyed linkage key: hex HMAC-SHA256 over the normalised identifiers.

    The message is a version tag followed by ``name=value`` pairs in sorted field order, so the
    key does not depend on dict order. ``secret`` must be at least :data:`MIN_SECRET_BYTES` bytes
    (see :func:`secret_from_env`).
    """
    key = _check_secret(secret)
    norm = normalise_identifiers(identifiers, date_fields=date_fields)
    message = _KEY_VERSION + "\x1e" + "\x1f".join(f"{k}={norm[k]}" for k in sorted(norm))
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def add_linkage_keys(
    records: pd.DataFrame,
    identifier_columns: Sequence[str],
    secret: bytes,
    *,
    key_col: str = "key",
    drop_identifiers: bool = True,
    date_fields: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Add a ``key`` column computed from ``identifier_columns``; by default drop those columns."""
    missing = [c for c in identifier_columns if c not in records.columns]
    if missing:
        raise LinkageError(f"identifier columns not found: {missing}")
    _check_secret(secret)
    cols = list(identifier_columns)
    keys = [
        linkage_key(dict(zip(cols, row, strict=True)), secret, date_fields=date_fields)
        for row in records[cols].itertuples(index=False, name=None)
    ]
    out = records.drop(columns=cols) if drop_identifiers else records.copy()
    out[key_col] = keys
    return out


def overlap_from_records(
    records: pd.DataFrame,
    *,
    list_col: str = "list",
    key_col: str = "key",
    stratum_col: str | None = STRATUM_COLUMN,
    lists: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Aggregated, completed overlap table from case-level records.

    Parameters
    ----------
    records
        One row per (list, case) appearance, with columns ``list`` and ``key`` (linkage key), and
        optionally ``stratum``. Repeated appearances of a case on the same list are counted once.
    stratum_col
        If this column is present, the table is built per stratum and gets a leading ``stratum``
        column (see :func:`assets.prevalence.overlap.split_strata`). A case must have one stratum.
        Pass ``None`` to ignore it.
    lists
        List names, in column order. Default: the sorted distinct values of ``list``. A named list
        with no records still gets a column (of zeros).

    Returns
    -------
    DataFrame with one 0/1 column per list and ``count``, with all ``2**k - 1`` histories.
    """
    for col in (list_col, key_col):
        if col not in records.columns:
            raise OverlapTableError(f"records have no {col!r} column")
    use_stratum = stratum_col is not None and stratum_col in records.columns
    cols = [list_col, key_col] + ([stratum_col] if use_stratum else [])
    df = records[cols].copy()
    for col in cols:
        if df[col].isna().any():
            raise OverlapTableError(f"records have missing values in {col!r}")
    df[list_col] = df[list_col].astype(str)
    found = sorted(df[list_col].unique().tolist())
    names = [str(n) for n in lists] if lists is not None else found
    unknown = sorted(set(found) - set(names))
    if unknown:
        raise OverlapTableError(f"records name lists not in `lists`: {unknown}")
    if len(names) != len(set(names)):
        raise OverlapTableError(f"list names repeat: {names}")
    if len(names) < 2:
        raise OverlapTableError(
            f"multiple systems estimation needs at least 2 lists; records have {names}"
        )
    if COUNT_COLUMN in names or (use_stratum and stratum_col in names):
        raise OverlapTableError(f"a list must not be called {COUNT_COLUMN!r} or {stratum_col!r}")

    df = df.drop_duplicates(subset=[list_col, key_col])  # deduplicate within each list
    if use_stratum:
        per_key = df.groupby(key_col)[stratum_col].nunique()
        conflicting = per_key[per_key > 1]
        if len(conflicting):
            raise OverlapTableError(
                f"{len(conflicting)} case(s) have different {stratum_col!r} values on different "
                "lists; resolve the stratum per case before estimating"
            )

    wide = pd.crosstab(df[key_col], df[list_col]).reindex(columns=names, fill_value=0)
    wide = (wide > 0).astype(np.int64)

    def _aggregate(w: pd.DataFrame) -> pd.DataFrame:
        if w.empty:
            out = pd.DataFrame(all_histories(len(names)), columns=names)
            out[COUNT_COLUMN] = 0
            return out
        agg = w.groupby(names).size().rename(COUNT_COLUMN).reset_index()
        return complete_overlap_table(agg, names)

    if not use_stratum:
        return _aggregate(wide)
    stratum_of = df.drop_duplicates(subset=[key_col]).set_index(key_col)[stratum_col]
    parts = []
    for value in pd.unique(stratum_of):
        table = _aggregate(wide.loc[stratum_of.index[stratum_of == value]])
        table.insert(0, stratum_col, value)
        parts.append(table)
    return pd.concat(parts, ignore_index=True)
