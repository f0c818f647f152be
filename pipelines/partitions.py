"""Survey waves as partitions: one per survey year named in the assessment config."""

from __future__ import annotations

import os

import dagster as dg

from pipelines.config import DEFAULT_CONFIG, load_assessment

survey_waves = dg.StaticPartitionsDefinition(
    load_assessment(os.environ.get("HTNA_CONFIG") or DEFAULT_CONFIG).config.waves
)
