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


def default_args(owner: str, *, retries: int = 2) -> dict[str, Any]:
    """Task defaults: an accountable owner, bounded retries and a hard execution timeout."""
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
    }
