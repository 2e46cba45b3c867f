"""Helpers that turn an Airflow task context into Northstar run parameters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from northstar_common.canary import schema_suffix_from_context
from northstar_common.loaders import LoadRun
from northstar_common.settings import Settings


def run_date(context: Mapping[str, Any]) -> date:
    """The run's partition date: ``dag_run.conf["data_date"]`` when a run is triggered for a
    given day (release integration runs, manual re-loads), else ``ds``, the day a scheduled
    daily run is responsible for."""
    conf = getattr(context.get("dag_run"), "conf", None) or {}
    override = conf.get("data_date")
    if override:
        return date.fromisoformat(str(override))
    return date.fromisoformat(context["ds"])


def triggering_partition_date(context: Mapping[str, Any]) -> date:
    """For a Dataset-triggered run, the newest partition date of the upstream runs.

    A Dataset-triggered run's own ``ds`` is the moment it was triggered (usually the next day);
    the data it processes belongs to the upstream runs' logical dates. Manual and test runs have
    no triggering events and fall back to ``ds``.
    """
    events = context.get("triggering_dataset_events") or {}
    upstream = [
        event.source_dag_run.logical_date.date()
        for dataset_events in events.values()
        for event in dataset_events
        if getattr(event, "source_dag_run", None) is not None
    ]
    return max(upstream) if upstream else run_date(context)


def load_run(context: Mapping[str, Any], settings: Settings) -> LoadRun:
    return LoadRun(
        load_date=run_date(context),
        release_id=settings.release_id,
        release_env=settings.release_env,
        dag_id=context["dag"].dag_id,
        run_id=context["run_id"],
        schema_suffix=schema_suffix_from_context(context),
    )
