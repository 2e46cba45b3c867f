"""The shared DAG library of the repository (``dags/scale_common``)."""

from __future__ import annotations

from .model import DOMAINS, PLATFORM_TEAM, owner_const
from .text import fill

_SCALE_COMMON = '''"""Shared DAG building blocks: start date, owners, task defaults, Datasets.

Cheap to import at DAG parse time: nothing here reads Variables, connections or files.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.datasets import Dataset

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")

<<owners>>

MARTS = Dataset("duckdb://warehouse/marts")


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


def raw_dataset(table: str) -> Dataset:
    """The Dataset an ingestion DAG updates when it loads ``raw.<table>``."""
    return Dataset(f"duckdb://warehouse/raw.{table}")


def lake_dataset(name: str) -> Dataset:
    """The Dataset of a lake folder (Spark output, exports) under ``lake_root``."""
    return Dataset(f"file://lake/{name}")
'''


def render_scale_common() -> str:
    teams = sorted({d.team for d in DOMAINS} | {PLATFORM_TEAM})
    owners = "\n".join(sorted(f'{owner_const(t)} = "{t}"' for t in teams))
    return fill(_SCALE_COMMON, owners=owners)
