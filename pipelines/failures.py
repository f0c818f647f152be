"""Turn a user's input or config problem into a clean Dagster failure (message, no traceback)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import dagster as dg

from pipelines.errors import HtnaError


@contextmanager
def as_user_failure() -> Iterator[None]:
    try:
        yield
    except HtnaError as exc:
        raise dg.Failure(description=str(exc), metadata={"error": dg.MetadataValue.text(type(exc).__name__)},
                         allow_retries=False) from None
