"""Ingest the nightly Postgres extract of orders and order items.

Reads ``{source_root}/postgres/orders/orders_{ds}.csv`` and
``{source_root}/postgres/order_items/order_items_{ds}.csv`` and replaces the ``ds`` partition of
``raw.orders`` and ``raw.order_items`` in one transaction (re-runs never duplicate rows).
Canary runs (``dag_run.conf.schema_suffix``) write to ``raw<suffix>`` instead.
"""

from __future__ import annotations

from typing import Any

# DAG, task and operators from Airflow 2.x or 3.x, whichever runs this file.
from northstar_common.compat import DAG, task
from northstar_common.datasets import RAW_ORDER_ITEMS, RAW_ORDERS
from northstar_common.defaults import COMMERCE_OWNER, START_DATE, default_args
from northstar_common.schedules import schedule

with DAG(
    dag_id="ingest_orders",
    description="Postgres orders extract -> raw.orders, raw.order_items",
    schedule=schedule("@daily"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(COMMERCE_OWNER),
    tags=["northstar", "ingest", "commerce", "postgres"],
    doc_md=__doc__,
):

    @task
    def check_extract(**context: Any) -> dict[str, str]:
        """Fail (and retry) until both extract files have landed with the contracted header."""
        from northstar_common.loaders import check_orders_extract
        from northstar_common.runtime import run_date
        from northstar_common.settings import Settings

        settings = Settings.from_airflow()
        paths = check_orders_extract(settings.source_root, run_date(context, settings))
        return {table: str(path) for table, path in paths.items()}

    @task(outlets=[RAW_ORDERS, RAW_ORDER_ITEMS])
    def load_orders(**context: Any) -> dict[str, int]:
        from northstar_common.adapters import open_warehouse
        from northstar_common.loaders import load_orders_extract
        from northstar_common.runtime import load_run
        from northstar_common.settings import Settings

        settings = Settings.from_airflow()
        with open_warehouse(settings) as warehouse:
            return load_orders_extract(warehouse, settings.source_root, load_run(context, settings))

    check_extract() >> load_orders()
