"""Survey waves as partitions: one per survey year, kept in the Dagster instance (dynamic partitions).

The waves come from the assessment config's ``waves:`` list, read when it is needed rather than when
the code location loads: ``htna run``, ``htna ui`` and each tick of the drop-folder sensor add the
config's waves to the instance (:func:`register_waves`), so a year added to the config is runnable
without reloading the definitions or restarting the UI.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

WAVES = "survey_waves"

survey_waves = dg.DynamicPartitionsDefinition(name=WAVES)


def register_waves(instance: dg.DagsterInstance, waves: Iterable[str]) -> list[str]:
    """Add the waves the instance does not know yet; return them."""
    known = set(instance.get_dynamic_partitions(WAVES))
    new = [w for w in waves if w not in known]
    if new:
        instance.add_dynamic_partitions(WAVES, new)
    return new
