"""Builds the jaffle shop dbt project (seeds, models, tests) every day.

The project sits at the repository root, one level above this folder. Build output goes to the
environment's scratch space (the deployed code is read-only); the warehouse path is the
environment's `warehouse_path` Variable, read at run time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow import DAG
from airflow.datasets import Dataset
from airflow.operators.bash import BashOperator

PROJECT_DIR = Path(__file__).resolve().parents[1]
ORDERS = Dataset("duckdb://jaffle_shop/main/orders")

with DAG(
    dag_id="jaffle_shop_dbt",
    start_date=datetime(2024, 1, 1),
    schedule="@daily",
    catchup=False,
    default_args={
        "owner": "analytics",
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
    },
    tags=["dbt"],
):
    BashOperator(
        task_id="dbt_build",
        bash_command=(
            f"dbt build --project-dir {PROJECT_DIR} --profiles-dir {PROJECT_DIR} "
            "--target {{ 'prod' if var.value.release_env == 'prod' else 'dev' }} "
            "--target-path {{ var.value.scratch_root }}/jaffle_shop/target "
            "--log-path {{ var.value.scratch_root }}/jaffle_shop/logs"
        ),
        env={"DUCKDB_PATH": "{{ var.value.warehouse_path }}"},
        append_env=True,
        outlets=[ORDERS],
    )
