"""DAG-level defaults shared by every Northstar DAG."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")

COMMERCE_OWNER = "commerce-data"
SUPPLY_OWNER = "supply-chain-data"
PLATFORM_OWNER = "data-platform"


def default_args(owner: str, *, retries: int = 2) -> dict[str, Any]:
    """Task defaults: an accountable owner, bounded retries and a hard execution timeout."""
    return {
        "owner": owner,
        "retries": retries,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": timedelta(hours=1),
        "depends_on_past": False,
        "email_on_failure": False,
        "email_on_retry": False,
    }
