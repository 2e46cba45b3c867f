"""House rules are policies with a severity set in release.yaml; style never blocks by default
(ruff's import order and formatting, sqlfluff's layout), and without a ruff configuration the
gate runs rules that find bugs, not ruff's style defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from release_assets.config import load_release_config
from release_assets.config.release_config import ReleaseConfigError
from release_assets.validation.runner import run_gate
from tests.validation.conftest import MakeContext

# Imports out of order, two on one line, one below code: style. An undefined name: a bug.
UNORDERED_DAG = '''"""A DAG whose imports are out of order."""

from datetime import datetime
import os, sys

from airflow import DAG
from airflow.operators.empty import EmptyOperator

TEAM = "data"
import json

with DAG(dag_id="unordered", start_date=datetime(2026, 1, 1), schedule=None, catchup=False):
    EmptyOperator(task_id="noop", doc=json.dumps([os.sep, sys.platform]))
'''
UNDEFINED = UNORDERED_DAG.replace("doc=json.dumps(", "doc=jsn.dumps(")
# Whitespace only: a column indented by 7 spaces, trailing spaces.
LAYOUT_ONLY = """select
    order_id,
       customer_id   \n
from {{ ref('stg_orders') }}
"""
# Not style: the same column selected twice under one name (AL08, ambiguous in every reader).
DUPLICATE_COLUMN = """select
    order_id,
    customer_id as order_id
from {{ ref('stg_orders') }}
"""


def _policies(repo: Path, text: str) -> None:
    with (repo / "release.yaml").open("a") as release:
        release.write(f"validation:\n  policies: {{{text}}}\n")


def _without_ruff_config(repo: Path) -> None:
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().split("[tool.ruff]")[0])


def test_policies_have_documented_defaults_and_refuse_unknown_values(
    northstar_copy: Path,
) -> None:
    policies = load_release_config(northstar_copy).validation.policies
    assert policies.model_dump() == {
        "dag_owner": "error",
        "dag_retries": "error",
        "dag_parse_time": "warning",
        "dag_catchup_explicit": "warning",
        "dag_schedule_explicit": "error",
        "python_lint": "error",
        "python_style": "warning",
        "sql_lint": "error",
        "sql_style": "warning",
    }
    _policies(northstar_copy, "dag_owner: fatal, python_typos: off")
    with pytest.raises(ReleaseConfigError) as raised:
        load_release_config(northstar_copy)
    text = str(raised.value)
    assert "validation.policies.dag_owner" in text and "python_typos" in text


def test_without_ruff_config_import_order_does_not_block_but_bugs_do(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    _without_ruff_config(northstar_copy)
    dag = northstar_copy / "dags" / "unordered.py"
    dag.write_text(UNORDERED_DAG)
    ctx = make_context(northstar_copy, changed_files=["dags/unordered.py"], dbt_modified=[])

    result = run_gate("python_quality", ctx)

    # ruff's defaults would report E401 and E402 here (import style) and block.
    assert result.status == "passed", result.findings
    assert result.findings == []
    assert any("default rule set F, E9, PLE" in n for n in result.notes)

    dag.write_text(UNDEFINED)
    result = run_gate(
        "python_quality", make_context(northstar_copy, ["dags/unordered.py"], None, [])
    )

    assert result.status == "failed"
    (undefined,) = result.errors
    assert (undefined.rule, undefined.line) == ("ruff:F821", 13)
    assert "jsn" in undefined.message and "python_lint: error" in (undefined.fix or "")
    # json is now unused: pyflakes reports it, as a warning (an unused import is no bug).
    (unused,) = [f for f in result.findings if f.severity == "warning"]
    assert unused.rule == "ruff:F401" and "python_style: warning" in (unused.fix or "")


def test_style_rules_of_the_repositorys_config_warn_unless_the_policy_says_error(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    (northstar_copy / "dags" / "unordered.py").write_text(UNORDERED_DAG)
    changed = ["dags/unordered.py"]

    result = run_gate("python_quality", make_context(northstar_copy, changed, None, []))

    assert result.status == "passed", result.errors
    rules = {f.rule for f in result.findings}
    assert {"ruff:I001", "ruff:E401", "ruff:E402"} <= rules
    assert {f.severity for f in result.findings} == {"warning"}

    _policies(northstar_copy, "python_style: error")
    result = run_gate("python_quality", make_context(northstar_copy, changed, None, []))
    assert result.status == "failed" and "ruff:I001" in {f.rule for f in result.errors}

    (northstar_copy / "release.yaml").write_text(
        (northstar_copy / "release.yaml")
        .read_text()
        .replace("python_style: error", "python_style: off")
    )
    result = run_gate("python_quality", make_context(northstar_copy, changed, None, []))
    assert result.findings == [] and result.status == "passed"
    assert any("policy python_style not reported (off" in n for n in result.notes)


def test_sql_layout_warns_and_other_rules_block(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    marts = northstar_copy / "dbt" / "models" / "marts"
    (marts / "fct_layout.sql").write_text(LAYOUT_ONLY)
    changed = ["dbt/models/marts/fct_layout.sql"]

    result = run_gate("sql_lint", make_context(northstar_copy, changed))

    assert result.status == "passed", result.errors
    assert {f.rule for f in result.findings} >= {"LT01", "LT02"}
    assert {f.severity for f in result.findings} == {"warning"}
    assert all("sql_style: warning" in (f.fix or "") for f in result.findings)

    (marts / "fct_duplicate.sql").write_text(DUPLICATE_COLUMN)
    both = [*changed, "dbt/models/marts/fct_duplicate.sql"]
    _policies(northstar_copy, "sql_style: off")
    result = run_gate("sql_lint", make_context(northstar_copy, both))

    assert result.status == "failed"
    (duplicate,) = result.findings
    assert (duplicate.file, duplicate.rule, duplicate.severity) == (
        "dbt/models/marts/fct_duplicate.sql",
        "AL08",
        "error",
    )
    assert any("policy sql_style not reported" in n for n in result.notes)
