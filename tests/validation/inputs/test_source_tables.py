"""dbt sources created offline in DuckDB from the column types a staging warehouse reports:
Snowflake's type names (NUMBER(p,s), TEXT, TIMESTAMP_NTZ, VARIANT) become DuckDB's."""

from __future__ import annotations

from pathlib import Path

import duckdb
import fakesnow

from release_assets.validation.gates.contracts import warehouse_source_schemas
from release_assets.validation.inputs.source_tables import create_sources
from tests.runtimes.warehouse.test_snowflake import snowflake

MANIFEST = {
    "sources": {
        "source.p.commerce.orders": {
            "source_name": "commerce",
            "name": "orders",
            "schema": "raw",
            "identifier": "orders",
        }
    }
}


def test_snowflake_staging_sources_are_built_with_duckdb_types(tmp_path: Path) -> None:
    with fakesnow.patch():
        staging = snowflake("staging", "NORTHSTAR_STAGING")
        staging.execute(
            [
                "create schema raw",
                "create table raw.orders (order_id bigint, amount number(12,2), "
                "status varchar, placed_at timestamp, payload variant, paid boolean)",
            ]
        )
        reported = warehouse_source_schemas(staging, ["raw.orders"])

    created = create_sources(
        MANIFEST,
        {"source.p.commerce.orders"},
        tmp_path / "scratch.duckdb",
        tmp_path,
        "contracts",
        lambda: reported,
    )

    assert created.missing == {}
    assert created.created == {"commerce.orders": "the staging warehouse"}
    con = duckdb.connect(str(tmp_path / "scratch.duckdb"), read_only=True)
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'raw' and table_name = 'orders' order by ordinal_position"
    ).fetchall()
    con.close()
    assert columns == [
        ("order_id", "BIGINT"),
        ("amount", "DECIMAL(12,2)"),
        ("status", "VARCHAR"),
        ("placed_at", "TIMESTAMP"),
        ("payload", "JSON"),
        ("paid", "BOOLEAN"),
    ]
