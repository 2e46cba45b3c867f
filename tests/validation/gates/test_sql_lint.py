"""The sql_lint gate: sqlfluff over the selected dbt SQL, with dbt's Jinja understood, each
violation reported with its file, line and rule (sqlfluff runs take 2-5 s)."""

from __future__ import annotations

from pathlib import Path

from release_assets.validation.runner import run_gate
from tests.validation.conftest import MakeContext

INCREMENTAL = """{{ config(materialized='incremental', unique_key='order_id') }}
-- Every dbt construct the jinja templater must render.
select
    order_id,
    net_amount,
    '{{ env_var("NORTHSTAR_RELEASE_ID", "unreleased") }}' as release_id,
    '{{ target.name }}' as target_name,
    '{{ var("schema_suffix") }}' as suffix
from {{ ref('fct_orders') }}
{% if is_incremental() %}
    where order_id > (select max(t.order_id) from {{ this }} as t)
{% endif %}
"""
LONG_LINE = (
    "    case when order_status in ('cancelled', 'returned') then 'not revenue' else 'revenue' end"
    " as revenue_flag_for_finance_reports"
)
SLOPPY = f"""select
    order_id,
       customer_id,
{LONG_LINE}
from {{{{ source('commerce', 'orders') }}}}
"""
PACKAGED = """select {{ dbt_utils.star(ref('fct_orders')) }}
from {{ ref('fct_orders') }}
"""
UNPARSABLE = """select order_id,, customer_id
from {{ ref('stg_orders') }}
"""


def test_the_example_models_pass(northstar_copy: Path, make_context: MakeContext) -> None:
    result = run_gate("sql_lint", make_context(northstar_copy))
    assert result.status == "passed", [f"{f.where} {f.message}" for f in result.findings]
    assert "dbt/models/marts/fct_orders.sql" in result.checked
    assert "dbt/tests/assert_no_negative_stock.sql" in result.checked
    # Jinja definitions are not SQL: left out, and said so
    assert "dbt/macros/generate_schema_name.sql" not in result.checked
    assert any("dbt/tests/generic/unique_combination_of_columns.sql" in n for n in result.notes)


def test_skipped_without_sql_in_the_change(northstar_copy: Path, make_context: MakeContext) -> None:
    result = run_gate("sql_lint", make_context(northstar_copy, changed_files=["dags/dbt_build.py"]))
    assert result.status == "skipped"


def test_violations_name_file_line_and_rule(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    marts = northstar_copy / "dbt/models/marts"
    (marts / "fct_orders_incremental.sql").write_text(INCREMENTAL)
    (marts / "fct_sloppy.sql").write_text(SLOPPY)
    (marts / "fct_broken.sql").write_text(UNPARSABLE)
    (marts / "fct_packaged.sql").write_text(PACKAGED)
    names = ("fct_orders_incremental", "fct_sloppy", "fct_broken", "fct_packaged")
    changed = [f"dbt/models/marts/{n}.sql" for n in names]

    result = run_gate("sql_lint", make_context(northstar_copy, changed_files=changed))

    assert result.checked == sorted(changed)
    got = {(f.file, f.line, f.rule, f.obj) for f in result.findings}
    sloppy = "dbt/models/marts/fct_sloppy.sql"
    assert (sloppy, 3, "LT02", "model:fct_sloppy") in got
    assert (sloppy, 4, "LT05", "model:fct_sloppy") in got
    assert any(f == "dbt/models/marts/fct_broken.sql" and r == "PRS" for f, _, r, _ in got)
    assert not [f for f in result.findings if f.file.endswith("fct_orders_incremental.sql")]
    # a package macro the jinja templater cannot see: a warning, dbt compile decides
    [packaged] = [f for f in result.findings if f.obj == "model:fct_packaged"]
    assert (packaged.rule, packaged.severity) == ("TMP", "warning")
    assert "dbt_utils" in packaged.message
    long_line = next(f for f in result.findings if f.rule == "LT05")
    assert "Line is too long" in long_line.message and long_line.fix
    assert "exclude_rules" in long_line.fix


def test_config_rules_and_the_dbt_templater_fallback(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    (northstar_copy / "dbt/models/marts/fct_sloppy.sql").write_text(SLOPPY)
    with (northstar_copy / "release.yaml").open("a") as release:
        release.write("validation:\n  sql:\n    templater: dbt\n    exclude_rules: [LT05]\n")

    result = run_gate(
        "sql_lint",
        make_context(northstar_copy, changed_files=["dbt/models/marts/fct_sloppy.sql"]),
    )

    assert {f.rule for f in result.findings} == {"LT02"}
    assert "sqlfluff-templater-dbt is not installed: linted with the jinja templater" in (
        result.notes
    )
