"""Every DAG parses cleanly and without side effects, and follows team conventions.

How long a parse takes is not asserted here (a timer flags a loaded machine, not a DAG): the
release platform's dag_integrity gate checks what a DAG does at parse time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pendulum
import pytest
from airflow.models import DagBag
from airflow.models.dag import DAG

from northstar_common.compat import BashOperator

REPO_ROOT = Path(__file__).resolve().parents[1]
DAGS_DIR = REPO_ROOT / "dags"

EXPECTED_DAGS = {
    "ingest_orders",
    "ingest_inventory",
    "ingest_customers",
    "spark_inventory_positions",
    "dbt_build",
    "publish_revenue_report",
}
OWNERS = {"commerce-data", "supply-chain-data", "data-platform"}


@pytest.fixture(scope="module")
def dagbag() -> Iterator[DagBag]:
    """Parse with no AIRFLOW_VAR_* set: a top-level Variable read would be an import error."""
    saved = {
        name: os.environ.pop(name) for name in list(os.environ) if name.startswith("AIRFLOW_VAR_")
    }
    try:
        yield DagBag(dag_folder=str(DAGS_DIR), include_examples=False, safe_mode=False)
    finally:
        os.environ.update(saved)


def test_no_import_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}


def test_all_expected_dags_are_present(dagbag: DagBag) -> None:
    assert set(dagbag.dag_ids) >= EXPECTED_DAGS


def test_shared_package_is_not_parsed_as_dags(dagbag: DagBag) -> None:
    """``.airflowignore`` keeps the DAG processor out of the shared library package: every
    file it parsed is a top-level DAG module (any number of them: teams add DAGs)."""
    parsed = {Path(stat.file) for stat in dagbag.dagbag_stats}
    assert parsed, "no DAG file was parsed"
    assert not [p for p in parsed if "northstar_common" in p.parts]
    assert {p.name for p in parsed} == {p.name for p in DAGS_DIR.glob("*.py")}


def test_every_dag_follows_the_team_conventions(dagbag: DagBag) -> None:
    """Every DAG, the ones listed above and any added since: fixed start date, no catchup,
    the ``northstar`` tag, a known owning team, one active run, retries on every task."""
    problems: list[str] = []
    for dag_id, dag in sorted(dagbag.dags.items()):
        owner = dag.default_args.get("owner")
        checks = {
            "catchup must be False": dag.catchup is False,
            "start_date must be 2026-01-01 UTC": dag.start_date
            == pendulum.datetime(2026, 1, 1, tz="UTC"),
            "tags must include 'northstar'": bool(dag.tags) and "northstar" in dag.tags,
            f"owner {owner!r} is not a known team": owner in OWNERS,
            "max_active_runs must be 1": dag.max_active_runs == 1,
        }
        problems += [f"{dag_id}: {rule}" for rule, ok in checks.items() if not ok]
        for task in dag.tasks:
            if task.owner != owner:
                problems.append(f"{dag_id}.{task.task_id}: owner {task.owner!r} != {owner!r}")
            if task.retries < 1:
                problems.append(f"{dag_id}.{task.task_id}: retries must be >= 1")
    assert problems == []


def _outlets(dag: DAG) -> set[str]:
    return {outlet.uri for task in dag.tasks for outlet in task.outlets}


def _schedule(dag: DAG) -> set[str]:
    condition = dag.timetable.dataset_condition  # type: ignore[attr-defined]
    return {uri for uri, _ in condition.iter_datasets()}


def test_datasets_wire_the_dags_together(dagbag: DagBag) -> None:
    dags = {dag_id: dagbag.dags[dag_id] for dag_id in EXPECTED_DAGS}
    assert "duckdb://warehouse/raw.orders" in _outlets(dags["ingest_orders"])
    assert _outlets(dags["ingest_inventory"]) == {"duckdb://warehouse/raw.inventory_movements"}
    assert _outlets(dags["ingest_customers"]) == {"duckdb://warehouse/raw.customers"}
    assert _outlets(dags["spark_inventory_positions"]) == {"file://lake/inventory_positions"}
    assert _outlets(dags["dbt_build"]) == {"duckdb://warehouse/marts"}

    assert _schedule(dags["spark_inventory_positions"]) == {
        "duckdb://warehouse/raw.inventory_movements"
    }
    assert _schedule(dags["dbt_build"]) == {
        "duckdb://warehouse/raw.orders",
        "duckdb://warehouse/raw.customers",
        "file://lake/inventory_positions",
    }
    assert _schedule(dags["publish_revenue_report"]) == {"duckdb://warehouse/marts"}


def test_bash_tasks_use_repo_relative_code_and_runtime_env(dagbag: DagBag) -> None:
    dbt_task = dagbag.dags["dbt_build"].get_task("dbt_build")
    spark_task = dagbag.dags["spark_inventory_positions"].get_task("spark_submit_positions")
    assert isinstance(dbt_task, BashOperator) and isinstance(spark_task, BashOperator)

    dbt_dir = str(REPO_ROOT / "dbt")
    assert f"--project-dir {dbt_dir}" in dbt_task.bash_command
    assert f"--profiles-dir {dbt_dir}" in dbt_task.bash_command
    assert '--target "$NORTHSTAR_DBT_TARGET"' in dbt_task.bash_command
    assert '"$DBT_TARGET_PATH"' in dbt_task.bash_command
    assert (REPO_ROOT / "dbt" / "dbt_project.yml").is_file()

    job = REPO_ROOT / "spark" / "jobs" / "inventory_positions.py"
    assert str(job) in spark_task.bash_command and job.is_file()
    assert "--master 'local[1]'" in spark_task.bash_command

    for task in (dbt_task, spark_task):
        assert task.append_env is True
        assert task.upstream_task_ids, "env must come from the planning task at run time"


def test_emr_task_retries_reattach_and_its_wait_ends_before_the_task_timeout(
    dagbag: DagBag,
) -> None:
    """The start-job operator takes the planned client token (``config``: a retry re-attaches
    to the job run) and its waits (application start, then job run) end before Airflow's
    execution timeout kills the task, so the operator cancels the job run itself."""
    emr = dagbag.dags["spark_inventory_positions"].get_task("emr_serverless_positions")
    assert "config" in emr.template_fields
    assert emr.upstream_task_ids == {"plan_emr_positions_run"}
    waits = timedelta(seconds=2 * emr.waiter_delay * emr.waiter_max_attempts)
    assert emr.execution_timeout is not None and waits < emr.execution_timeout
