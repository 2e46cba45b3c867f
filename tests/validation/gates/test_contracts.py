"""The contracts gate: valid contracts, staging sources that still match them, and contract
changes reported with the consumers they break."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from release_assets.runtimes.warehouse.duckdb import DuckDBWarehouse
from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.gates.contracts import (
    NO_WAREHOUSE,
    duckdb_source_schemas,
    source_reader,
)
from release_assets.validation.inputs.sql_types import normalize_type
from release_assets.validation.runner import run_gate
from tests.validation.conftest import MakeContext

ORDERS = "contracts/orders.yaml"


def _edit(repo: Path, old: str, new: str, rel: str = ORDERS) -> None:
    path = repo / rel
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _line_of(repo: Path, needle: str, rel: str = ORDERS, last: bool = False) -> int:
    lines = [n for n, line in enumerate((repo / rel).read_text().splitlines(), 1) if needle in line]
    assert lines, needle
    return lines[-1] if last else lines[0]


def _by_obj(result: GateResult) -> dict[str, Finding]:
    return {f.obj or "": f for f in result.findings}


def _warehouse(repo: Path, path: Path, drop: dict[str, list[str]] | None = None) -> list[str]:
    """A DuckDB file with the raw tables as the northstar loaders create them (contract types,
    upper-cased, NOT NULL where declared); returns the tables."""
    drop = drop or {}
    tables = []
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        for file in sorted((repo / "contracts").glob("*.yaml")):
            contract = yaml.safe_load(file.read_text())
            if contract["table"] in drop.get("tables", []):
                continue
            cols = ", ".join(
                f'"{c["name"]}" {c["type"].upper()}{"" if c["nullable"] else " NOT NULL"}'
                for c in contract["columns"]
            )
            con.execute(f"create table {contract['table']} ({cols})")
            tables.append(contract["table"])
    return tables


def test_the_example_contracts_pass(northstar_copy: Path, make_context: MakeContext) -> None:
    result = run_gate("contracts", make_context(northstar_copy))

    assert result.status == "passed", result.findings
    assert result.findings == []
    assert len(result.checked) == 4 and ORDERS in result.checked
    assert NO_WAREHOUSE in result.notes


INVALID = [  # (old text, new text, object, message, text on the line at fault)
    pytest.param(
        "columns:\n",
        "columns:\n  - {name: broken, type: [\n",
        "contract:orders",
        "not valid YAML",
        None,
        id="yaml-syntax",
    ),
    pytest.param(
        "owner: commerce-data@northstar.example\n",
        "",
        "contract:orders",
        "required field `owner` is missing",
        None,
        id="missing-field",
    ),
    pytest.param(
        "contract: orders ",
        "contract: order ",
        "contract:order",
        "does not match the file name",
        "contract: order ",
        id="name-not-stem",
    ),
    pytest.param(
        "  - {name: channel,",
        "  - {name: store_id, type: varchar, nullable: false}\n  - {name: channel,",
        "column:raw.orders.store_id",
        "declared twice",
        "{name: store_id",  # the second one
        id="duplicate-column",
    ),
    pytest.param(
        "primary_key: [order_id]",
        "primary_key: [order_id, order_number]",
        "column:raw.orders.order_number",
        "not a declared column",
        "primary_key:",
        id="pk-not-declared",
    ),
    pytest.param(
        "{name: order_id, type: bigint, nullable: false}",
        "{name: order_id, type: bigint, nullable: true}",
        "column:raw.orders.order_id",
        "primary key column order_id is declared nullable",
        "{name: order_id",
        id="pk-nullable",
    ),
    pytest.param(
        "{name: status, type: varchar,",
        "{name: status, type: enumish,",
        "column:raw.orders.status",
        "unknown type 'enumish'",
        "{name: status",
        id="unknown-type",
    ),
]


@pytest.mark.parametrize(("old", "new", "obj", "message", "on_line"), INVALID)
def test_an_invalid_contract_is_named_with_its_line(
    northstar_copy: Path,
    make_context: MakeContext,
    old: str,
    new: str,
    obj: str,
    message: str,
    on_line: str | None,
) -> None:
    _edit(northstar_copy, old, new)

    result = run_gate("contracts", make_context(northstar_copy))

    assert result.status == "failed"
    (finding,) = result.errors
    assert finding.file == ORDERS and finding.obj == obj, finding
    assert message in finding.message and finding.fix
    if on_line is not None:
        assert finding.line == _line_of(northstar_copy, on_line, last=True)
    elif "YAML" in message:
        assert finding.line == _line_of(northstar_copy, "{name: broken") + 1


def test_sql_types_normalize_to_duckdb_spellings() -> None:
    assert normalize_type("text") == normalize_type("VARCHAR") == "VARCHAR"
    assert normalize_type("int8") == "BIGINT" and normalize_type("int") == "INTEGER"
    assert normalize_type("numeric(10, 2)") == normalize_type("DECIMAL(10,2)") == "DECIMAL(10,2)"
    assert normalize_type("timestamp without time zone") == "TIMESTAMP"
    assert normalize_type("decimal(2,5)") is None and normalize_type("enumish") is None


def test_duckdb_source_schemas_reads_actual_types(northstar_copy: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "staging.duckdb"
    tables = _warehouse(northstar_copy, warehouse)

    schemas = duckdb_source_schemas(warehouse, [*tables, "raw.nothing"])

    assert set(schemas) == set(tables)
    assert schemas["raw.orders"]["order_id"] == "BIGINT"
    assert schemas["raw.orders"]["shipping_amount"] == "DECIMAL(10,2)"
    assert schemas["raw.customers"]["marketing_opt_in"] == "BOOLEAN"


def test_sources_matching_the_contracts_pass(
    northstar_copy: Path, make_context: MakeContext, tmp_path: Path
) -> None:
    warehouse = tmp_path / "staging.duckdb"
    _warehouse(northstar_copy, warehouse)
    reader = source_reader(DuckDBWarehouse.at("staging", warehouse), northstar_copy, "contracts")
    assert len(reader()) == 4
    ctx = make_context(northstar_copy, source_schemas=reader)

    result = run_gate("contracts", ctx)

    assert result.status == "passed" and result.findings == []
    assert NO_WAREHOUSE not in result.notes


def test_upstream_drift_names_the_dropped_and_retyped_columns(
    northstar_copy: Path, make_context: MakeContext, tmp_path: Path
) -> None:
    warehouse = tmp_path / "staging.duckdb"
    tables = _warehouse(northstar_copy, warehouse, {"tables": ["raw.customers"]})
    with duckdb.connect(str(warehouse)) as con:
        con.execute("alter table raw.orders drop column shipping_amount")
        con.execute("alter table raw.orders alter customer_id type varchar")
        con.execute("alter table raw.orders add column coupon_code varchar")
    ctx = make_context(
        northstar_copy,
        source_schemas=lambda: duckdb_source_schemas(warehouse, [*tables, "raw.customers"]),
    )

    result = run_gate("contracts", ctx)

    assert result.status == "failed"
    found = _by_obj(result)
    assert set(found) == {
        "column:raw.orders.shipping_amount",
        "column:raw.orders.customer_id",
        "column:raw.orders.coupon_code",
        "contract:customers",
    }
    dropped = found["column:raw.orders.shipping_amount"]
    assert "upstream dropped column shipping_amount" in dropped.message
    assert dropped.line == _line_of(northstar_copy, "{name: shipping_amount")
    retyped = found["column:raw.orders.customer_id"]
    assert "upstream retyped column customer_id" in retyped.message
    assert "VARCHAR" in retyped.message and retyped.severity == "error"
    assert retyped.file == ORDERS and retyped.line == _line_of(northstar_copy, "{name: customer_id")
    assert found["column:raw.orders.coupon_code"].severity == "warning"
    not_loaded = found["contract:customers"]
    assert not_loaded.file == "contracts/customers.yaml"
    assert "no table raw.customers yet" in not_loaded.message
    assert not_loaded.severity == "warning"


def test_sources_staging_has_not_loaded_yet_warn_without_failing(
    northstar_copy: Path, make_context: MakeContext, tmp_path: Path
) -> None:
    warehouse = tmp_path / "staging.duckdb"  # a first release: staging has loaded nothing
    duckdb.connect(str(warehouse)).close()
    ctx = make_context(
        northstar_copy,
        source_schemas=source_reader(
            DuckDBWarehouse.at("staging", warehouse), northstar_copy, "contracts"
        ),
    )

    result = run_gate("contracts", ctx)

    assert result.status == "passed"
    assert {f.obj for f in result.findings if f.severity == "warning"} == {
        "contract:customers",
        "contract:inventory_movements",
        "contract:order_items",
        "contract:orders",
    }


def test_an_unreadable_warehouse_fails_closed(
    northstar_copy: Path, make_context: MakeContext, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.duckdb"
    ctx = make_context(
        northstar_copy, source_schemas=lambda: duckdb_source_schemas(missing, ["raw.orders"])
    )

    result = run_gate("contracts", ctx)

    assert result.status == "failed"
    assert "cannot read the staging sources" in result.errors[0].message


@pytest.mark.slow
def test_a_breaking_contract_change_names_its_consumers(
    northstar_copy: Path, make_context: MakeContext, tmp_path: Path
) -> None:
    base = tmp_path / "base"
    shutil.copytree(northstar_copy, base)
    _edit(
        northstar_copy, '  - {name: shipping_amount, type: "decimal(10,2)", nullable: false}\n', ""
    )
    _edit(northstar_copy, "{name: customer_id, type: bigint,", "{name: customer_id, type: varchar,")
    _edit(
        northstar_copy,
        "{name: store_id, type: varchar, nullable: false}",
        "{name: store_id, type: varchar, nullable: true}",
    )
    _edit(
        northstar_copy,
        "{name: order_id, type: bigint,",
        "{name: order_id, type: bigint,",
        "contracts/order_items.yaml",
    )
    _edit(
        northstar_copy,
        "primary_key: [order_item_id]",
        "primary_key: [order_id, sku]",
        "contracts/order_items.yaml",
    )
    ctx = make_context(
        northstar_copy,
        changed_files=[ORDERS, "contracts/order_items.yaml"],
        base_repo=base,
        dbt_modified=[],
    )

    result = run_gate("contracts", ctx)

    assert result.status == "failed"
    found = _by_obj(result)
    removed = found["column:raw.orders.shipping_amount"]
    assert removed.severity == "error" and removed.file == ORDERS
    assert "removes column shipping_amount" in removed.message
    assert "model stg_orders (dbt/models/staging/stg_orders.sql)" in removed.message
    assert "fct_orders" in removed.message  # downstream of stg_orders
    assert "dags/northstar_common/tables.py" in removed.message  # names the column
    assert removed.fix and "stg_orders" in removed.fix
    retyped = found["column:raw.orders.customer_id"]
    assert retyped.severity == "error" and "from bigint to varchar" in retyped.message
    assert retyped.line == _line_of(northstar_copy, "{name: customer_id")
    assert "source_not_null_commerce_orders_customer_id" in retyped.message  # a dbt source test
    relaxed = found["column:raw.orders.store_id"]
    assert relaxed.severity == "warning" and "nullable" in relaxed.message
    key = found["contract:order_items"]
    assert key.severity == "error" and "primary key" in key.message
    assert key.file == "contracts/order_items.yaml" and "stg_order_items" in key.message
    assert key.line == _line_of(northstar_copy, "primary_key", "contracts/order_items.yaml")


def test_a_contract_column_the_source_lacks_yet_is_named_as_the_change(
    northstar_copy: Path, make_context: MakeContext, tmp_path: Path
) -> None:
    base = tmp_path / "base"
    shutil.copytree(northstar_copy, base)
    warehouse = tmp_path / "staging.duckdb"
    _warehouse(northstar_copy, warehouse)
    _edit(
        northstar_copy,
        "  - {name: _load_date,",
        "  - {name: coupon_code, type: varchar, nullable: true}\n  - {name: _load_date,",
    )
    ctx = make_context(
        northstar_copy,
        changed_files=[ORDERS],
        base_repo=base,
        dbt_modified=[],
        source_schemas=source_reader(
            DuckDBWarehouse.at("staging", warehouse), northstar_copy, "contracts"
        ),
    )

    result = run_gate("contracts", ctx)

    (finding,) = result.errors
    assert finding.obj == "column:raw.orders.coupon_code"
    assert "contract orders adds column coupon_code" in finding.message
    assert finding.line == _line_of(northstar_copy, "{name: coupon_code")


def test_a_snowflake_staging_source_matches_the_types_it_stores(
    northstar_copy: Path, make_context: MakeContext, tmp_path: Path
) -> None:
    """Snowflake reports BIGINT/INTEGER columns as NUMBER(38,0), DECIMAL(p,s) as NUMBER(p,s)
    and TIMESTAMP as TIMESTAMP_NTZ: the loaders' tables match their contracts; a real retype
    (to text, or a decimal's scale) is still found."""
    import fakesnow

    from tests.runtimes.warehouse.test_snowflake import snowflake

    with fakesnow.patch():
        warehouse = snowflake("staging", "NORTHSTAR_STAGING")
        statements = ["create schema raw"]
        for file in sorted((northstar_copy / "contracts").glob("*.yaml")):
            contract = yaml.safe_load(file.read_text())
            cols = ", ".join(
                f"{c['name']} {c['type'].upper()}" + (" NOT NULL" if not c["nullable"] else "")
                for c in contract["columns"]
                if not (
                    contract["table"] == "raw.orders"
                    and c["name"] in {"customer_id", "shipping_amount"}
                )
            )
            if contract["table"] == "raw.orders":
                cols += ", customer_id VARCHAR NOT NULL, shipping_amount NUMBER(10,4) NOT NULL"
            statements.append(f"create table {contract['table']} ({cols})")
        warehouse.execute(statements)
        assert ("order_id", "NUMBER(38,0)") in warehouse.columns("raw.orders")
        ctx = make_context(
            northstar_copy, source_schemas=source_reader(warehouse, northstar_copy, "contracts")
        )

        result = run_gate("contracts", ctx)

    assert set(_by_obj(result)) == {
        "column:raw.orders.customer_id",
        "column:raw.orders.shipping_amount",
    }, result.findings
    retyped = _by_obj(result)["column:raw.orders.customer_id"]
    assert "upstream retyped column customer_id" in retyped.message and "TEXT" in retyped.message
    rescaled = _by_obj(result)["column:raw.orders.shipping_amount"].message
    assert "NUMBER(10,4)" in rescaled, rescaled
