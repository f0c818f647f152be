"""Two runs registering the same waves at once: the one that loses the insert race still succeeds."""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy.exc

from pipelines.partitions import WAVES, register_waves


def test_a_wave_added_by_another_process_during_the_insert_is_not_an_error(tmp_path):
    """The storage checks and inserts in two statements; another run can insert in between, and the
    unique index then refuses the whole batch (what CI saw with two waves started at once)."""
    with dg.DagsterInstance.local_temp(str(tmp_path)) as mine, dg.DagsterInstance.local_temp(str(tmp_path)) as other:
        real_add = mine.add_dynamic_partitions
        calls = []

        def lose_the_race_once(name, keys):
            calls.append(list(keys))
            if len(calls) == 1:
                other.add_dynamic_partitions(WAVES, ["2015"])
                raise sqlalchemy.exc.IntegrityError("INSERT INTO dynamic_partitions", {}, Exception("UNIQUE constraint failed"))
            return real_add(name, keys)

        mine.add_dynamic_partitions = lose_the_race_once
        assert register_waves(mine, ["2015", "2016", "2015"]) == ["2015", "2016"]
        assert sorted(mine.get_dynamic_partitions(WAVES)) == ["2015", "2016"]
        assert calls == [["2015", "2016"], ["2016"]]


def test_a_refusal_that_leaves_a_wave_missing_is_raised(tmp_path):
    with dg.DagsterInstance.local_temp(str(tmp_path)) as mine:
        def refuse(name, keys):
            raise sqlalchemy.exc.OperationalError("INSERT", {}, Exception("database is locked"))

        mine.add_dynamic_partitions = refuse
        with pytest.raises(sqlalchemy.exc.OperationalError):
            register_waves(mine, ["2015"])


def test_registering_known_waves_adds_nothing(tmp_path):
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        assert register_waves(instance, ["2015"]) == ["2015"]
        assert register_waves(instance, ["2015"]) == []
        assert instance.get_dynamic_partitions(WAVES) == ["2015"]
