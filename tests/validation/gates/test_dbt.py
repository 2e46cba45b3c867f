"""The dbt gate: parse and compile errors name the model file, unit tests run offline, and
breaking changes to contracted models name their consumers unless the model version is bumped.
The tests that run dbt (10-40 s each) are slow; skipping runs none."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from release_assets.validation.findings import GateResult
from release_assets.validation.runner import run_gate
from tests.validation.conftest import MakeContext

MARTS = Path("dbt/models/marts")
UNIT_TESTS = """unit_tests:
  - name: order_totals_sum_their_lines
    model: int_order_totals
    given:
      - input: ref('stg_order_items')
        rows:
          - {order_id: 1, quantity: 2, gross_line_amount: 10.00, discount_amount: 1.00}
          - {order_id: 1, quantity: 1, gross_line_amount: 5.00, discount_amount: 0.00}
    expect:
      rows:
        - {order_id: 1, item_count: 2, units: 3, gross_amount: 15.00, discount_amount: 1.00}

  - name: daily_revenue_counts_cancelled_orders
    model: fct_daily_revenue
    given:
      - input: ref('fct_orders')
        rows:
          - {order_id: 1, customer_id: 7, order_date: "2024-01-01", is_revenue: false,
             order_status: cancelled, units: 1, gross_amount: 10, discount_amount: 0,
             shipping_amount: 0, net_amount: 10}
    expect:
      rows:
        - {order_date: "2024-01-01", orders_count: 1, net_revenue: 10}
"""


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _base(repo: Path, tmp_path: Path) -> Path:
    base = tmp_path / "base"
    shutil.copytree(repo, base)
    return base


def _by_obj(result: GateResult) -> dict[str | None, list[str]]:
    out: dict[str | None, list[str]] = {}
    for f in result.findings:
        out.setdefault(f.obj, []).append(f.message)
    return out


# -- fast: when the gate has nothing to do -------------------------------------------------


def test_skipped_when_the_change_touches_no_dbt(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    result = run_gate("dbt", make_context(northstar_copy, changed_files=["dags/ingest_orders.py"]))
    assert result.status == "skipped"
    assert result.skipped_reason and "dbt" in result.skipped_reason


def test_skipped_without_a_dbt_project(northstar_copy: Path, make_context: MakeContext) -> None:
    release = northstar_copy / "release.yaml"
    text = release.read_text()
    start, end = text.index("dbt:\n"), text.index("spark:\n")
    release.write_text(text[:start] + text[end:])
    result = run_gate("dbt", make_context(northstar_copy))
    assert result.status == "skipped"


# -- slow: dbt runs --------------------------------------------------------------------------


# The example repository passing this gate in full: tests/examples/test_adding_a_dag.py (the
# slow layer's one full validation of the example, which asserts what this gate checked).


@pytest.mark.slow
def test_broken_jinja_names_the_model_file_and_line(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    sql = northstar_copy / "dbt/models/intermediate/int_order_totals.sql"
    _edit(sql, "{{ ref('stg_order_items') }}", "{{ ref('stg_order_items' }}")
    result = run_gate("dbt", make_context(northstar_copy))
    [finding] = result.findings
    assert finding.file == "dbt/models/intermediate/int_order_totals.sql"
    assert finding.line == 8
    assert finding.obj == "model:int_order_totals"
    assert finding.fix and "Jinja" in finding.fix


@pytest.mark.slow
def test_a_ref_to_a_missing_model_names_both(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    _edit(northstar_copy / MARTS / "fct_orders.sql", "ref('int_order_totals')", "ref('int_totals')")
    result = run_gate("dbt", make_context(northstar_copy))
    [finding] = result.findings
    assert (finding.file, finding.obj) == ("dbt/models/marts/fct_orders.sql", "model:fct_orders")
    assert "int_totals" in finding.message
    assert finding.fix and "'int_totals'" in finding.fix


@pytest.mark.slow
def test_a_yaml_error_names_the_file_and_line(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    yml = northstar_copy / MARTS / "_marts.yml"
    yml.write_text(yml.read_text() + "  - name: broken\n   columns: [\n")
    lines = len(yml.read_text().splitlines())
    result = run_gate("dbt", make_context(northstar_copy))
    [finding] = result.findings
    assert (finding.file, finding.line) == ("dbt/models/marts/_marts.yml", lines)


@pytest.mark.slow
def test_a_missing_var_fails_compile_on_the_model(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    sql = northstar_copy / "dbt/models/intermediate/int_order_totals.sql"
    _edit(sql, "group by order_id", "where {{ var('min_order_id') }} > 0\ngroup by order_id")
    result = run_gate("dbt", make_context(northstar_copy))
    [finding] = result.findings
    assert finding.rule == "dbt-compile"
    assert (finding.file, finding.obj) == (
        "dbt/models/intermediate/int_order_totals.sql",
        "model:int_order_totals",
    )
    assert "min_order_id" in finding.message and finding.fix and "min_order_id" in finding.fix
    assert any("not built because a node above failed" in n for n in result.notes)


@pytest.mark.slow
def test_unit_tests_run_offline_and_failures_name_the_test(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    (northstar_copy / "dbt/models/_unit_tests.yml").write_text(UNIT_TESTS)
    result = run_gate("dbt", make_context(northstar_copy))
    assert "2 of 2 dbt unit test(s) ran" in result.notes
    [finding] = result.findings
    assert finding.obj == "test:daily_revenue_counts_cancelled_orders"
    assert (finding.file, finding.line) == ("dbt/models/_unit_tests.yml", 13)
    assert "fct_daily_revenue" in finding.message and "differs from expected" in finding.message


@pytest.mark.slow
def test_breaking_changes_to_contracted_models_name_their_consumers(
    northstar_copy: Path, make_context: MakeContext, tmp_path: Path
) -> None:
    base = _base(northstar_copy, tmp_path)
    marts = northstar_copy / MARTS
    # fct_orders: drop loaded_by_release (read downstream by fct_daily_revenue and a DAG)
    _edit(marts / "fct_orders.sql", "    orders.loaded_by_release,\n", "")
    _edit(
        marts / "_marts.yml",
        "      - name: loaded_by_release\n        data_type: varchar\n"
        "        description: Release of the pipelines repo whose ingestion loaded the order.\n",
        "",
    )
    # dim_customers: retype; fct_daily_revenue: contract off; fct_inventory_positions: grain
    _edit(
        marts / "_marts.yml",
        "      - name: country_code\n        data_type: varchar",
        "      - name: country_code\n        data_type: char(2)",
    )
    yml = (marts / "_marts.yml").read_text()
    at = yml.index("  - name: fct_daily_revenue")
    yml = yml[:at] + yml[at:].replace(
        "contract: {enforced: true}", "contract: {enforced: false}", 1
    )
    (marts / "_marts.yml").write_text(yml)
    _edit(
        marts / "_marts.yml",
        "combination_of_columns: [store_id, sku]",
        "combination_of_columns: [store_id, sku, as_of_date]",
    )

    result = run_gate("dbt", make_context(northstar_copy, base_repo=base))

    found = {f.obj: f for f in result.findings}
    assert set(found) == {
        "column:fct_orders.loaded_by_release",
        "column:dim_customers.country_code",
        "model:fct_daily_revenue",
        "model:fct_inventory_positions",
    }
    removed = found["column:fct_orders.loaded_by_release"]
    assert removed.file == "dbt/models/marts/_marts.yml" and removed.line == 4
    assert "fct_daily_revenue" in removed.message and "dim_customers" in removed.message
    assert "dags/publish_revenue_report.py" in removed.message
    assert removed.fix and "bump the model version" in removed.fix
    assert removed.fix and "keep column loaded_by_release" in removed.fix
    assert found["column:dim_customers.country_code"].rule == "dbt-breaking-type-changed"
    assert found["model:fct_daily_revenue"].rule == "dbt-breaking-contract-removed"
    assert "dags/publish_revenue_report.py" in found["model:fct_daily_revenue"].message
    grain = found["model:fct_inventory_positions"]
    assert grain.rule == "dbt-breaking-grain-changed"
    assert "(sku, store_id)" in grain.message and "(as_of_date, sku, store_id)" in grain.message


@pytest.mark.slow
def test_a_new_model_version_makes_the_change_pass(
    northstar_copy: Path, make_context: MakeContext, tmp_path: Path
) -> None:
    base = _base(northstar_copy, tmp_path)
    marts = northstar_copy / MARTS
    shutil.copy(marts / "fct_orders.sql", marts / "fct_orders_v1.sql")
    _edit(marts / "fct_orders.sql", "    orders.loaded_by_release,\n", "")
    _edit(
        marts / "_marts.yml",
        "      - name: loaded_by_release\n        data_type: varchar\n"
        "        description: Release of the pipelines repo whose ingestion loaded the order.\n",
        "",
    )
    _edit(
        marts / "_marts.yml",
        "    config:\n      contract: {enforced: true}\n      meta: {owner: commerce}\n",
        "    latest_version: 2\n"
        "    versions:\n"
        "      - v: 2\n        defined_in: fct_orders\n"
        "      - v: 1\n        columns:\n          - include: all\n"
        "          - name: loaded_by_release\n            data_type: varchar\n"
        "    config:\n      contract: {enforced: true}\n      meta: {owner: commerce}\n",
    )

    result = run_gate("dbt", make_context(northstar_copy, base_repo=base))

    assert result.status == "passed", result.findings
    [note] = [n for n in result.notes if n.startswith("column:fct_orders.loaded_by_release")]
    assert "new version (v2)" in note and "fct_daily_revenue" in note
