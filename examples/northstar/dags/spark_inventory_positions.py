"""Compute current stock positions per store and SKU with Spark.

Triggered by the inventory movements Dataset. Runs ``spark/jobs/inventory_positions.py`` with
``spark-submit --master local[1]`` over the S3 inventory drops and overwrites the
``as_of=<date>`` partition of ``{lake_root}/inventory_positions`` (idempotent). The as-of date is
the partition of the upstream ingest run that triggered this one (``ds`` for manual runs).

The ``spark_runner`` Variable picks the runner when the run starts: ``local`` (default,
``spark-submit`` on the worker) or ``emr_serverless`` (the job the release staged to S3, listed in
``_release/spark_jobs.json``, runs on EMR Serverless over the drops at ``inventory_input_uri``;
the task waits for the job run to end, and a retry re-attaches to the job run instead of
starting another one: ``northstar_common.emr``).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from airflow.providers.amazon.aws.operators.emr import EmrServerlessStartJobOperator

# DAG, task and operators from Airflow 2.x or 3.x, whichever runs this file.
from northstar_common.compat import DAG, BashOperator, task
from northstar_common.datasets import INVENTORY_POSITIONS, RAW_INVENTORY_MOVEMENTS
from northstar_common.defaults import (
    EMR_WAITER_DELAY_S,
    EMR_WAITER_MAX_ATTEMPTS,
    START_DATE,
    SUPPLY_OWNER,
    default_args,
)

SPARK_JOB = Path(__file__).resolve().parents[1] / "spark" / "jobs" / "inventory_positions.py"

SPARK_SUBMIT = f"""set -euo pipefail
mkdir -p "$SPARK_LOCAL_DIRS"
spark-submit \\
  --master 'local[1]' \\
  --name northstar-inventory-positions \\
  --driver-memory 1g \\
  --conf spark.ui.enabled=false \\
  --conf spark.log.level=WARN \\
  --conf spark.sql.shuffle.partitions=4 \\
  --conf spark.sql.session.timeZone=UTC \\
  {shlex.quote(str(SPARK_JOB))} \\
  --input "$NORTHSTAR_INVENTORY_INPUT" \\
  --output "$NORTHSTAR_POSITIONS_OUTPUT" \\
  --as-of "$NORTHSTAR_AS_OF" \\
  --release-id "$NORTHSTAR_RELEASE_ID"
"""

with DAG(
    dag_id="spark_inventory_positions",
    description="Inventory movements -> lake inventory_positions (PySpark)",
    schedule=[RAW_INVENTORY_MOVEMENTS],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(SUPPLY_OWNER),
    tags=["northstar", "spark", "supply", "lake"],
    doc_md=__doc__,
):

    @task.branch
    def choose_spark_runner() -> str:
        """The planning task of the runner the ``spark_runner`` Variable names."""
        from northstar_common.settings import Settings

        if Settings.from_airflow().spark_runner == "emr_serverless":
            return "plan_emr_positions_run"
        return "plan_positions_run"

    @task
    def plan_positions_run(**context: Any) -> dict[str, str]:
        """Resolve input/output/as-of for spark-submit from Variables and the run conf."""
        from northstar_common.canary import schema_suffix_from_context
        from northstar_common.commands import spark_positions_env
        from northstar_common.runtime import triggering_partition_date
        from northstar_common.settings import Settings

        return spark_positions_env(
            Settings.from_airflow(),
            schema_suffix_from_context(context),
            triggering_partition_date(context),
            dag_id=context["dag"].dag_id,
            run_id=context["run_id"],
        )

    @task(multiple_outputs=True)
    def plan_emr_positions_run(**context: Any) -> dict[str, Any]:
        """The EMR Serverless job run: the staged entry point, same arguments as locally."""
        from northstar_common.canary import schema_suffix_from_context
        from northstar_common.commands import spark_positions_env
        from northstar_common.emr import job_run_token, positions_job_run
        from northstar_common.runtime import triggering_partition_date
        from northstar_common.settings import Settings

        settings = Settings.from_airflow()
        dag_id, run_id = context["dag"].dag_id, context["run_id"]
        as_of = triggering_partition_date(context)
        env = spark_positions_env(
            settings, schema_suffix_from_context(context), as_of, dag_id=dag_id, run_id=run_id
        )
        clears = int(getattr(context["dag_run"], "clear_number", 0) or 0)
        token = job_run_token(dag_id, run_id, as_of.isoformat(), clears)
        return positions_job_run(settings, env, client_token=token)

    runner = choose_spark_runner()
    local_plan = plan_positions_run()
    emr_plan = plan_emr_positions_run()
    runner >> [local_plan, emr_plan]

    BashOperator(
        task_id="spark_submit_positions",
        bash_command=SPARK_SUBMIT,
        env=local_plan,
        append_env=True,
        outlets=[INVENTORY_POSITIONS],
    )
    EmrServerlessStartJobOperator(
        task_id="emr_serverless_positions",
        application_id=emr_plan["application_id"],
        execution_role_arn=emr_plan["execution_role_arn"],
        name=emr_plan["name"],
        job_driver=emr_plan["job_driver"],
        config=emr_plan["config"],  # clientToken: a retry re-attaches to the same job run
        wait_for_completion=True,
        waiter_delay=EMR_WAITER_DELAY_S,
        waiter_max_attempts=EMR_WAITER_MAX_ATTEMPTS,
        outlets=[INVENTORY_POSITIONS],
    )
