"""Crash points for testing crash safety: a run killed here must leave nothing half-written.

``HTNA_CRASH_AT=<point>`` makes the process die abruptly (``os._exit``, as a kill -9 would) when it
reaches that point; the tests then run again and compare with an uninterrupted run. Unset (always,
in normal use) it does nothing.
"""

from __future__ import annotations

import os


def crash_point(name: str) -> None:
    if os.environ.get("HTNA_CRASH_AT") == name:
        os._exit(137)
