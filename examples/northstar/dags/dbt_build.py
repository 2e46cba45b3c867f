"""Build and test the Northstar dbt project against the environment's warehouse.

Runs once the raw orders, raw customers and the lake inventory positions have all been updated.
dbt writes its artifacts and logs to ``{scratch_root}/dbt/<dag>/<run>``, never into the
(read-only) deployed project. Canary runs pass ``--vars '{"schema_suffix": ...}'`` so every model
lands in ``<schema><suffix>``, and read their sources from the input snapshot
``raw<source_suffix>`` (conf ``source_suffix``; ``raw`` without one) and the base lake. Where the
stable names are release pointers (Variable ``release_schemas``: prod), a run without a suffix
builds into the live release's schemas, ``<schema>__r_<release_id>``
(``northstar_common.canary``); conf ``full_refresh: true`` with a ``schema_suffix`` adds
``--full-refresh``. The run's feature flags (``northstar_common.flags``: the environment's flag
store, or a canary's ``dag_run.conf["feature_flags"]``) go to dbt as the var ``feature_flags`` in
the same ``--vars``.
The dbt target is the ``warehouse_kind`` Variable: ``duckdb`` (default) or ``snowflake`` (whose
profile reads the worker's ``SNOWFLAKE_*`` environment).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

# DAG, task and operators from Airflow 2.x or 3.x, whichever runs this file.
from northstar_common.compat import DAG, BashOperator, task
from northstar_common.datasets import INVENTORY_POSITIONS, MARTS, RAW_CUSTOMERS, RAW_ORDERS
from northstar_common.defaults import PLATFORM_OWNER, START_DATE, default_args

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt"
_PROJECT = shlex.quote(str(DBT_PROJECT_DIR))

# DuckDB allows one writing process per file: when another one holds the warehouse (a load of
# another DAG, the release platform reading it), dbt fails at once with "Could not set lock on
# file" before building anything. The build is then retried every 5 s for up to 300 s (as the
# loaders wait: northstar_common.warehouse.LOCK_WAIT_SECONDS), printing each wait; any other
# failure, or a lock held longer, fails the task as dbt reported it.
DBT_BUILD = f"""set -uo pipefail
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
deadline=$((SECONDS + 300))
while true; do
  dbt build \\
    --project-dir {_PROJECT} \\
    --profiles-dir {_PROJECT} \\
    --target "$NORTHSTAR_DBT_TARGET" \\
    --target-path "$DBT_TARGET_PATH" \\
    --log-path "$DBT_LOG_PATH" \\
    --vars "$NORTHSTAR_DBT_VARS" \\
    --no-use-colors ${{NORTHSTAR_DBT_FULL_REFRESH:+--full-refresh}} 2>&1 | tee "$out"
  status=${{PIPESTATUS[0]}}
  if [ "$status" -eq 0 ]; then exit 0; fi
  if ! grep -q "Could not set lock on file" "$out" || [ "$SECONDS" -ge "$deadline" ]; then
    exit "$status"
  fi
  echo "the warehouse is locked by another process; dbt build again in 5 s"
  sleep 5
done
"""

with DAG(
    dag_id="dbt_build",
    description="dbt build (models + tests): raw -> staging -> marts",
    schedule=[RAW_ORDERS, RAW_CUSTOMERS, INVENTORY_POSITIONS],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(PLATFORM_OWNER, retries=1),
    tags=["northstar", "dbt", "transform", "marts"],
    doc_md=__doc__,
):

    @task
    def plan_dbt_run(**context: Any) -> dict[str, str]:
        """Resolve warehouse, lake and scratch locations and the feature flags from Variables
        and the run conf."""
        from northstar_common.canary import (
            full_refresh_from_context,
            schema_suffix_from_context,
            source_suffix_from_context,
        )
        from northstar_common.commands import dbt_env
        from northstar_common.flags import feature_flags
        from northstar_common.settings import Settings

        settings = Settings.from_airflow()
        return dbt_env(
            settings,
            schema_suffix_from_context(context),
            dag_id=context["dag"].dag_id,
            run_id=context["run_id"],
            flags=feature_flags(context, settings),
            source_suffix=source_suffix_from_context(context),
            full_refresh=full_refresh_from_context(context),
        )

    BashOperator(
        task_id="dbt_build",
        bash_command=DBT_BUILD,
        env=plan_dbt_run(),
        append_env=True,
        outlets=[MARTS],
    )
