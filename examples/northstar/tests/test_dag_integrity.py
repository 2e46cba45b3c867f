"""Every DAG parses cleanly, quickly and without side effects, and follows team conventions."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pendulum
import pytest
from airflow.models import DagBag
from airflow.models.dag import DAG
from airflow.operators.bash import BashOperator

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
    assert len(dagbag.dags) >= 6
    assert set(dagbag.dag_ids) >= EXPECTED_DAGS


def test_shared_package_is_not_parsed_as_dags(dagbag: DagBag) -> None:
    """``.airflowignore`` keeps the DAG processor out of the shared library package."""
    assert not [stat.file for stat in dagbag.dagbag_stats if "northstar_common" in stat.file]
    assert len(dagbag.dagbag_stats) == len(EXPECTED_DAGS)


def test_parsing_is_fast(dagbag: DagBag) -> None:
    # Generous bounds: they catch a DAG that does work at parse time (seconds), not noise on a
    # loaded CI machine.
    slow = {
        stat.file: stat.duration
        for stat in dagbag.dagbag_stats
        if stat.duration.total_seconds() > 5
    }
    assert slow == {}
    start = time.perf_counter()
    DagBag(dag_folder=str(DAGS_DIR), include_examples=False, safe_mode=False)
    assert time.perf_counter() - start < 30


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_dag_conventions(dagbag: DagBag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert dag is not None
    assert dag.catchup is False
    assert dag.start_date == pendulum.datetime(2026, 1, 1, tz="UTC")
    assert dag.tags and "northstar" in dag.tags
    assert dag.default_args["owner"] in {"commerce-data", "supply-chain-data", "data-platform"}
    assert dag.max_active_runs == 1
    for task in dag.tasks:
        assert task.owner == dag.default_args["owner"], task.task_id
        assert task.retries >= 1, task.task_id


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
    assert "--target duckdb" in dbt_task.bash_command
    assert '"$DBT_TARGET_PATH"' in dbt_task.bash_command
    assert (REPO_ROOT / "dbt" / "dbt_project.yml").is_file()

    job = REPO_ROOT / "spark" / "jobs" / "inventory_positions.py"
    assert str(job) in spark_task.bash_command and job.is_file()
    assert "--master 'local[1]'" in spark_task.bash_command

    for task in (dbt_task, spark_task):
        assert task.append_env is True
        assert task.upstream_task_ids, "env must come from the planning task at run time"
