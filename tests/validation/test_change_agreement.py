"""Validation selects the same DAGs the release runs in staging and the canary, for the same
change: both come from the one change classifier (fast: the DAG summaries are given, as the
DAG probe would report them for the example repository)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from release_assets.config import load_release_config
from release_assets.core.changes import ChangeSet, classify
from release_assets.core.dag_order import topological_order
from release_assets.core.dag_runs import dag_summaries
from release_assets.runtimes.airflow.dag_probe import DagSummary
from release_assets.validation.selection import build_selection

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
