from __future__ import annotations

from pathlib import Path

import pytest

from release_assets.config import ReleaseConfig, load_release_config
from release_assets.core.change_tree import names_in_literal
from release_assets.core.changes import ChangeSet, classify, classify_change
from release_assets.core.dag_order import dependency_waves, downstream_dags, topological_order
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

DAG_TEXT = "from airflow import DAG\nwith DAG({dag_id!r}, schedule=None):\n    {body}\n"


@pytest.fixture(scope="module")
def config() -> ReleaseConfig:
    return load_release_config(NORTHSTAR)


def _tree(**bodies: str) -> dict[str, str]:
    """An in-memory tree: one DAG file per DAG of DAGS (``bodies`` add code to some)."""
    tree = {f"dags/{d}.py": DAG_TEXT.format(dag_id=d, body=bodies.get(d, "pass")) for d in DAGS}
    tree |= {
        "dags/common/__init__.py": "",
        "dags/common/util.py": "def helper(): ...\n",
        "dags/.airflowignore": "common/\n",
        "requirements.txt": "pandas\n",
        "dbt/models/marts/fct_orders.sql": "select 1\n",
        "spark/jobs/inventory_positions.py": "def main(): ...\n",
        "contracts/orders.yaml": "contract: orders\ntable: raw.orders\n",
        "README.md": "",
    }
    return tree


def _ids(
    tree: dict[str, str], config: ReleaseConfig, files: list[str], models: list[str] | None = None
) -> ChangeSet:
    models = models or []
    return classify_change(tree, config, files, DAGS, models, base_release="v1").change


def test_changed_dag_files_map_to_their_dag_ids(config: ReleaseConfig) -> None:
    change = _ids(_tree(), config, ["dags/ingest_orders.py"])
    assert change.dag_ids == ["ingest_orders"]
    assert change.downstream_dag_ids == ["dbt_build", "publish_report"]


def test_a_changed_shared_module_changes_every_dag(config: ReleaseConfig) -> None:
    assert _ids(_tree(), config, ["dags/common/util.py"]).dag_ids == sorted(DAGS)


def test_changed_requirements_change_every_dag(config: ReleaseConfig) -> None:
    change = _ids(_tree(), config, ["requirements.txt"])
    assert change.requirements_changed and change.dag_ids == sorted(DAGS)


def test_non_python_files_in_the_dags_folder_change_no_dag(config: ReleaseConfig) -> None:
    assert _ids(_tree(), config, ["dags/.airflowignore"]).dag_ids == []


def test_a_dag_file_that_fails_to_import_is_no_shared_code(config: ReleaseConfig) -> None:
    tree = _tree() | {"dags/broken.py": "from airflow import DAG\nimport not_there\n"}
    impact = classify_change(tree, config, ["dags/broken.py"], DAGS, [], base_release="v1")
    assert impact.dag_files == ["dags/broken.py"]
    assert impact.change.dag_ids == []


def test_a_removed_dag_file_changes_no_other_dag(config: ReleaseConfig) -> None:
    tree = _tree()
    del tree["dags/unrelated.py"]
    impact = classify_change(tree, config, ["dags/unrelated.py"], DAGS, [], base_release="v1")
    assert impact.removed == ["dags/unrelated.py"]
    assert impact.change.dag_ids == [] and impact.dag_files == []


def test_a_removed_module_that_remaining_code_names_changes_every_dag(
    config: ReleaseConfig,
) -> None:
    tree = _tree(ingest_orders="from common.gone import load")
    change = _ids(tree, config, ["dags/common/gone.py"])
    assert change.dag_ids == sorted(DAGS)


def test_downstream_follows_datasets_transitively() -> None:
    assert downstream_dags(["ingest_orders"], DAGS) == ["dbt_build", "publish_report"]
    assert downstream_dags(["publish_report"], DAGS) == []


def test_producers_run_before_consumers() -> None:
    order = topological_order(["publish_report", "dbt_build", "ingest_orders"], DAGS)
    assert order == ["ingest_orders", "dbt_build", "publish_report"]


def test_classify_sorts_files_by_kind(config: ReleaseConfig) -> None:
    files = [
        "dags/ingest_orders.py",
        "dbt/models/marts/fct_orders.sql",
        "spark/jobs/inventory_positions.py",
        "terraform/modules/landing_bucket/main.tf",
        "contracts/orders.yaml",
        "README.md",
    ]
    change = classify(files, config, DAGS, ["fct_orders"], base_release="v1")
    assert change.files == files
    assert change.dag_files == ["dags/ingest_orders.py"]
    assert change.dag_ids == ["ingest_orders"]
    assert change.downstream_dag_ids == ["dbt_build", "publish_report"]
    assert change.spark_jobs == ["inventory_positions"]
    assert change.terraform_modules == ["terraform/modules/landing_bucket"]
    assert change.contracts == ["contracts/orders.yaml"]
    assert not change.requirements_changed
    assert change.dbt_models == ["fct_orders"]


def test_a_first_release_changes_every_dag(config: ReleaseConfig) -> None:
    change = classify(["README.md"], config, DAGS, [], base_release=None)
    assert change.dag_ids == sorted(DAGS)
    assert change.files == ["README.md"]


def test_a_changed_dbt_model_or_spark_job_changes_the_dag_that_runs_it(
    config: ReleaseConfig,
) -> None:
    sources = {
        "dbt_build": 'PROJECT = Path(__file__).parents[1] / "dbt"',
        "ingest_orders": "load_orders()",
    }
    change = classify(
        ["dbt/models/marts/fct_orders.sql"], config, DAGS, ["fct_orders"], "v1", sources
    )
    assert change.dag_ids == ["dbt_build"]
    assert change.downstream_dag_ids == ["publish_report"]


@pytest.mark.parametrize(
    "code",
    [
        'JOB = ROOT / "spark" / "jobs" / "inventory_positions.py"',
        "JOB = ROOT / 'spark/jobs/inventory_positions.py'",
        'JOB = f"{ROOT}/spark/jobs/inventory_positions.py"',
        "JOB = '/opt/pipelines/spark/jobs/inventory_positions.py'",
    ],
)
def test_a_dag_naming_the_changed_spark_entrypoint_in_any_literal_runs_it(
    config: ReleaseConfig, code: str
) -> None:
    change = _ids(_tree(unrelated=code), config, ["spark/jobs/inventory_positions.py"])
    assert change.spark_jobs == ["inventory_positions"]
    assert change.dag_ids == ["unrelated"]


@pytest.mark.parametrize(
    "code",
    [
        "# inventory_positions.py is run by another DAG",
        'JOB = "my_inventory_positions.py"',
        'JOB = "inventory_positions.pyc"',
    ],
)
def test_prose_or_another_file_name_does_not_run_the_spark_job(
    config: ReleaseConfig, code: str
) -> None:
    change = _ids(_tree(unrelated=code), config, ["spark/jobs/inventory_positions.py"])
    assert change.dag_ids == []


def test_the_dbt_project_is_run_by_the_dag_naming_its_folder(config: ReleaseConfig) -> None:
    tree = _tree(dbt_build='PROJECT = Path(__file__).parents[1] / "dbt"')
    change = _ids(tree, config, ["dbt/dbt_project.yml"])
    assert change.dag_ids == ["dbt_build"]


def test_a_changed_model_changes_the_dags_reading_it(config: ReleaseConfig) -> None:
    tree = _tree(unrelated='QUERY = "select * from marts.fct_orders"')
    change = _ids(tree, config, ["dbt/models/marts/fct_orders.sql"], ["fct_orders"])
    assert change.dag_ids == ["unrelated"]


def test_a_changed_contract_changes_the_dags_and_jobs_using_its_table(
    config: ReleaseConfig,
) -> None:
    tree = _tree(ingest_orders='TABLE = "raw.orders"')
    tree["spark/jobs/inventory_positions.py"] = 'spark.table("raw.orders")\n'
    impact = classify_change(tree, config, ["contracts/orders.yaml"], DAGS, [], base_release="v1")
    assert impact.contract_tables == ["orders", "raw.orders"]
    assert impact.change.spark_jobs == ["inventory_positions"]
    assert impact.reasons["spark/jobs/inventory_positions.py"] == "uses a changed contract's table"
    assert impact.change.dag_ids == ["ingest_orders"]


def test_the_literal_rule() -> None:
    pattern = names_in_literal(["dbt"])
    assert pattern is not None
    assert pattern.search('ROOT / "dbt"') and pattern.search("'/srv/dbt/'")
    assert not pattern.search('"dbt build"') and not pattern.search("run dbt here")
    assert names_in_literal([]) is None


def test_the_tree_on_disk_classifies_like_the_northstar_dags(config: ReleaseConfig) -> None:
    dags = {
        d: DagSummary(d, str(NORTHSTAR / "dags" / f"{d}.py"), [], [])
        for d in ("dbt_build", "spark_inventory_positions", "ingest_orders")
    }
    files = ["spark/jobs/inventory_positions.py", "dbt/models/marts/fct_orders.sql"]
    change = classify(files, config, dags, ["fct_orders"], "v1", tree=NORTHSTAR)
    assert change.dag_ids == ["dbt_build", "spark_inventory_positions"]
    impact = classify_change(Path(NORTHSTAR), config, files, dags, ["fct_orders"])
    assert impact.change == ChangeSet.from_dict({**change.to_dict(), "base_release": None})


def test_independent_dags_share_a_wave_and_consumers_follow_their_producers() -> None:
    dags = {
        "ingest_orders": DagSummary("ingest_orders", "", [], ["raw://orders"]),
        "ingest_customers": DagSummary("ingest_customers", "", [], ["raw://customers"]),
        "dbt_build": DagSummary("dbt_build", "", ["raw://orders", "raw://customers"], ["m://x"]),
        "report": DagSummary("report", "", ["m://x"], []),
        "unrelated": DagSummary("unrelated", "", [], []),
    }
    waves = dependency_waves(["report", "dbt_build", "ingest_orders", "ingest_customers"], dags)
    assert [set(w) for w in waves] == [
        {"ingest_customers", "ingest_orders"},
        {"dbt_build"},
        {"report"},
    ]
    # A producer outside the set does not hold a consumer back.
    assert [set(w) for w in dependency_waves(["report", "unrelated"], dags)] == [
        {"report", "unrelated"}
    ]


def test_a_dbt_project_at_the_repository_root_owns_only_its_dbt_files() -> None:
    from release_assets.core.change_tree import is_dbt_file

    # The jaffle shop and `dbt init` layout: dbt_project.yml at the root.
    assert is_dbt_file("models/staging/stg_payments.sql", ".")
    assert is_dbt_file("dbt_project.yml", ".")
    assert is_dbt_file("seeds/raw_orders.csv", "./")
    assert not is_dbt_file("dags/jaffle_shop_dbt.py", ".")
    assert not is_dbt_file("README.md", ".")
    # A project in a folder owns everything under it, nothing outside.
    assert is_dbt_file("dbt/profiles.yml", "dbt")
    assert not is_dbt_file("dbtx/models/a.sql", "dbt")
