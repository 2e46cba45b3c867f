"""Schedules on the environment's clock: real time, or compressed for a local demo.

The release platform may run an environment's schedules faster than real time and says how much
faster in the Airflow Variable ``schedule_compression`` (an integer; unset or 1: real time). A
DAG's schedule is part of its definition, so it is read at parse time, from the process
environment the platform sets (``AIRFLOW_VAR_SCHEDULE_COMPRESSION``), never with
``Variable.get`` (a metadata database query on every parse).

* ``schedule("@daily")`` is the cron itself on a real clock, else a ``timedelta``: the cron's
  period divided by the compression, never shorter than ``MIN_PERIOD`` (one minute: a 2-core
  machine runs every DAG of the repository in that time).
* ``data_day(...)``: on a compressed clock a run has no real data day (a day passes every few
  minutes), so it loads one of the days the source folder holds, in turn: the run whose
  logical date falls in compressed day ``n`` (the ``n``-th period of one compressed day since
  ``EPOCH``) loads the ``n mod k``-th of the ``k`` days present, and a re-run with the same
  logical date the same day. Loads replace their day's partition, so cycling keeps row counts
  while ``_loaded_at`` moves on every load, which is what freshness watches.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

COMPRESSION_VARIABLE = "AIRFLOW_VAR_SCHEDULE_COMPRESSION"
MIN_PERIOD = timedelta(minutes=1)
"""The shortest period a compressed schedule gets."""
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
"""Where compressed days are counted from (the DAGs' ``START_DATE``)."""
_PRESETS = {
    "@hourly": timedelta(hours=1),
    "@daily": timedelta(days=1),
    "@midnight": timedelta(days=1),
    "@weekly": timedelta(weeks=1),
}


class ScheduleError(ValueError):
    """``schedule_compression`` is not a whole number >= 1, or a cron has no fixed period."""


def compression(environ: dict[str, str] | None = None) -> int:
    """The compression the platform set (``AIRFLOW_VAR_SCHEDULE_COMPRESSION``; 1 when unset
    or empty); ``ScheduleError`` naming the Variable for anything but a whole number >= 1."""
    raw = (environ if environ is not None else dict(os.environ)).get(COMPRESSION_VARIABLE, "")
    text = raw.strip() or "1"
    if not text.isdigit() or int(text) < 1:
        raise ScheduleError(
            f"Airflow Variable schedule_compression={raw!r} is not a whole number >= 1"
        )
    return int(text)


def period(cron: str) -> timedelta:
    """How often ``cron`` fires (a preset, or a cron expression whose consecutive runs are
    evenly spaced, such as ``0 3 * * *``); ``ScheduleError`` for one that is not."""
    if cron in _PRESETS:
        return _PRESETS[cron]
    from croniter import croniter

    runs = croniter(cron, EPOCH)
    fires = [runs.get_next(datetime) for _ in range(4)]
    gaps = {later - earlier for earlier, later in itertools.pairwise(fires)}
    if len(gaps) != 1:
        raise ScheduleError(f"schedule {cron!r} has no fixed period to compress")
    return gaps.pop()


def schedule(cron: str, environ: dict[str, str] | None = None) -> str | timedelta:
    """The DAG's schedule: ``cron`` on a real clock, else its period divided by the
    compression (at least ``MIN_PERIOD``)."""
    factor = compression(environ)
    if factor == 1:
        return cron
    return max(MIN_PERIOD, period(cron) / factor)


def compressed_day_index(moment: datetime, factor: int) -> int:
    """Which compressed day ``moment`` (aware) falls in: whole compressed days (a real day
    divided by ``factor``) since ``EPOCH``."""
    # In seconds: Airflow hands pendulum datetimes, whose differences do not divide by a
    # timedelta.
    day_s = timedelta(days=1).total_seconds() / factor
    return int((moment - EPOCH).total_seconds() // day_s)


def data_day(moment: datetime, factor: int, days: Sequence[date]) -> date:
    """The data day a run with logical date ``moment`` loads on a compressed clock: the
    ``compressed_day_index mod len(days)``-th of the sorted ``days`` present;
    ``ScheduleError`` when there are none."""
    if not days:
        raise ScheduleError("no data day in the source folder for a run on a compressed clock")
    ordered = sorted(days)
    return ordered[compressed_day_index(moment, factor) % len(ordered)]
