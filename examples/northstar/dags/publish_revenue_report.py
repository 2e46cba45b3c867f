"""Publish the daily revenue report for finance as a CSV file.

Triggered by the marts Dataset. Exports ``marts.fct_daily_revenue`` (all days up to ``ds``) to
``{lake_root}/exports/daily_revenue_{ds}.csv``, replacing the file atomically (idempotent).
Canary runs read the marts their own canary dbt run built (``marts<suffix>``) and write to
``{lake_root}/exports<suffix>/``.
"""

from __future__ import annotations

import logging
from typing import Any

# DAG, task and operators from Airflow 2.x or 3.x, whichever runs this file.
from northstar_common.compat import DAG, task
from northstar_common.datasets import DAILY_REVENUE_EXPORT, MARTS
from northstar_common.defaults import COMMERCE_OWNER, START_DATE, default_args

log = logging.getLogger(__name__)

with DAG(
    dag_id="publish_revenue_report",
    description="marts.fct_daily_revenue -> lake exports/daily_revenue_<ds>.csv",
    schedule=[MARTS],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(COMMERCE_OWNER),
    tags=["northstar", "publish", "commerce", "finance"],
    doc_md=__doc__,
):

    @task(outlets=[DAILY_REVENUE_EXPORT])
    def export_daily_revenue(**context: Any) -> str:
        from northstar_common.adapters import open_warehouse
        from northstar_common.canary import release_input_schema, schema_suffix_from_context
        from northstar_common.commands import exports_dir
        from northstar_common.exports import export_daily_revenue as export
        from northstar_common.runtime import run_date
        from northstar_common.settings import Settings

        settings = Settings.from_airflow()
        suffix = schema_suffix_from_context(context)
        target_dir = exports_dir(settings, suffix)
        with open_warehouse(settings, read_only=True) as warehouse:
            marts = release_input_schema(warehouse, "marts", suffix)
            path, rows = export(warehouse, target_dir, run_date(context), marts)
        log.info("published %s rows of daily revenue to %s", rows, path)
        return str(path)

    export_daily_revenue()
