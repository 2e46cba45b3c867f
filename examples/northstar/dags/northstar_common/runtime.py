"""Helpers that turn an Airflow task context into Northstar run parameters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from northstar_common.canary import schema_suffix_from_context
from northstar_common.compat import TRIGGERING_EVENTS_KEY
from northstar_common.loaders import LoadRun
from northstar_common.settings import Settings

DATA_DATE_EXTRA = "data_date"
"""The Dataset event extra naming the partition date the producing run wrote."""


def run_date(context: Mapping[str, Any], settings: Settings | None = None) -> date:
    """The run's partition date: ``dag_run.conf["data_date"]`` when a run is triggered for a
    given day (release integration runs, manual re-loads); on a compressed clock
    (``settings.schedule_compression`` > 1, where a real day holds no data), the generated
    source day its logical date maps to (``northstar_common.schedules.data_day``: a re-run
    with the same logical date loads the same day); else ``ds``, the day a scheduled daily
    run is responsible for."""
    dag_run = context.get("dag_run")
    conf = getattr(dag_run, "conf", None) or {}
    override = conf.get("data_date")
    if override:
        return date.fromisoformat(str(override))
    moment = context.get("logical_date")
    if settings is not None and settings.schedule_compression > 1 and moment is not None:
        from northstar_common.loaders import generated_days
        from northstar_common.schedules import data_day

        return data_day(moment, settings.schedule_compression, generated_days(settings.source_root))
    if context.get("ds"):
        return date.fromisoformat(context["ds"])
    # Airflow 3: an Asset-triggered run has no logical date (no ``ds``): the day it ran after.
    return context["dag_run"].run_after.date()  # type: ignore[no-any-return]


def triggering_partition_date(context: Mapping[str, Any]) -> date:
    """For a Dataset-triggered run, the newest partition date of the upstream runs.

    A Dataset-triggered run's own ``ds`` is the moment it was triggered (usually the next day);
    the data it processes belongs to the upstream runs. Per event, the date is the ``data_date``
    extra the producer stamped (``record_data_date``: the partition it actually loaded, which
    for a manual re-load triggered with ``conf.data_date`` differs from its logical date), else
    the source run's logical date (events of producers that stamp nothing). Both Airflow 2.x and
    3.x events carry the source run (3.x's task SDK fetches ``source_dag_run``), but an
    Asset-triggered or manual source run on 3.x may have no logical date. Manual and test runs
    have no triggering events and fall back to ``run_date``.
    """
    events = context.get(TRIGGERING_EVENTS_KEY) or {}
    upstream = [
        _event_date(event) for dataset_events in events.values() for event in dataset_events
    ]
    known = [day for day in upstream if day is not None]
    return max(known) if known else run_date(context)


def _event_date(event: Any) -> date | None:
    """The event's ``data_date`` extra, else its source run's logical date, else ``None``."""
    extra = getattr(event, "extra", None) or {}
    value = extra.get(DATA_DATE_EXTRA)
    if value:
        return date.fromisoformat(str(value))
    source = getattr(event, "source_dag_run", None)
    if source is not None and getattr(source, "logical_date", None) is not None:
        return source.logical_date.date()  # type: ignore[no-any-return]
    return None


def record_data_date(context: Mapping[str, Any], dataset: Any, day: date) -> None:
    """Stamp the partition a producer wrote on its Dataset event (``extra.data_date``): the
    consumer reads it before the source run's logical date, which a manual re-load of another
    day (``conf.data_date``) or an Airflow 3 run without a logical date does not give."""
    outlet_events = context.get("outlet_events")
    if outlet_events is not None:
        outlet_events[dataset].extra = {DATA_DATE_EXTRA: day.isoformat()}


def load_run(context: Mapping[str, Any], settings: Settings) -> LoadRun:
    """The ``LoadRun`` of a loader task: partition date (``run_date``, compressed clock
    included), release id and env
    from the Variables, DAG and run ids, and the canary's schema suffix from the run conf
    (``InvalidSchemaSuffixError`` when the conf holds an unsafe one)."""
    return LoadRun(
        load_date=run_date(context, settings),
        release_id=settings.release_id,
        release_env=settings.release_env,
        dag_id=context["dag"].dag_id,
        run_id=context["run_id"],
        schema_suffix=schema_suffix_from_context(context),
    )
