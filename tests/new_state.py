"""Moved to :mod:`pipelines.synthetic_states` (``htna bench --states`` makes invented states too)."""

from pipelines.synthetic_states import MAINE, NEW_HAMPSHIRE, invented_states, make_state_config  # noqa: F401
