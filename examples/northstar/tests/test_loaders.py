"""Raw loads against a real DuckDB file: idempotency, upserts, audit rows, canary isolation."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from support import Sources

from northstar_common.adapters import DuckDBWarehouse, Warehouse
from northstar_common.loaders import (
    LoadRun,
    SourceMissingError,
    SourceSchemaError,
    load_inventory_drop,
    load_orders_extract,
    upsert_customers,
)
from northstar_common.warehouse import connect

START = date(2026, 11, 1)


def make_run(day: date = START, suffix: str = "", release: str = "v1.4.0") -> LoadRun:
    return LoadRun(
        load_date=day,
        release_id=release,
        release_env="staging",
        dag_id="test",
        run_id=f"manual__{day}",
        schema_suffix=suffix,
    )


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = connect(tmp_path / "warehouse" / "warehouse.duckdb")
    yield connection
    connection.close()


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def test_orders_reload_replaces_the_day(con: duckdb.DuckDBPyConnection, sources: Sources) -> None:
    first = load_orders_extract(con, sources.root, make_run())
    again = load_orders_extract(con, sources.root, make_run(release="v1.5.0"))
    load_orders_extract(con, sources.root, make_run(START + timedelta(days=1)))

    per_day = sources.orders_per_day
    assert first == again and first["orders"] == per_day
    assert scalar(con, "SELECT count(*) FROM raw.orders") == 2 * per_day
    assert scalar(con, "SELECT count(DISTINCT order_id) FROM raw.orders") == 2 * per_day
    assert (
        scalar(con, f"SELECT DISTINCT _release_id FROM raw.orders WHERE _load_date = '{START}'")
        == "v1.5.0"
    )
    assert (
        scalar(con, "SELECT count(*) FROM raw.order_items")
        == scalar(con, "SELECT sum(rows_loaded) FROM raw._loads WHERE table_name = 'order_items'")
        - first["order_items"]
    )


def test_orders_load_is_typed_and_masked(con: duckdb.DuckDBPyConnection, sources: Sources) -> None:
    load_orders_extract(con, sources.root, make_run())
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE schema_name = 'raw' AND table_name = 'orders'"
        ).fetchall()
    )
    assert types["order_ts"] == "TIMESTAMP"
    assert types["shipping_amount"] == "DECIMAL(10,2)"
    assert (
        scalar(
            con,
            "SELECT count(*) FROM raw.orders WHERE card_number_masked IS NOT NULL "
            "AND NOT regexp_full_match(card_number_masked, '\\*{12}[0-9]{4}')",
        )
        == 0
    )


def test_schema_drift_fails_before_loading(tmp_path: Path, sources: Sources) -> None:
    drifted = tmp_path / "sources"
    for kind in ("orders", "order_items"):
        target = drifted / "postgres" / kind / f"{kind}_{START}.csv"
        target.parent.mkdir(parents=True)
        text = (sources.root / "postgres" / kind / target.name).read_text()
        target.write_text(text.replace("order_id,", "id,", 1))
    with connect(tmp_path / "w.duckdb") as con, pytest.raises(SourceSchemaError):
        load_orders_extract(con, drifted, make_run())


def test_missing_extract_is_reported(con: duckdb.DuckDBPyConnection, sources: Sources) -> None:
    with pytest.raises(SourceMissingError, match=r"orders_2030-01-01\.csv"):
        load_orders_extract(con, sources.root, make_run(date(2030, 1, 1)))


def test_inventory_reload_is_idempotent(con: duckdb.DuckDBPyConnection, sources: Sources) -> None:
    rows = load_inventory_drop(con, sources.root, make_run())
    assert load_inventory_drop(con, sources.root, make_run()) == rows
    assert scalar(con, "SELECT count(*) FROM raw.inventory_movements") == rows
    assert scalar(con, "SELECT count(DISTINCT movement_id) FROM raw.inventory_movements") == rows
    with pytest.raises(SourceMissingError):
        load_inventory_drop(con, sources.root, make_run(date(2030, 1, 1)))


def test_customers_upsert_keeps_latest(
    con: duckdb.DuckDBPyConnection, sources: Sources, tmp_path: Path
) -> None:
    batches = sorted((sources.root / "kafka" / "customers").glob("*.jsonl"))
    records = [json.loads(line) for path in batches for line in path.read_text().splitlines()]
    latest: dict[int, dict[str, object]] = {}
    for record in sorted(records, key=lambda r: str(r["updated_at"])):
        latest[int(str(record["customer_id"]))] = record

    assert upsert_customers(con, sources.root, make_run()) == len(latest)
    assert upsert_customers(con, sources.root, make_run()) == 0  # replay: nothing changes
    assert scalar(con, "SELECT count(*) FROM raw.customers") == len(latest)
    stored = dict(con.execute("SELECT customer_id, loyalty_tier FROM raw.customers").fetchall())
    assert stored == {key: record["loyalty_tier"] for key, record in latest.items()}

    # A newer event for one customer replaces exactly that row; an older one is ignored.
    customer_id, record = next(iter(latest.items()))
    newer = {**record, "loyalty_tier": "platinum", "updated_at": "2031-01-01T00:00:00"}
    older = {**record, "loyalty_tier": "bronze", "updated_at": "2020-01-01T00:00:00"}
    extra = tmp_path / "extra"
    (extra / "kafka" / "customers").mkdir(parents=True)
    (extra / "kafka" / "customers" / "late.jsonl").write_text(
        json.dumps(newer) + "\n" + json.dumps(older) + "\n"
    )
    assert upsert_customers(con, extra, make_run()) == 1
    assert (
        scalar(con, f"SELECT loyalty_tier FROM raw.customers WHERE customer_id = {customer_id}")
        == "platinum"
    )
    assert scalar(con, "SELECT count(*) FROM raw.customers") == len(latest)


def test_audit_rows_record_release_and_run(
    con: duckdb.DuckDBPyConnection, sources: Sources
) -> None:
    for offset in range(sources.days):
        load_orders_extract(con, sources.root, make_run(START + timedelta(days=offset)))
    rows = con.execute(
        "SELECT table_name, load_date, release_id, release_env, dag_id FROM raw._loads "
        "ORDER BY load_date, table_name"
    ).fetchall()
    assert [row[:2] for row in rows] == [
        ("order_items", START),
        ("orders", START),
        ("order_items", START + timedelta(days=1)),
        ("orders", START + timedelta(days=1)),
    ]
    assert {row[2:] for row in rows} == {("v1.4.0", "staging", "test")}


def test_canary_writes_only_to_suffixed_schema(
    con: duckdb.DuckDBPyConnection, sources: Sources
) -> None:
    load_orders_extract(con, sources.root, make_run(suffix="__canary_v2"))
    upsert_customers(con, sources.root, make_run(suffix="__canary_v2"))
    schemas = {row[0] for row in con.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()}
    assert "raw__canary_v2" in schemas
    assert "raw" not in schemas
    assert scalar(con, "SELECT count(*) FROM raw__canary_v2.orders") == sources.orders_per_day


def _with_bad_order_item(sources: Sources, root: Path, column: str, value: str) -> Path:
    """A copy of the first day's orders extract whose first order item has ``column=value``."""
    for kind in ("orders", "order_items"):
        name = f"{kind}_{START}.csv"
        (root / "postgres" / kind).mkdir(parents=True)
        shutil.copy(sources.root / "postgres" / kind / name, root / "postgres" / kind / name)
    items = root / "postgres" / "order_items" / f"order_items_{START}.csv"
    with items.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[0][column] = value
    with items.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def _batch_tables(wh: Warehouse) -> list[str]:
    """Every table, TEMP included, whose name holds ``_batch_`` (case-insensitive)."""
    sql = (
        "SELECT table_name FROM duckdb_tables()"
        if isinstance(wh, DuckDBWarehouse)
        else "SELECT table_name FROM information_schema.tables"
    )
    return [row[0] for row in wh.execute(sql).fetchall() if "_batch_" in str(row[0]).lower()]


@pytest.mark.parametrize("kind", ["duckdb", "snowflake"])
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("quantity", "many"),  # the file does not read: the second staging fails
        ("sku", ""),  # NOT NULL: Snowflake's staging insert fails, DuckDB's partition insert
    ],
)
def test_a_failed_load_leaves_no_staged_source_rows(
    kind: str,
    column: str,
    value: str,
    sources: Sources,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """Staged batches hold source rows (PII): a load failing anywhere after the first one was
    staged drops every batch, and leaves the raw tables as they were."""
    root = _with_bad_order_item(sources, tmp_path / "sources", column, value)
    wh: Any = (
        request.getfixturevalue("snowflake")
        if kind == "snowflake"
        else DuckDBWarehouse(request.getfixturevalue("con"))
    )
    with pytest.raises(Exception) as raised:  # the engine's own error, whichever it raises
        load_orders_extract(wh, root, make_run())
    assert not isinstance(raised.value, (SourceMissingError, SourceSchemaError))
    assert _batch_tables(wh) == []
    assert wh.execute("SELECT count(*) FROM raw.orders").fetchone()[0] == 0
