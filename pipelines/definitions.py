"""The project's code location (``workspace.yaml``, ``dagster dev``, ``dg dev``): the assessment's
Definitions for the config, data folder, warehouse and output folder this checkout's environment names
(``HTNA_CONFIG`` and friends; default ``config/maine/``). They are built by
:func:`pipelines.assessment_definitions.build_definitions`, the one place that builds Definitions."""

from pipelines.assessment_definitions import build_definitions, run_executor  # noqa: F401 (tests, tools)
from pipelines.resources import settings_from_environment

defs = build_definitions(settings_from_environment())
