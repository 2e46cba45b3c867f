"""Ingest the daily S3 drop of store inventory movements.

Reads every ``{source_root}/s3/inventory/dt={ds}/*.json`` file (newline-delimited JSON) and
replaces the ``ds`` partition of ``raw.inventory_movements`` in one transaction.
"""

from __future__ import annotations

from typing import Any

# DAG, task and operators from Airflow 2.x or 3.x, whichever runs this file.
from northstar_common.compat import DAG, task
from northstar_common.datasets import RAW_INVENTORY_MOVEMENTS
from northstar_common.defaults import START_DATE, SUPPLY_OWNER, default_args
from northstar_common.schedules import schedule

with DAG(
    dag_id="ingest_inventory",
    description="S3 inventory movement drops -> raw.inventory_movements",
    schedule=schedule("0 3 * * *"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(SUPPLY_OWNER),
    tags=["northstar", "ingest", "supply", "s3"],
    doc_md=__doc__,
):

    @task(outlets=[RAW_INVENTORY_MOVEMENTS])
    def load_inventory_movements(**context: Any) -> int:
        from northstar_common.adapters import open_warehouse
        from northstar_common.loaders import load_inventory_drop
        from northstar_common.runtime import load_run, record_data_date
        from northstar_common.settings import Settings

        settings = Settings.from_airflow()
        run = load_run(context, settings)
        with open_warehouse(settings) as warehouse:
            rows = load_inventory_drop(warehouse, settings.source_root, run)
        record_data_date(context, RAW_INVENTORY_MOVEMENTS, run.load_date)
        return rows

    load_inventory_movements()
