from __future__ import annotations

from release_assets.config import load_release_config
from release_assets.core.changes import (
    changed_dag_ids,
    classify,
    downstream_dags,
    topological_order,
)
from release_assets.runtimes.airflow.dag_probe import DagSummary
from tests.conftest import NORTHSTAR


def _dag(dag_id: str, consumes: list[str] = [], produces: list[str] = []) -> DagSummary:  # noqa: B006
    return DagSummary(dag_id, f"/srv/releases/v1/dags/{dag_id}.py", consumes, produces)


DAGS = {
    d.dag_id: d
    for d in [
        _dag("ingest_orders", produces=["raw.orders"]),
        _dag("ingest_customers", produces=["raw.customers"]),
        _dag("dbt_build", consumes=["raw.orders", "raw.customers"], produces=["marts"]),
        _dag("publish_report", consumes=["marts"], produces=["export"]),
        _dag("unrelated"),
    ]
}


def test_changed_dag_files_map_to_their_dag_ids() -> None:
    assert changed_dag_ids(["dags/ingest_orders.py"], DAGS, "dags") == ["ingest_orders"]


def test_a_changed_shared_module_changes_every_dag() -> None:
    assert changed_dag_ids(["dags/common/util.py"], DAGS, "dags") == sorted(DAGS)


def test_non_python_files_in_the_dags_folder_change_no_dag() -> None:
    assert changed_dag_ids(["dags/.airflowignore"], DAGS, "dags") == []


def test_downstream_follows_datasets_transitively() -> None:
    assert downstream_dags(["ingest_orders"], DAGS) == ["dbt_build", "publish_report"]
    assert downstream_dags(["publish_report"], DAGS) == []


def test_producers_run_before_consumers() -> None:
    order = topological_order(["publish_report", "dbt_build", "ingest_orders"], DAGS)
    assert order == ["ingest_orders", "dbt_build", "publish_report"]


def test_classify_sorts_files_by_kind() -> None:
    config = load_release_config(NORTHSTAR)
    files = [
        "dags/ingest_orders.py",
        "dbt/models/marts/fct_orders.sql",
        "spark/jobs/inventory_positions.py",
        "terraform/modules/landing_bucket/main.tf",
        "contracts/orders.yaml",
        "requirements.txt",
        "README.md",
    ]
    change = classify(files, config, DAGS, ["fct_orders"], base_release="v1")
    assert change.dag_ids == ["ingest_orders"]
    assert change.downstream_dag_ids == ["dbt_build", "publish_report"]
    assert change.spark_jobs == ["inventory_positions"]
    assert change.terraform_modules == ["terraform/modules/landing_bucket"]
    assert change.contracts == ["contracts/orders.yaml"]
    assert change.requirements_changed
    assert change.dbt_models == ["fct_orders"]


def test_a_first_release_changes_every_dag() -> None:
    config = load_release_config(NORTHSTAR)
    change = classify(["README.md"], config, DAGS, [], base_release=None)
    assert change.dag_ids == sorted(DAGS)


def test_a_changed_dbt_model_or_spark_job_changes_the_dag_that_runs_it() -> None:
    config = load_release_config(NORTHSTAR)
    sources = {
        "dbt_build": 'PROJECT = Path(__file__).parents[1] / "dbt"',
        "ingest_orders": "load_orders()",
    }
    change = classify(
        ["dbt/models/marts/fct_orders.sql"], config, DAGS, ["fct_orders"], "v1", sources
    )
    assert change.dag_ids == ["dbt_build"]
    assert change.downstream_dag_ids == ["publish_report"]
