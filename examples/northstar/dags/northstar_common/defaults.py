"""DAG-level defaults shared by every Northstar DAG."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")

COMMERCE_OWNER = "commerce-data"
SUPPLY_OWNER = "supply-chain-data"
PLATFORM_OWNER = "data-platform"

EXECUTION_TIMEOUT = timedelta(hours=1)
"""The longest any task may run before Airflow fails it."""
EMR_WAITER_DELAY_S = 30
"""Seconds between two polls of the EMR Serverless application's and job run's state."""
EMR_WAITER_MAX_ATTEMPTS = 55
"""Polls before ``EmrServerlessStartJobOperator`` gives up and cancels the job run. It waits
with this bound for the application to start, then again for the job run: 2 x 55 x 30 s =
55 min stays below ``EXECUTION_TIMEOUT``, so the operator's own timeout (which cancels the job
run) fires before Airflow kills the task."""


CANARY_MARK = "__canary_"
"""The release platform serves a release's canary copies as ``<dag_id>__canary_<release>``."""


PLATFORM_RUN_TYPES = frozenset({"manual"})
"""Run types of the runs the release platform starts (through the REST API)."""


def skip_unrequested_canary_run(context: Any) -> None:
    """Skip a task of a canary copy's run that the scheduler started (``scheduled`` or
    ``dataset_triggered``): where schedules run, a served copy keeps its DAG's schedule and
    Dataset triggers, and such a run would write from live inputs beside the platform's own
    runs of the copy (canaries, data-rollback re-loads), which it triggers by hand."""
    run_type = getattr(context.get("dag_run"), "run_type", "")
    run_type = getattr(run_type, "value", run_type)
    if CANARY_MARK in context["dag"].dag_id and run_type not in PLATFORM_RUN_TYPES:
        from airflow.exceptions import AirflowSkipException

        raise AirflowSkipException(
            f"a canary copy runs only when the release platform triggers it; this run is "
            f"{run_type or 'of an unknown type'}"
        )


def default_args(owner: str, *, retries: int = 2) -> dict[str, Any]:
    """Task defaults: an accountable owner, bounded retries, a hard execution timeout, and no
    work in a canary copy's run the platform did not trigger (``skip_unrequested_canary_run``)."""
    return {
        "owner": owner,
        "retries": retries,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": EXECUTION_TIMEOUT,
        "depends_on_past": False,
        "email_on_failure": False,
        "email_on_retry": False,
        "pre_execute": skip_unrequested_canary_run,
    }
