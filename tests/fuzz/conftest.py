"""The fuzz targets' marker and their count of executed inputs (build/fuzz/executed.json)."""

from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line("markers", "fuzz: hypothesis fuzz targets over the readers and config loaders "
                                       "(bounded; HTNA_FUZZ_EXAMPLES raises the number of inputs)")


def pytest_sessionfinish(session, exitstatus):
    from tests.fuzz.harness import EXECUTED, write_counts

    if EXECUTED:
        write_counts()
