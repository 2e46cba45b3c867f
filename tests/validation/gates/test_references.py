"""The references gate resolves cross-DAG references and dbt tables, naming both ends."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from release_assets.config import load_release_config
from release_assets.validation.context import ValidationContext
from release_assets.validation.runner import run_gate
from release_assets.validation.selection import build_selection
from tests.paths import NORTHSTAR, SHARED_RUNTIMES
from tests.validation.conftest import MakeContext

pytestmark = pytest.mark.slow

REFERRING = """from airflow import DAG
from airflow.datasets import Dataset
from airflow.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sensors.external_task import ExternalTaskSensor
from northstar_common.defaults import START_DATE, default_args

with DAG(dag_id="finance_close", schedule=[Dataset("s3://finance/ledger")],
         start_date=START_DATE, catchup=False, default_args=default_args("a@b.example")):
    ok = ExternalTaskSensor(task_id="wait_orders", external_dag_id="ingest_orders",
                            external_task_id="load_orders")
    gone = ExternalTaskSensor(task_id="wait_gone_task", external_dag_id="ingest_orders",
                              external_task_id="load_refunds")
    TriggerDagRunOperator(task_id="kick_reports", trigger_dag_id="publish_finance_pack")
    SQL = "select * from marts.fct_refunds"
"""


@pytest.fixture(scope="module")
def northstar_inputs(
    tmp_path_factory: pytest.TempPathFactory, shared_cache: Path
) -> tuple[Path, dict[str, Any]]:
    """The session's DAG parse cache, and the example's dbt manifest parsed once for the
    module (the tests below change DAGs, never the dbt project)."""
    root = tmp_path_factory.mktemp("references")
    repo = root / "northstar"
    shutil.copytree(NORTHSTAR, repo, ignore=shutil.ignore_patterns("__pycache__", "target", "logs"))
    config = load_release_config(repo)
    (root / "scratch").mkdir()
    ctx = ValidationContext(
        repo=repo,
        config=config,
        selection=build_selection(repo, config, None),
        scratch=root / "scratch",
        runtimes_dir=SHARED_RUNTIMES,
        cache_dir=shared_cache / "validation",
    )
    manifest = ctx.manifest()
    assert manifest is not None
    return ctx.cache_dir, manifest


@pytest.fixture
def dag_context(
    make_context: MakeContext,
    northstar_inputs: tuple[Path, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> MakeContext:
    """``make_context`` with the module's DAG parse cache and the example's manifest (as the
    candidate's and the base's: these tests leave the dbt project alone)."""
    cache_dir, manifest = northstar_inputs

    def make(*args: Any, **kw: Any) -> ValidationContext:
        ctx = make_context(*args, **kw)
        ctx.cache_dir = cache_dir
        monkeypatch.setattr(ctx, "manifest", lambda: manifest)
        monkeypatch.setattr(ctx, "base_manifest", lambda: manifest)
        return ctx

    return make


def test_the_example_repository_passes(northstar_copy: Path, dag_context: MakeContext) -> None:
    result = run_gate("references", dag_context(northstar_copy))
    assert result.status == "passed", result.findings


def test_broken_references_name_both_ends(northstar_copy: Path, dag_context: MakeContext) -> None:
    (northstar_copy / "dags" / "finance_close.py").write_text(REFERRING)

    result = run_gate("references", dag_context(northstar_copy))

    by_obj = {(f.obj, f.line): f for f in result.findings}
    assert set(by_obj) == {
        ("task:finance_close.wait_gone_task", 11),
        ("task:finance_close.kick_reports", 13),
        ("dag:finance_close", 7),
        ("model:fct_refunds", 14),
    }
    gone = by_obj[("task:finance_close.wait_gone_task", 11)]
    assert "ingest_orders.load_refunds" in gone.message and "dags/ingest_orders.py" in gone.message
    assert "publish_finance_pack" in by_obj[("task:finance_close.kick_reports", 13)].message
    assert "s3://finance/ledger" in by_obj[("dag:finance_close", 7)].message
    assert all(f.file == "dags/finance_close.py" for f in result.findings)


def test_a_model_removed_by_the_change_is_reported_with_its_reader(
    northstar_copy: Path, make_context: MakeContext, tmp_path: Path
) -> None:
    base = tmp_path / "base"
    shutil.copytree(northstar_copy, base)
    (northstar_copy / "dbt" / "models" / "marts" / "fct_daily_revenue.sql").unlink()

    ctx = make_context(
        northstar_copy,
        changed_files=["dbt/models/marts/fct_daily_revenue.sql"],
        base_repo=base,
        dbt_modified=[],
    )
    ctx.selection.dag_files.append("dags/publish_revenue_report.py")
    result = run_gate("references", ctx)

    assert result.status == "failed"
    (finding,) = [f for f in result.findings if f.obj == "model:fct_daily_revenue"][:1]
    assert finding.file == "dags/publish_revenue_report.py" and finding.line is not None
    assert "this change removes it" in finding.message


# -- Airflow's semantics: markers, Dataset expressions ---------------------------------------


def test_airflows_own_marker_and_dataset_examples_raise_no_false_alarm(
    northstar_copy: Path, dag_context: MakeContext
) -> None:
    from tests.validation.gates.airflow_example_shapes import (
        DATASETS_FAULTS,
        write_examples,
    )

    dags = northstar_copy / "dags"
    examples = write_examples(dags)

    for ctx in (dag_context(northstar_copy, examples, None, []), dag_context(northstar_copy)):
        result = run_gate("references", ctx)
        assert result.status == "passed", result.errors
        # `dag1 | (dag2 & dag3)` runs on dag1; the dag3 branch never fires: said, not blocking.
        (branch,) = result.findings
        assert (branch.obj, branch.severity) == (
            "dag:consume_1_or_both_2_and_3_with_dataset_expressions",
            "warning",
        )
        assert "'s3://dag1/output_1.txt' | ('s3://dag2/output_1.txt' & " in branch.message
        assert "'s3://dag3/output_3.txt'" in branch.message

    # Siblings that are real: `dag3 & dag1` never runs; `dag3 or time` runs on time only.
    (dags / "datasets_faults.py").write_text(DATASETS_FAULTS)
    ctx = dag_context(northstar_copy, [*examples, "dags/datasets_faults.py"], None, [])
    result = run_gate("references", ctx)
    by_obj = {f.obj: f for f in result.findings}
    never = by_obj["dag:consume_3_and_1"]
    assert never.severity == "error" and "it would never run" in never.message
    assert "'s3://dag3/output_3.txt' produced by no DAG" in never.message
    assert (never.file, never.line) == ("dags/datasets_faults.py", 12)
    on_time = by_obj["dag:consume_3_or_time"]
    assert on_time.severity == "warning" and "runs on its timetable only" in on_time.message
    assert [f.obj for f in result.errors] == ["dag:consume_3_and_1"]


# -- broken references named from both ends, the changed side first --------------------------

MISSPELLED_OUTLET = "outlets=[Dataset('duckdb://warehouse/mart')],"


def _misspell_outlet(repo: Path) -> None:
    dag = repo / "dags" / "dbt_build.py"
    text = dag.read_text().replace("outlets=[MARTS],", MISSPELLED_OUTLET)
    text = text.replace(
        "from northstar_common.compat import DAG, BashOperator, task\n",
        "from northstar_common.compat import DAG, BashOperator, Dataset, task\n",
    )
    dag.write_text(text)


def test_a_misspelled_produced_dataset_names_the_producer_first_and_the_consumer(
    northstar_copy: Path, dag_context: MakeContext, tmp_path: Path
) -> None:
    base = tmp_path / "base"
    shutil.copytree(northstar_copy, base)
    _misspell_outlet(northstar_copy)
    outlet_line = 1 + (northstar_copy / "dags/dbt_build.py").read_text().splitlines().index(
        f"        {MISSPELLED_OUTLET}"
    )

    pr = dag_context(northstar_copy, ["dags/dbt_build.py"], base, [])
    result = run_gate("references", pr)

    (finding,) = result.errors
    assert (finding.file, finding.line, finding.obj) == (
        "dags/dbt_build.py",
        outlet_line,
        "dag:dbt_build",
    )
    assert finding.message.startswith(
        "dags/dbt_build.py produces 'duckdb://warehouse/mart' (dag:dbt_build), which no DAG "
        "consumes; dags/publish_revenue_report.py (dag:publish_revenue_report) waits on "
        "'duckdb://warehouse/marts', which no DAG produces"
    ), finding.message
    assert "Did you mean 'duckdb://warehouse/marts'?" in finding.message

    # In full there is no changed side: the consumer, with the near producer named.
    result = run_gate("references", dag_context(northstar_copy))
    (finding,) = result.errors
    assert (finding.file, finding.obj) == (
        "dags/publish_revenue_report.py",
        "dag:publish_revenue_report",
    )
    assert "'duckdb://warehouse/marts' produced by no DAG" in finding.message
    assert "dags/dbt_build.py (dag:dbt_build) produces 'duckdb://warehouse/mart'" in (
        finding.message
    )


def test_a_misspelled_consumed_dataset_names_the_consumer_first_and_the_producer(
    northstar_copy: Path, dag_context: MakeContext, tmp_path: Path
) -> None:
    base = tmp_path / "base"
    shutil.copytree(northstar_copy, base)
    dag = northstar_copy / "dags" / "publish_revenue_report.py"
    dag.write_text(
        dag.read_text()
        .replace("schedule=[MARTS],", "schedule=[Dataset('duckdb://warehouse/mart')],")
        .replace(
            "from northstar_common.compat import DAG, task\n",
            "from northstar_common.compat import DAG, Dataset, task\n",
        )
    )

    result = run_gate(
        "references", dag_context(northstar_copy, ["dags/publish_revenue_report.py"], base, [])
    )

    (finding,) = result.errors
    assert (finding.file, finding.obj) == (
        "dags/publish_revenue_report.py",
        "dag:publish_revenue_report",
    )
    assert finding.message.startswith("dag:publish_revenue_report is scheduled on ")
    assert "'duckdb://warehouse/mart' produced by no DAG" in finding.message
    assert "dags/dbt_build.py (dag:dbt_build) produces 'duckdb://warehouse/marts'" in (
        finding.message
    )


def test_references_broken_by_a_dag_that_does_not_import_are_folded_into_it(
    northstar_copy: Path, dag_context: MakeContext, tmp_path: Path
) -> None:
    base = tmp_path / "base"
    shutil.copytree(northstar_copy, base)
    producer = northstar_copy / "dags" / "dbt_build.py"
    producer.write_text(producer.read_text() + "\ndef broken(:\n")

    for ctx in (
        dag_context(northstar_copy, ["dags/dbt_build.py"], base, []),
        dag_context(northstar_copy),
    ):
        result = run_gate("references", ctx)
        # dag_integrity reports the import error and blocks; no separate reference error.
        assert result.status == "passed", result.errors
        (folded,) = result.findings
        assert (folded.file, folded.obj, folded.severity) == (
            "dags/dbt_build.py",
            "file:dags/dbt_build.py",
            "warning",
        )
        assert "dag:publish_revenue_report (dags/publish_revenue_report.py)" in folded.message
        assert "'duckdb://warehouse/marts'" in folded.message

    # When the change does not touch the broken file (dag_integrity does not re-report it),
    # the knock-on is an error naming the import error.
    consumer = northstar_copy / "dags" / "publish_revenue_report.py"
    consumer.write_text(consumer.read_text() + "\n# a comment\n")
    ctx = dag_context(northstar_copy, ["dags/publish_revenue_report.py"], base, [])
    result = run_gate("references", ctx)
    (folded,) = result.errors
    assert folded.file == "dags/dbt_build.py" and "SyntaxError" in folded.message
    assert "dag:publish_revenue_report" in folded.message


def test_removing_the_last_model_of_a_schema_still_names_its_readers(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    # The base's manifest had marts models; the candidate's has none left in marts.
    from release_assets.validation.gates.references import _table_references

    def manifest(*models: tuple[str, str]) -> dict[str, Any]:
        nodes = {
            f"model.northstar.{name}": {"resource_type": "model", "name": name, "schema": schema}
            for schema, name in models
        }
        return {"nodes": nodes}

    ctx = make_context(northstar_copy)
    base = manifest(("marts", "fct_daily_revenue"), ("staging", "stg_orders"))
    candidate = manifest(("staging", "stg_orders"))

    findings = _table_references(ctx, candidate, base)

    readers = {f.file for f in findings if f.obj == "model:fct_daily_revenue"}
    assert "dags/publish_revenue_report.py" in readers
    assert all("this change removes it" in f.message for f in findings)
