"""The DAG integrity gate imports DAGs in the real Airflow runtime and names the file at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.runner import run_gate
from tests.validation.conftest import MakeContext

pytestmark = pytest.mark.slow

_HEADER = "from datetime import datetime\nfrom airflow import DAG\n"
SLOPPY = _HEADER + (
    "from airflow.operators.empty import EmptyOperator\n\n"
    'with DAG(dag_id="sloppy", start_date=datetime(2026, 1, 1)):\n'
    '    EmptyOperator(task_id="noop")\n'
)
BROKEN = _HEADER + "import northstar_missing_module  # fails in the runtime\n"
SLOW = (
    "import time\n" + _HEADER + "from northstar_common.defaults import START_DATE, default_args\n\n"
    "time.sleep(1.5)  # a query at parse time\n"
    'with DAG(dag_id="slow_parse", schedule=None, start_date=START_DATE, catchup=False,\n'
    '         default_args=default_args("data-platform@northstar.example")):\n'
    "    pass\n"
)


def _cycle_dag(name: str, consumes: str, produces: str) -> str:
    return (
        _HEADER + "from airflow.datasets import Dataset\n"
        "from airflow.operators.empty import EmptyOperator\n"
        "from northstar_common.defaults import START_DATE, default_args\n\n"
        f'with DAG(dag_id="{name}", schedule=[Dataset("{consumes}")], start_date=START_DATE,\n'
        f'         catchup=False, default_args=default_args("a@b.example")):\n'
        f'    EmptyOperator(task_id="emit", outlets=[Dataset("{produces}")])\n'
    )


def _for(result: GateResult, obj: str) -> list[Finding]:
    return [f for f in result.findings if f.obj == obj]


def test_the_example_repository_passes(northstar_copy: Path, make_context: MakeContext) -> None:
    result = run_gate("dag_integrity", make_context(northstar_copy))
    assert result.status == "passed", result.findings
    assert "dags/ingest_orders.py" in result.checked


def test_each_kind_of_bad_dag_is_named(northstar_copy: Path, make_context: MakeContext) -> None:
    dags = northstar_copy / "dags"
    (dags / "sloppy.py").write_text(SLOPPY)
    (dags / "broken.py").write_text(BROKEN)
    (dags / "slow_parse.py").write_text(SLOW)
    (dags / "ingest_orders_copy.py").write_text((dags / "ingest_orders.py").read_text())
    (dags / "loop_a.py").write_text(_cycle_dag("loop_a", "test://b", "test://a"))
    (dags / "loop_b.py").write_text(_cycle_dag("loop_b", "test://a", "test://b"))
    config = northstar_copy / "release.yaml"
    config.write_text(config.read_text() + "validation:\n  dag_parse_seconds: 1.0\n")

    # A cold cache of its own: every file imported together, as a first validation does (with
    # ingest_orders.py from a warm cache the duplicate is named by the gate's own check:
    # tests/validation/test_dag_probe_cache.py).
    own_cache = northstar_copy.parent / "own-cache"
    result = run_gate("dag_integrity", make_context(northstar_copy, cache_dir=own_cache))

    assert result.status == "failed"
    # (On a loaded machine the broken file may also be slow to parse: a warning beside it.)
    (broken,) = [f for f in _for(result, "file:dags/broken.py") if f.severity == "error"]
    assert "northstar_missing_module" in broken.message and broken.line == 3
    sloppy = " | ".join(f.message for f in _for(result, "dag:sloppy"))
    assert "no owner" in sloppy and "retries=0" in sloppy
    assert "catchup explicitly" in sloppy and "schedule explicitly" in sloppy
    assert all(f.file == "dags/sloppy.py" and f.line == 5 for f in _for(result, "dag:sloppy"))
    (slow,) = _for(result, "file:dags/slow_parse.py")
    # A timing is the policy dag_parse_time: reported, not blocking by default.
    assert "limit 1.0s" in slow.message and slow.severity == "warning"
    (dup,) = _for(result, "file:dags/ingest_orders_copy.py")
    assert "DuplicatedId" in dup.message and "dags/ingest_orders.py" in dup.message
    (cycle,) = [f for f in result.findings if "cycle" in f.message]
    assert "loop_a -> loop_b -> loop_a" in cycle.message
    # The example's own DAGs are still clean.
    assert not _for(result, "dag:dbt_build")


def test_a_change_reimports_only_what_it_touches(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    # A cache of its own: what is imported anew is the point (the session's shared cache may
    # already hold this very edit, made by another test).
    first = make_context(northstar_copy, cache_dir=northstar_copy.parent / "own-cache")
    assert run_gate("dag_integrity", first).passed
    dag = northstar_copy / "dags" / "ingest_customers.py"
    dag.write_text(dag.read_text().replace("catchup=False,", ""))
    changed = make_context(
        northstar_copy, changed_files=["dags/ingest_customers.py"], dbt_modified=[]
    )
    changed.cache_dir = first.cache_dir

    result = run_gate("dag_integrity", changed)

    assert result.checked == ["dags/ingest_customers.py"]
    assert changed.dag_index().imported == ["dags/ingest_customers.py"]
    (finding,) = result.findings
    assert finding.obj == "dag:ingest_customers" and "catchup" in finding.message


def test_airflows_own_examples_raise_no_false_alarm_and_house_rules_are_policies(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    from tests.validation.gates.airflow_example_shapes import (
        DATASETS_FAULTS,
        write_examples,
    )

    dags = northstar_copy / "dags"
    write_examples(dags)
    (dags / "datasets_faults.py").write_text(DATASETS_FAULTS)
    changed = [
        "dags/example_external_task_marker_dag.py",
        "dags/example_datasets.py",
        "dags/datasets_faults.py",
    ]

    for ctx in (make_context(northstar_copy, changed, None, []), make_context(northstar_copy)):
        result = run_gate("dag_integrity", ctx)
        # The marker only clears the child: parent and child form no cycle.
        assert not [f for f in result.findings if "cycle" in f.message], result.findings
        # catchup means nothing on Dataset, None and @once schedules.
        catchup = {f.obj: f for f in result.findings if f.rule == "policy:dag_catchup_explicit"}
        assert set(catchup) == {"dag:daily_without_catchup"}, result.findings
        assert catchup["dag:daily_without_catchup"].severity == "warning"
        assert "release.yaml" in (catchup["dag:daily_without_catchup"].fix or "")
        # Airflow's examples set no owner and no retries: house rules, errors by default.
        owners = {f.obj for f in result.errors if f.rule == "policy:dag_owner"}
        assert "dag:example_external_task_marker_parent" in owners
        assert {f.rule for f in result.errors} == {"policy:dag_owner", "policy:dag_retries"}

    with (northstar_copy / "release.yaml").open("a") as release:
        release.write("validation:\n  policies: {dag_owner: off, dag_retries: warning}\n")
    result = run_gate("dag_integrity", make_context(northstar_copy, changed, None, []))
    assert result.status == "passed", result.errors
    assert not [f for f in result.findings if f.rule == "policy:dag_owner"]
    assert any(f.rule == "policy:dag_retries" for f in result.findings)
