"""Dagster resources: the assessment settings and the DuckDB warehouse IO manager.

Both are thin: the settings load the validated config (``pipelines.config``), and the IO manager
hands DataFrames to ``pipelines.warehouse``, which replaces one wave's rows per write.
"""


import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import pandas as pd

from pipelines import warehouse
from pipelines.coordination import STATE_TAG, WAVE_TAG, wave_lock
from pipelines.config import DEFAULT_CONFIG, Assessment, load_assessment
from pipelines.failures import as_user_failure
from pipelines.faults import crash_point


class AssessmentSettings(dg.ConfigurableResource):
    """Which assessment to run and where its data, warehouse and published site live.

    Empty paths fall back to the config file's own values.
    """

    config_path: str = str(DEFAULT_CONFIG)
    data_dir: str = ""
    warehouse: str = ""
    output_dir: str = ""

    def assessment(self) -> Assessment:
        return load_assessment(self.config_path)

    def data_path(self) -> Path:
        return Path(self.data_dir).resolve() if self.data_dir else self.assessment().data_dir

    def warehouse_path(self) -> Path:
        return Path(self.warehouse).resolve() if self.warehouse else self.assessment().warehouse

    def output_path(self) -> Path:
        return Path(self.output_dir).resolve() if self.output_dir else self.assessment().output_dir


def settings_from_environment() -> AssessmentSettings:
    """Settings from HTNA_CONFIG / HTNA_DATA / HTNA_WAREHOUSE / HTNA_OUTPUT (the CLI sets these)."""
    return AssessmentSettings(
        config_path=os.environ.get("HTNA_CONFIG") or str(DEFAULT_CONFIG),
        data_dir=os.environ.get("HTNA_DATA", ""),
        warehouse=os.environ.get("HTNA_WAREHOUSE", ""),
        output_dir=os.environ.get("HTNA_OUTPUT", ""),
    )


#: AssetIn metadata naming the columns an input needs (a role: weighting, headline, models)
COLUMNS_KEY = "htna/columns"


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Stores each asset as a table in the assessment's DuckDB file, one slice of rows per wave."""

    settings: dg.ResourceDependency[AssessmentSettings]

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["WarehouseIOManager"]:
        """While a run executes, it holds its wave's turn (:func:`pipelines.coordination.wave_lock` in the
        instance's home): a second run of the wave, whoever started it, waits here until the first ends."""
        run = context.dagster_run
        wave = run.tags.get(WAVE_TAG) if run is not None else None
        instance = context.instance
        if wave is None or instance is None or instance.is_ephemeral:  # a test's in-memory instance: no home
            with super().yield_for_execution(context) as manager:
                yield manager
            return

        def waiting() -> None:
            context.log.info(f"waiting for another run of wave {wave} to finish (one run of a wave at a time)")

        # a multiprocess run initialises this in each step's process: those share the wave's turn
        shared = self.settings.assessment().config.execution.executor == "multiprocess"
        state = run.tags.get(STATE_TAG)  # a state of a multi-state workspace: its own lock per wave
        with wave_lock(Path(instance.root_directory), wave, on_wait=waiting, shared=shared, state=state), \
                super().yield_for_execution(context) as manager:
            yield manager

    def _table(self, key: dg.AssetKey) -> str:
        return key.path[-1]

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        with as_user_failure():  # a failed write reaches Dagster as a message without data
            self._store(context, obj)

    def _store(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        if obj is None:
            return
        wave = context.asset_partition_key
        crash_point(f"asset:{self._table(context.asset_key)}:before-write")
        if isinstance(obj, warehouse.RowsOf):  # rows of a table already stored: copied inside DuckDB
            rows = warehouse.replace_wave_from(self.settings.warehouse_path(), self._table(context.asset_key),
                                               wave, obj)
            obj = obj.frame
        else:
            rows = warehouse.replace_wave(self.settings.warehouse_path(), self._table(context.asset_key), wave, obj)
        context.add_output_metadata({
            "dagster/row_count": dg.MetadataValue.int(rows),
            "table": dg.MetadataValue.text(f"{warehouse.SCHEMA}.{self._table(context.asset_key)}"),
            "dagster/column_schema": dg.TableSchema(columns=[
                dg.TableColumn(name=str(c), type=str(t)) for c, t in obj.dtypes.items()]),
        })

    def _columns(self, context: dg.InputContext) -> list[str] | None:
        """The columns an input needs, when its AssetIn names a role in metadata ``htna/columns``
        (a million-row table is read only as wide as the asset uses it)."""
        role = (context.definition_metadata or {}).get(COLUMNS_KEY)
        if role is None:
            return None
        role = getattr(role, "value", role)
        assessment = self.settings.assessment()
        if role == "weighting":
            from assets.estimates.weighting import weighting_columns

            return weighting_columns(assessment)
        if role == "headline":
            from assets.estimates.headline import headline_columns

            return headline_columns(assessment)
        if role == "weights":  # what checking the stored weights against the design needs
            return ["respondent_id", "weight"]
        if role == "weighting atoms":  # the publication gate: each post-stratum's weights
            return ["poststratum", "weight", "in_weighting"]
        if role == "open-ended":  # the theme columns of the open-ended questions
            from assets.estimates.interview_themes import open_ended_columns

            return open_ended_columns(assessment)
        if role == "models":
            from assets.models.training_gap import model_columns

            return model_columns(assessment)
        raise ValueError(f"unknown column role {role!r} in the metadata of an input of {context.asset_key}")

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        with as_user_failure():
            return self._load(context)

    def _load(self, context: dg.InputContext) -> pd.DataFrame:
        waves = sorted(context.asset_partition_keys)
        table = self._table(context.asset_key)
        if len(waves) == 1:  # read_wave's frame, with each answer's text made once
            return warehouse.read_answers(self.settings.warehouse_path(), table, waves[0], self._columns(context))
        # several waves (e.g. for trends): those already in the warehouse, in one query
        frame = warehouse.read_waves(self.settings.warehouse_path(), table, waves)
        return frame.reset_index(drop=True) if len(frame) else pd.DataFrame()
