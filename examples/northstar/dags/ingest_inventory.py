"""Ingest the daily S3 drop of store inventory movements.

Reads every ``{source_root}/s3/inventory/dt={ds}/*.json`` file (newline-delimited JSON) and
replaces the ``ds`` partition of ``raw.inventory_movements`` in one transaction.
"""

from __future__ import annotations

from typing import Any

from airflow import DAG
from airflow.decorators import task

from northstar_common.datasets import RAW_INVENTORY_MOVEMENTS
from northstar_common.defaults import START_DATE, SUPPLY_OWNER, default_args

with DAG(
    dag_id="ingest_inventory",
    description="S3 inventory movement drops -> raw.inventory_movements",
    schedule="0 3 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(SUPPLY_OWNER),
    tags=["northstar", "ingest", "supply", "s3"],
    doc_md=__doc__,
):

    @task(outlets=[RAW_INVENTORY_MOVEMENTS])
    def load_inventory_movements(**context: Any) -> int:
        from northstar_common.loaders import load_inventory_drop
        from northstar_common.runtime import load_run
        from northstar_common.settings import Settings
        from northstar_common.warehouse import connect

        settings = Settings.from_airflow()
        with connect(settings.warehouse_path) as con:
            return load_inventory_drop(con, settings.source_root, load_run(context, settings))

    load_inventory_movements()
