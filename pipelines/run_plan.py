"""What a run of a wave must materialise, and what it may skip: ``htna run`` re-runs only what changed.

Every asset has a code version (its stage's code and the config it reads, :mod:`pipelines.versions`),
the assets that read the wave's folder have the folder's content as data version, and Dagster records
on each materialisation the data version it derived from those (``dagster/data_version``). Before a run
the plan derives, the same way, the data version each asset would have now, and compares it with the
one recorded by the latest materialisation of the asset's wave **into this warehouse** (a run's
``htna/warehouse`` tag; the report: into this output folder too). An asset is unchanged when the two are
equal **and** its table holds, for the wave, the rows that materialisation wrote (the report: its
``index.html`` is there) **and**, for an asset with checks, that run succeeded (a blocking check that
failed stopped it: the checks run again); everything else is changed, and runs with every asset downstream of it (a
multi-asset runs whole). ``htna run --full`` runs everything.

The Dagster UI computes staleness from the same versions, so it shows the skipped assets as fresh.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster._core.definitions.data_version import (CODE_VERSION_TAG, DATA_VERSION_TAG,
                                                    compute_logical_data_version)

from pipelines.coordination import WAREHOUSE_TAG
from pipelines.versions import folder_data_version

NEVER_RUN = "not run into this warehouse"
#: how many earlier materialisations of an asset's wave are looked through for one into this warehouse
LOOK_BACK = 25


@dataclass
class RunPlan:
    """The assets a run of ``wave`` materialises (``run``) and those it skips (``skipped``: the
    materialisation each is unchanged since), with why each one runs."""

    wave: str
    assets: list[dg.AssetKey]
    run: set[dg.AssetKey] = field(default_factory=set)
    skipped: dict[dg.AssetKey, dg.EventLogRecord] = field(default_factory=dict)
    why: dict[dg.AssetKey, str] = field(default_factory=dict)

    @property
    def everything(self) -> bool:
        return len(self.run) == len(self.assets)

    def skipped_since(self) -> list[str]:
        """The runs the skipped assets were last materialised by (short ids, newest first)."""
        records = sorted(self.skipped.values(), key=lambda r: r.storage_id, reverse=True)
        return list(dict.fromkeys(r.run_id[:8] for r in records))

    def skipped_metadata(self) -> dict[str, dict]:
        """The metadata the skipped assets' materialisations recorded (for the run's summary)."""
        return {k.to_user_string(): {n: v.value for n, v in r.asset_materialization.metadata.items()}
                for k, r in self.skipped.items()}

    def lines(self) -> list[str]:
        """What ``htna run`` says about the plan."""
        causes = ", ".join(sorted(f"{k.to_user_string()} ({w})" for k, w in self.why.items()))
        if not self.skipped:
            if not self.why:  # --full
                return []
            if set(self.why.values()) == {NEVER_RUN}:
                return [f"ran all {len(self.assets)} assets (none had been run into this warehouse)"]
            return [f"ran all {len(self.assets)} assets (changed: {causes})"]
        skipped = sorted(k.to_user_string() for k in self.skipped)
        out = [f"skipped {len(skipped)} of {len(self.assets)} assets unchanged since run "
               f"{', '.join(self.skipped_since())}: {', '.join(skipped)}"]
        if self.run:
            out.append(f"ran {len(self.run)} asset(s): {', '.join(sorted(k.to_user_string() for k in self.run))}"
                       f" (changed: {causes})")
        return out


def _hash_of(values: list[str]) -> dg.DataVersion:
    """A partitioned input's data version as Dagster derives it: the SHA-256 of its partitions'
    data versions, concatenated in the order of the partition keys."""
    return dg.DataVersion(hashlib.sha256("".join(values).encode("utf8")).hexdigest())


def plan_wave(job: dg.JobDefinition, instance: dg.DagsterInstance, wave: str, warehouse: Path,
              fingerprint: str | None, table_rows, index: Path, full: bool = False) -> RunPlan:
    """The plan of a run of ``wave`` by ``job`` into ``warehouse`` (the report into ``index``).

    ``fingerprint``: the wave folder's content now (:func:`assets.ingest.drop_folder.wave_fingerprint`);
    ``table_rows(table, wave)``: the rows the warehouse holds of a table for the wave (None: no table)."""
    graph = job.asset_layer.asset_graph
    keys = list(graph.toposorted_asset_keys)
    plan = RunPlan(wave, keys)
    if full:
        plan.run = set(keys)
        return plan
    predicted: dict[dg.AssetKey, dg.DataVersion] = {}
    records, statuses = _records(instance, keys, wave, warehouse, index)
    changed: set[dg.AssetKey] = set()
    for key in keys:
        node = graph.get(key)
        code = node.code_version or ""
        if not node.parent_keys:  # it reads the wave's folder
            predicted[key] = dg.DataVersion(folder_data_version(code, fingerprint))
        else:
            predicted[key] = compute_logical_data_version(
                code, {p: _input_version(instance, graph, key, p, wave, predicted) for p in node.parent_keys})
        record = records.get(key)
        why = _why_changed(key, record, code, predicted[key], table_rows, index, wave)
        if why is None and node.check_keys and statuses.get(record.run_id) != dg.DagsterRunStatus.SUCCESS:
            # its checks may have stopped that run (a blocking check): they are run again, with it
            why = f"its checks did not pass in run {record.run_id[:8]}"
        if why is None:
            why = _other_wave_rerun(instance, graph, key, record, wave, warehouse, index)
        if why is None:
            plan.skipped[key] = record
        else:
            plan.why[key] = why
            changed.add(key)
    # a changed asset runs with its multi-asset's other outputs and everything downstream of them
    todo = list(changed)
    while todo:
        key = todo.pop()
        if key in plan.run:
            continue
        plan.run.add(key)
        node = graph.get(key)
        todo.extend(node.child_keys)
        todo.extend(k for k in node.assets_def.keys if k != key)
    for key in plan.run:
        plan.skipped.pop(key, None)
    # why: said of the assets where a change starts (not of those that run because they are below one)
    plan.why = {k: w for k, w in plan.why.items() if not set(graph.get(k).parent_keys) & plan.run}
    return plan


def _input_version(instance, graph, key, parent, wave, predicted) -> dg.DataVersion:
    """The data version Dagster will record for ``parent`` as an input of ``key`` in this wave's run."""
    if graph.get(parent).assets_def is graph.get(key).assets_def:  # an output of the same step: as it is
        return predicted[parent]
    if isinstance(graph.get_partition_mapping(key, parent), dg.AllPartitionMapping):  # every wave's
        waves = instance.get_dynamic_partitions(graph.get(parent).partitions_def.name)
        latest = instance.event_log_storage.get_latest_tags_by_partition(
            parent, dg.DagsterEventType.ASSET_MATERIALIZATION, [DATA_VERSION_TAG], asset_partitions=list(waves))
        versions = {p: tags[DATA_VERSION_TAG] for p, tags in latest.items() if DATA_VERSION_TAG in tags}
        versions[wave] = predicted[parent].value
        return _hash_of([versions[p] for p in sorted(versions)])
    return _hash_of([predicted[parent].value])


def _other_wave_rerun(instance, graph, key, record, wave, warehouse: Path, index: Path) -> str | None:
    """For an asset reading an input of every wave (trends, the indicators' history): which input of
    another wave was materialised into this warehouse after it (None: none was). Its data version says
    the same when one Dagster home serves one warehouse; this holds whatever else the home ran."""
    for parent in graph.get(key).parent_keys:
        if not isinstance(graph.get_partition_mapping(key, parent), dg.AllPartitionMapping):
            continue
        for other in instance.get_dynamic_partitions(graph.get(parent).partitions_def.name):
            if other == wave:
                continue
            later = _records(instance, [parent], other, warehouse, index)[0].get(parent)
            if later is not None and later.storage_id > record.storage_id:
                return f"{parent.to_user_string()} of wave {other} was run since"
    return None


def _records(instance, keys, wave, warehouse: Path, index: Path) -> tuple[dict[dg.AssetKey, dg.EventLogRecord],
                                                                          dict[str, dg.DagsterRunStatus]]:
    """For each asset, the latest materialisation of ``wave`` into ``warehouse`` (the report's: the
    latest into ``index``, if that run wrote this warehouse), whatever became of its run (its table
    holds what it wrote); none if a later run that does not say which warehouse it wrote materialised
    the asset. And the status of those runs."""
    found: dict[dg.AssetKey, list] = {}
    for key in keys:
        found[key] = list(instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[wave]), limit=LOOK_BACK).records)
    run_ids = {r.run_id for rs in found.values() for r in rs}
    runs = instance.get_runs(filters=dg.RunsFilter(run_ids=list(run_ids))) if run_ids else []
    warehouses = {run.run_id: run.tags.get(WAREHOUSE_TAG) for run in runs}
    out = {}
    for key, rs in found.items():
        for r in rs:  # newest first
            path = r.asset_materialization.metadata.get("path")
            if path is not None and str(path.value) != str(index):
                continue  # a site built into another output folder
            written = warehouses.get(r.run_id)
            if written is None:
                break  # a run that did not say which warehouse it wrote (a UI run of some assets): maybe this one
            if written == str(warehouse):
                out[key] = r
                break
            if path is not None:
                break  # the site in this output folder was built last from another warehouse
    return out, {run.run_id: run.status for run in runs}


def _why_changed(key, record, code: str, predicted: dg.DataVersion, table_rows, index: Path,
                 wave: str) -> str | None:
    """Why ``key`` must run (None: it is unchanged)."""
    if record is None:
        return NEVER_RUN
    mat = record.asset_materialization
    if mat.tags.get(DATA_VERSION_TAG) != predicted.value:
        return "code or config" if mat.tags.get(CODE_VERSION_TAG) != code else "input"
    if "path" in mat.metadata:
        return None if index.is_file() else "the site is missing"
    rows = mat.metadata.get("dagster/row_count")
    held = table_rows(key.path[-1], wave)
    if rows is None or held is None or held != rows.value:
        return "its table differs from what the run wrote"
    return None
