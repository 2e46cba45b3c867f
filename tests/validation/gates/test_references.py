"""The references gate resolves cross-DAG references and dbt tables, naming both ends."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from release_assets.validation.runner import run_gate
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


def test_the_example_repository_passes(northstar_copy: Path, make_context: MakeContext) -> None:
    result = run_gate("references", make_context(northstar_copy))
    assert result.status == "passed", result.findings


def test_broken_references_name_both_ends(northstar_copy: Path, make_context: MakeContext) -> None:
    (northstar_copy / "dags" / "finance_close.py").write_text(REFERRING)

    result = run_gate("references", make_context(northstar_copy))

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
