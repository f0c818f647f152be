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
    """Add the waves the instance does not know yet; return them.

    Two runs started together (two waves launched at once, the sensor beside a CLI run) can both find
    a wave missing and both add it; the instance's storage keeps one row per wave and refuses the
    second insert. Losing that race is not an error: the wave is registered, by the other process.
    Any other failure (the wave still absent after the refusal) is raised.
    """
    wanted = list(dict.fromkeys(waves))
    known = set(instance.get_dynamic_partitions(WAVES))
    new = [w for w in wanted if w not in known]
    if not new:
        return []
    try:
        instance.add_dynamic_partitions(WAVES, new)
    except Exception:
        # one insert for all the new waves: a refusal may have added none of them; add each one
        # missing now, alone, so a wave another process added does not stop the others
        for wave in new:
            if wave in set(instance.get_dynamic_partitions(WAVES)):
                continue
            try:
                instance.add_dynamic_partitions(WAVES, [wave])
            except Exception:
                if wave not in set(instance.get_dynamic_partitions(WAVES)):
                    raise
    return new
