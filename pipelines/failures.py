"""Turn any error inside a Dagster step into a clean failure: a message, no traceback, no data.

Whatever is raised inside :func:`as_user_failure` reaches Dagster, and so its run history, logs and
the terminal, only as a :class:`dagster.Failure` whose description holds nothing read from an
input:

* a :class:`~pipelines.errors.HtnaError` (a problem the user can fix) keeps its message, which
  by design names positions, never values;
* a full disk (``ENOSPC``, ``EDQUOT``, DuckDB's "No space left on device") becomes a message
  saying so and what to do;
* anything else is a bug, whose message may quote the data it choked on (``KeyError('<a name>')``,
  "could not convert string to float: '<an answer>'"): it is reported by its type and the line of
  code that raised it, never its message.

The original exception is not chained (``from None``), so Dagster stores none of its text.
"""

from __future__ import annotations

import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg

from pipelines.errors import DISK_FULL_MESSAGE, HtnaError, disk_full

_REPO = Path(__file__).resolve().parent.parent
def _where(frame: traceback.FrameSummary) -> str:
    path = Path(frame.filename)
    try:
        shown = str(path.resolve().relative_to(_REPO))
    except ValueError:
        parts = path.parts
        shown = "/".join(parts[parts.index("site-packages") + 1:]) if "site-packages" in parts else path.name
    return f"{shown}:{frame.lineno} ({frame.name})"


def internal_error_message(exc: BaseException) -> str:
    """A bug, described by its type and where it was raised; never by its message (it may quote data)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if str(_REPO) in str(Path(f.filename).resolve()) and "site-packages" not in f.filename]
    where = _where(frames[-1]) if frames else "an unknown place"
    if ours and ours[-1] is not frames[-1]:
        where += f", called from {_where(ours[-1])}"
    return (f"internal error: {type(exc).__module__}.{type(exc).__qualname__} raised at {where}; its message is "
            "withheld because it may quote the data\n"
            "  (this is a bug in htna, not a problem with your files: please report it with this message)")


def failure_for(exc: BaseException) -> dg.Failure:
    """The clean Dagster failure for any error (see the module's docstring)."""
    if isinstance(exc, HtnaError):
        return dg.Failure(description=str(exc), metadata={"error": dg.MetadataValue.text(type(exc).__name__)},
                          allow_retries=False)
    if disk_full(exc):
        return dg.Failure(description=DISK_FULL_MESSAGE, metadata={"error": dg.MetadataValue.text("disk full")},
                          allow_retries=False)
    return dg.Failure(description=internal_error_message(exc),
                      metadata={"error": dg.MetadataValue.text(type(exc).__name__), "internal": True},
                      allow_retries=False)


@contextmanager
def as_user_failure() -> Iterator[None]:
    try:
        yield
    except (dg.Failure, dg.RetryRequested):
        raise  # already a clean failure (its description is ours)
    except Exception as exc:  # noqa: BLE001 - every error leaves as a message without data
        raise failure_for(exc) from None


def value_safe(fn):
    """Decorate a Dagster asset or check function (below the Dagster decorator) so that its whole
    body runs inside :func:`as_user_failure`: whatever it raises reaches Dagster as a clean failure.
    The signature, annotations and docstring Dagster reads are the function's own."""
    import functools
    import inspect

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator(*args, **kwargs):
            with as_user_failure():
                yield from fn(*args, **kwargs)
        wrapped = generator
    else:
        @functools.wraps(fn)
        def plain(*args, **kwargs):
            with as_user_failure():
                return fn(*args, **kwargs)
        wrapped = plain
    wrapped.__htna_value_safe__ = True  # type: ignore[attr-defined]
    return wrapped
