"""What a DAG does when it is parsed: a start_date computed from the current time, Variables,
Connections, databases and network reached from top-level code are ``dag_integrity``
findings naming the file, the line and the DAG, in PR mode and in full mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.runner import run_gate
from tests.validation.conftest import MakeContext

pytestmark = pytest.mark.slow

_ARGS = 'default_args=default_args("data-platform@northstar.example")'
# The example: passes every other gate, imports fine, parses fast.
NOW_START = (
    "from datetime import datetime, timedelta\n\n"
    "from airflow import DAG\n"
    "from airflow.operators.empty import EmptyOperator\n"
    "from northstar_common.defaults import default_args\n\n"
    "with DAG(\n"
    '    dag_id="yesterday",\n'
    "    start_date=datetime.now() - timedelta(days=1),\n"  # line 9
    '    schedule="@daily",\n'
    "    catchup=False,\n"
    f"    {_ARGS},\n"
    "):\n"
    '    EmptyOperator(task_id="noop")\n'
)
# Siblings: a Variable read at module level, a Connection read by a helper of the DAGs folder
# (imported at module level), a database opened at parse time.
HELPER = (
    "from airflow.hooks.base import BaseHook\n\n"
    "def warehouse_host():\n"
    '    return BaseHook.get_connection("warehouse_secret_conn").host\n'  # line 4
)
READS = (
    "import duckdb\n"
    "from airflow import DAG\n"
    "from airflow.models import Variable\n"
    "from airflow.operators.empty import EmptyOperator\n"
    "from northstar_common.defaults import START_DATE, default_args\n"
    "from northstar_common.parse_time import warehouse_host\n\n"
    'LIMIT = Variable.get("orders_limit", default_var="10")\n'  # line 8
    "try:\n"
    "    HOST = warehouse_host()\n"  # line 10
    "except Exception:\n"
    "    HOST = None\n"
    'ROWS = duckdb.connect(":memory:").execute("select 1").fetchall()\n'  # line 13
    'with DAG(dag_id="reads_at_parse", start_date=START_DATE, schedule=None, catchup=False,\n'
    f"         {_ARGS}):\n"
    '    EmptyOperator(task_id="noop")\n'
)


def _by_rule(result: GateResult) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in result.findings:
        out.setdefault(f.rule or "", []).append(f)
    return out


def test_parse_time_effects_are_named_in_pr_and_full_mode(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    dags = northstar_copy / "dags"
    (dags / "yesterday.py").write_text(NOW_START)
    (dags / "northstar_common" / "parse_time.py").write_text(HELPER)
    (dags / "reads_at_parse.py").write_text(READS)

    full_ctx = make_context(northstar_copy)
    full = run_gate("dag_integrity", full_ctx)
    pr_ctx = make_context(northstar_copy, changed_files=["dags/yesterday.py"], dbt_modified=[])
    pr_ctx.cache_dir = full_ctx.cache_dir  # the full run's parses
    pr = run_gate("dag_integrity", pr_ctx)

    rules = _by_rule(full)
    (clock,) = rules["parse-time-clock"]
    assert (clock.file, clock.line, clock.obj) == ("dags/yesterday.py", 9, "dag:yesterday")
    assert "start_date is computed from the current time" in clock.message
    assert "datetime.now()" in clock.message and "pendulum.datetime(2024" in (clock.fix or "")
    (variable,) = rules["parse-time-variable"]
    assert (variable.file, variable.line, variable.obj) == (
        "dags/reads_at_parse.py",
        8,
        "dag:reads_at_parse",
    )
    assert "reads Airflow Variable 'orders_limit' at parse time" in variable.message
    assert "{{ var.value.orders_limit }}" in (variable.fix or "")
    (connection,) = rules["parse-time-connection"]
    # Named where the call is (the helper), and where the DAG file reaches it.
    assert (connection.file, connection.line) == ("dags/northstar_common/parse_time.py", 4)
    assert "'warehouse_secret_conn'" in connection.message
    assert "reached from dags/reads_at_parse.py:10" in connection.message
    (database,) = rules["parse-time-database"]
    assert (database.line, database.obj) == (13, "dag:reads_at_parse")
    assert "duckdb" in database.message
    # Only what the change touches blocks in PR mode; the example's own DAGs stay clean.
    assert pr.checked == ["dags/yesterday.py"]
    assert [(f.file, f.line, f.rule) for f in pr.findings] == [
        ("dags/yesterday.py", 9, "parse-time-clock")
    ]
    assert not [f for f in full.findings if f.obj in ("dag:ingest_orders", "dag:dbt_build")]
