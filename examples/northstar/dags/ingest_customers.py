"""Upsert customer profiles from the Kafka ``crm.customers`` topic batches.

Reads every ``{source_root}/kafka/customers/*.jsonl`` batch and keeps the newest record per
``customer_id`` (by ``updated_at``) in ``raw.customers``. Replaying batches is a no-op.
"""

from __future__ import annotations

from typing import Any

# DAG, task and operators from Airflow 2.x or 3.x, whichever runs this file.
from northstar_common.compat import DAG, task
from northstar_common.datasets import RAW_CUSTOMERS
from northstar_common.defaults import COMMERCE_OWNER, START_DATE, default_args
from northstar_common.schedules import schedule

with DAG(
    dag_id="ingest_customers",
    description="Kafka customer batches -> raw.customers (upsert latest per customer)",
    schedule=schedule("@hourly"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(COMMERCE_OWNER),
    tags=["northstar", "ingest", "commerce", "kafka"],
    doc_md=__doc__,
):

    @task(outlets=[RAW_CUSTOMERS])
    def upsert_customers(**context: Any) -> int:
        from northstar_common.adapters import open_warehouse
        from northstar_common.loaders import upsert_customers as upsert
        from northstar_common.runtime import load_run
        from northstar_common.settings import Settings

        settings = Settings.from_airflow()
        with open_warehouse(settings) as warehouse:
            return upsert(warehouse, settings.source_root, load_run(context, settings))

    upsert_customers()
