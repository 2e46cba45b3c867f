"""Compute current stock positions per store and SKU with Spark.

Triggered by the inventory movements Dataset. Runs ``spark/jobs/inventory_positions.py`` with
``spark-submit --master local[1]`` over the S3 inventory drops and overwrites the
``as_of=<date>`` partition of ``{lake_root}/inventory_positions`` (idempotent). The as-of date is
the partition of the upstream ingest run that triggered this one (``ds`` for manual runs).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from airflow import DAG
from airflow.decorators import task
from airflow.operators.bash import BashOperator

from northstar_common.datasets import INVENTORY_POSITIONS, RAW_INVENTORY_MOVEMENTS
from northstar_common.defaults import START_DATE, SUPPLY_OWNER, default_args

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

    BashOperator(
        task_id="spark_submit_positions",
        bash_command=SPARK_SUBMIT,
        env=plan_positions_run(),
        append_env=True,
        outlets=[INVENTORY_POSITIONS],
    )
