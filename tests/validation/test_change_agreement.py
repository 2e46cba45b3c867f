"""Validation selects the same DAGs the release runs in staging and the canary, for the same
change: both come from the one change classifier (fast: the DAG summaries are given, as the
DAG probe would report them for the example repository). A removed or renamed node selects its
consumers, so PR mode and full mode agree on a removal (one slow test through ``validate``)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from release_assets.config import load_release_config
from release_assets.core.changes import ChangeSet, classify
from release_assets.core.dag_order import topological_order
from release_assets.core.dag_runs import dag_summaries
from release_assets.core.removals import find_removed
from release_assets.runtimes.airflow.dag_probe import DagSummary
from release_assets.validation.entry import validate_branch
from release_assets.validation.selection import build_selection
from tests.paths import SHARED_RUNTIMES
from tests.pipelines_git import make_pipelines_git

RAW = "duckdb://warehouse/raw."
EDGES: dict[str, tuple[list[str], list[str]]] = {  # dag_id -> (consumes, produces)
    "ingest_orders": ([], [f"{RAW}order_items", f"{RAW}orders"]),
    "ingest_customers": ([], [f"{RAW}customers"]),
    "ingest_inventory": ([], [f"{RAW}inventory_movements"]),
    "spark_inventory_positions": (
        [f"{RAW}inventory_movements"],
        ["file://lake/inventory_positions"],
    ),
    "dbt_build": (
        [f"{RAW}orders", f"{RAW}customers", "file://lake/inventory_positions"],
        ["duckdb://warehouse/marts"],
    ),
    "publish_revenue_report": (["duckdb://warehouse/marts"], ["file://lake/exports/daily_revenue"]),
}
ALL = sorted(EDGES)
INVENTORY_CHAIN = ["dbt_build", "publish_revenue_report", "spark_inventory_positions"]


def _summaries(repo: Path) -> dict[str, DagSummary]:
    return {
        d: DagSummary(d, str(repo / "dags" / f"{d}.py"), c, p)
        for d, (c, p) in EDGES.items()
        if (repo / "dags" / f"{d}.py").exists()
    }


def _edit(rel: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(repo: Path) -> None:
        path = repo / rel
        text = path.read_text()
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new))

    return edit


def _remove(rel: str) -> Callable[[Path], None]:
    return lambda repo: (repo / rel).unlink()


SPARK_LINE = (
    'SPARK_JOB = Path(__file__).resolve().parents[1] / "spark" / "jobs" / "inventory_positions.py"'
)
SINGLE_QUOTED = (
    "SPARK_JOB = Path(__file__).resolve().parents[1] / 'spark/jobs/inventory_positions.py'"
)
JOB = "spark/jobs/inventory_positions.py"

# name: (edit of the tree, changed files, dbt modified models, touched DAGs, downstream DAGs)
CASES: dict[
    str, tuple[Callable[[Path], None] | None, list[str], list[str], list[str], list[str]]
] = {
    "one DAG file": (None, ["dags/ingest_inventory.py"], [], ["ingest_inventory"], INVENTORY_CHAIN),
    "Spark job run by a path built from literals": (
        None,
        [JOB],
        [],
        ["spark_inventory_positions"],
        ["dbt_build", "publish_revenue_report"],
    ),
    # The drift of issue 9: `"inventory_positions.py"` (release) vs inventory_positions.py
    # anywhere (validation). One literal rule now, in any quote style.
    "Spark job run by a single-quoted path": (
        _edit("dags/spark_inventory_positions.py", SPARK_LINE, SINGLE_QUOTED),
        [JOB],
        [],
        ["spark_inventory_positions"],
        ["dbt_build", "publish_revenue_report"],
    ),
    "Spark job named in another DAG's prose only": (
        _edit(
            "dags/ingest_customers.py",
            '"""Upsert',
            '"""Unlike inventory_positions.py (a Spark job), upsert',
        ),
        [JOB],
        [],
        ["spark_inventory_positions"],
        ["dbt_build", "publish_revenue_report"],
    ),
    "dbt models": (
        None,
        ["dbt/models/marts/fct_daily_revenue.sql"],
        ["fct_daily_revenue"],
        ["dbt_build", "publish_revenue_report"],
        [],
    ),
    "shared module": (None, ["dags/northstar_common/loaders.py"], [], ALL, []),
    "requirements": (None, ["requirements.txt"], [], ALL, []),
    "contract": (
        None,
        ["contracts/inventory_movements.yaml"],
        [],
        ["ingest_inventory"],
        INVENTORY_CHAIN,
    ),
    "Terraform only": (None, ["terraform/modules/landing_bucket/main.tf"], [], [], []),
    "removed DAG file": (
        _remove("dags/publish_revenue_report.py"),
        ["dags/publish_revenue_report.py"],
        [],
        [],
        [],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_validation_and_staging_select_the_same_dags(northstar_copy: Path, case: str) -> None:
    edit, files, models, touched, downstream = CASES[case]
    if edit is not None:
        edit(northstar_copy)
    config = load_release_config(northstar_copy)
    dags = _summaries(northstar_copy)

    # The release: release_candidate classifies, the record keeps the change set and the DAG
    # graph (no file locations), staging and the canary trigger its affected DAGs in order.
    change = ChangeSet.from_dict(
        classify(files, config, dags, models, "v1", tree=northstar_copy).to_dict()
    )
    graph = {d: {"consumes": s.consumes, "produces": s.produces} for d, s in dags.items()}
    staged = topological_order(change.affected_dag_ids, dag_summaries(graph))
    # Validation of the same change.
    selection = build_selection(northstar_copy, config, files, models, dags=dags)

    assert (change.dag_ids, change.downstream_dag_ids) == (touched, downstream)
    assert selection.dag_ids == change.dag_ids
    assert selection.downstream_dag_ids == change.downstream_dag_ids
    assert sorted(staged) == selection.affected_dag_ids == change.affected_dag_ids
    # The gates check exactly the files of the touched DAGs.
    assert selection.dag_files == sorted(f"dags/{d}.py" for d in touched)


def test_a_first_release_runs_and_validates_every_dag(northstar_copy: Path) -> None:
    config = load_release_config(northstar_copy)
    dags = _summaries(northstar_copy)
    change = classify(["README.md"], config, dags, ["*"], None, tree=northstar_copy)
    selection = build_selection(northstar_copy, config, None, None, dags=dags)
    assert selection.full
    assert change.affected_dag_ids == selection.affected_dag_ids == ALL


def test_dag_summaries_are_only_asked_for_when_a_dag_is_touched(northstar_copy: Path) -> None:
    config = load_release_config(northstar_copy)
    asked: list[bool] = []

    def dags() -> dict[str, DagSummary]:
        asked.append(True)
        return _summaries(northstar_copy)

    terraform = build_selection(
        northstar_copy, config, ["terraform/modules/landing_bucket/main.tf"], [], dags=dags
    )
    assert terraform.dag_files == [] and not asked
    one = build_selection(northstar_copy, config, ["dags/ingest_orders.py"], [], dags=dags)
    assert asked and one.dag_ids == ["ingest_orders"]
    assert one.downstream_dag_ids == ["dbt_build", "publish_revenue_report"]


def test_without_dag_summaries_the_gates_still_get_the_same_files(northstar_copy: Path) -> None:
    config = load_release_config(northstar_copy)
    for _, files, models, touched, _ in (CASES[c] for c in ("one DAG file", "dbt models")):
        selection = build_selection(northstar_copy, config, files, models)
        assert selection.dag_files == sorted(f"dags/{d}.py" for d in touched)
        assert selection.dag_ids == []


# -- removals: a removed or renamed node selects its consumers (issue 10, kind 3) -------------
MARTS_YML = "dbt/models/marts/_marts.yml"
REVENUE_SQL = "dbt/models/marts/fct_daily_revenue.sql"
REVENUE_TEST = "dbt/tests/assert_daily_revenue_reconciles_with_orders.sql"
CRITICAL = "  - table: marts.fct_daily_revenue\n    keys: [order_date]\n    owner: commerce\n"


def remove_daily_revenue(repo: Path) -> list[str]:
    """The issue's example: fct_daily_revenue removed (its SQL, its YAML, its critical-table
    entry and the singular test on it) while publish_revenue_report still reads its table.
    Returns the changed paths."""
    (repo / REVENUE_SQL).unlink()
    (repo / REVENUE_TEST).unlink()
    yml = (repo / MARTS_YML).read_text()
    start = yml.index("  - name: fct_daily_revenue")
    end = yml.index("  - name: fct_inventory_positions")
    (repo / MARTS_YML).write_text(yml[:start] + yml[end:])
    _edit("release.yaml", CRITICAL, "")(repo)
    return sorted([REVENUE_SQL, REVENUE_TEST, MARTS_YML, "release.yaml"])


def rename_daily_revenue(repo: Path) -> list[str]:
    """Sibling: the model's file moved and renamed (fct_revenue_by_day), readers not updated."""
    new = "dbt/models/marts/fct_revenue_by_day.sql"
    (repo / REVENUE_SQL).rename(repo / new)
    _edit(MARTS_YML, "- name: fct_daily_revenue", "- name: fct_revenue_by_day")(repo)
    _edit(REVENUE_TEST, "ref('fct_daily_revenue')", "ref('fct_revenue_by_day')")(repo)
    return sorted([REVENUE_SQL, new, MARTS_YML, REVENUE_TEST])


def remove_contract(repo: Path) -> list[str]:
    """Sibling: a contract removed while ingest_inventory still loads its table."""
    _remove("contracts/inventory_movements.yaml")(repo)
    return ["contracts/inventory_movements.yaml"]


def remove_producer(repo: Path) -> list[str]:
    """Sibling: the DAG producing file://lake/inventory_positions deleted; dbt_build is still
    scheduled on it."""
    _remove("dags/spark_inventory_positions.py")(repo)
    return ["dags/spark_inventory_positions.py"]


# name: (edit returning the changed files, dbt modified, touched DAGs, downstream DAGs, removed)
REMOVALS: dict[
    str, tuple[Callable[[Path], list[str]], list[str], list[str], list[str], dict[str, list[str]]]
] = {
    "removed model": (
        remove_daily_revenue,
        [],
        ["dbt_build", "publish_revenue_report"],
        [],
        {"models": ["fct_daily_revenue"]},
    ),
    "renamed model": (
        rename_daily_revenue,
        ["fct_revenue_by_day"],
        ["dbt_build", "publish_revenue_report"],
        [],
        {"models": ["fct_daily_revenue"]},
    ),
    "removed contract": (
        remove_contract,
        [],
        ["ingest_inventory"],
        INVENTORY_CHAIN,
        {"contract_tables": ["inventory_movements", "raw.inventory_movements"]},
    ),
    "removed Dataset producer": (
        remove_producer,
        [],
        ["dbt_build"],
        ["publish_revenue_report"],
        {"dag_ids": ["spark_inventory_positions"], "datasets": ["file://lake/inventory_positions"]},
    ),
}


@pytest.mark.parametrize("case", list(REMOVALS))
def test_a_removal_selects_its_consumers_in_the_release_and_in_validation(
    northstar_copy: Path, tmp_path: Path, case: str
) -> None:
    edit, models, touched, downstream, removed = REMOVALS[case]
    base = tmp_path / "base"
    shutil.copytree(northstar_copy, base)
    files = edit(northstar_copy)
    config = load_release_config(northstar_copy)
    dags, base_dags = _summaries(northstar_copy), _summaries(base)
    removals = find_removed(base, northstar_copy, config, files, base_dags=base_dags, dags=dags)
    for kind, names in removed.items():
        assert getattr(removals, kind) == names, (kind, removals)

    change = classify(files, config, dags, models, "v1", tree=northstar_copy, removals=removals)
    selection = build_selection(northstar_copy, config, files, models, dags=dags, removals=removals)
    assert (change.dag_ids, change.downstream_dag_ids) == (touched, downstream)
    assert (selection.dag_ids, selection.downstream_dag_ids) == (touched, downstream)
    assert selection.dag_files == sorted(f"dags/{d}.py" for d in touched)
    assert any("which the change removes" in why for why in selection.reasons.values())
    assert selection.removed_nodes == removals.to_dict()


def test_a_removed_model_selects_the_tests_naming_it(northstar_copy: Path, tmp_path: Path) -> None:
    base = tmp_path / "base"
    shutil.copytree(northstar_copy, base)
    files = remove_daily_revenue(northstar_copy)
    config = load_release_config(northstar_copy)
    removals = find_removed(base, northstar_copy, config, files)
    without = build_selection(northstar_copy, config, files, [])
    selection = build_selection(northstar_copy, config, files, [], removals=removals)
    assert "tests/test_dbt_project.py" not in without.test_files
    assert "tests/test_dbt_project.py" in selection.test_files
    assert "dags/publish_revenue_report.py" in selection.dag_files
    assert "dags/publish_revenue_report.py" not in without.dag_files


def test_removed_nodes_from_manifests_and_text(tmp_path: Path) -> None:
    """Manifests find what text cannot (a model disabled in YAML, a source dropped); without
    the base's DAG probe, a removed DAG file's dag_id literal is read from its text."""
    from tests.paths import NORTHSTAR

    config = load_release_config(NORTHSTAR)
    base = {"dags/old.py": 'with DAG(dag_id="old_dag", schedule=None):\n    pass\n'}
    node = {"resource_type": "model", "name": "fct_a"}
    source = {"resource_type": "source", "schema": "raw", "identifier": "orders"}
    removals = find_removed(
        base,
        {},
        config,
        ["dags/old.py"],
        base_manifest={
            "nodes": {"model.p.fct_a": node},
            "sources": {"source.p.raw.orders": source},
        },
        manifest={"nodes": {}, "sources": {}},
    )
    assert removals.models == ["fct_a"]
    assert removals.source_tables == ["orders", "raw.orders"]
    assert removals.dag_ids == ["old_dag"]
    assert "model fct_a" in removals.describe() and "DAG old_dag" in removals.describe()
    assert not find_removed(base, base, config, [])


@pytest.mark.slow
def test_pr_mode_and_full_mode_agree_on_removals(tmp_path: Path, shared_cache: Path) -> None:
    """Through ``validate --base main`` and ``--full`` on a real git repository: a removed model
    an unchanged DAG still reads, and a removed DAG whose Dataset another DAG is scheduled on,
    both fail the references gate naming the consumer, in both modes."""
    repo = make_pipelines_git(tmp_path / "pipelines")
    repo.git("checkout", "-q", "-b", "feature")
    remove_daily_revenue(repo.path)
    remove_producer(repo.path)
    named: dict[bool, list[str]] = {}
    for full in (False, True):
        report = validate_branch(
            repo.path,
            "main",
            full=full,
            scratch=tmp_path / f"scratch-{full}",
            runtimes_dir=SHARED_RUNTIMES,
            cache_dir=shared_cache / "validation",
            gates=["references"],
        )
        result = report.result("references")
        assert not result.passed and not result.existing_findings
        named[full] = [f"{f.file} {f.obj} {f.message}" for f in result.errors]
        if not full:
            assert report.selection.removed_nodes["models"] == ["fct_daily_revenue"]
            assert "file://lake/inventory_positions" in report.selection.removed_nodes["datasets"]
    for full, errors in named.items():
        assert any("publish_revenue_report" in e and "fct_daily_revenue" in e for e in errors), (
            full,
            errors,
        )
        assert any("dbt_build" in e and "inventory_positions" in e for e in errors), (full, errors)
