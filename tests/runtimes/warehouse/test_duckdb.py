from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from release_assets.runtimes.warehouse.base import WarehouseError
from release_assets.runtimes.warehouse.duckdb import DuckDBWarehouse


def test_execute_is_all_or_nothing(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.at("staging", tmp_path / "wh.duckdb")
    wh.execute(["create schema raw", "create table raw.orders (order_id bigint, amount double)"])
    with pytest.raises(WarehouseError, match="staging"):
        wh.execute(["insert into raw.orders values (1, 9.5)", "insert into raw.nope values (1)"])
    assert wh.query("select count(*) from raw.orders") == [(0,)]
    assert wh.tables() == ["raw.orders"]
    assert wh.columns("raw.orders") == [("order_id", "BIGINT"), ("amount", "DOUBLE")]


def test_reading_a_missing_warehouse_names_it(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.at("prod", tmp_path / "nope.duckdb")
    with pytest.raises(WarehouseError, match=r"prod.*nope\.duckdb does not exist"):
        wh.query("select 1")


def test_a_file_locked_by_another_process_times_out_with_the_file_named(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    DuckDBWarehouse.at("staging", path).ensure()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
            " time.sleep(30)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        wh = DuckDBWarehouse.at("staging", path, lock_timeout_s=1.0)
        with pytest.raises(WarehouseError, match=r"cannot open .*wh\.duckdb"):
            wh.execute(["create schema x"])
    finally:
        holder.kill()
        holder.wait(timeout=10)


def _release_schema(wh: DuckDBWarehouse, release: str, rows: int) -> None:
    wh.execute(
        [
            f"create schema marts__r_{release}",
            f"create table marts__r_{release}.orders as select range as id from range({rows})",
        ]
    )


def test_switch_points_stable_names_at_a_release_and_reports_the_previous(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.at("prod", tmp_path / "wh.duckdb")
    _release_schema(wh, "v1", 3)
    _release_schema(wh, "v2", 5)
    assert wh.switch("v1", {"marts.orders": "marts__r_v1.orders"}) == {}
    assert wh.query("select count(*) from marts.orders") == [(3,)]
    before = wh.switch("v2", {"marts.orders": "marts__r_v2.orders"})
    assert before["marts.orders"].release == "v1"
    assert wh.query("select count(*) from marts.orders") == [(5,)]
    assert wh.pointers()["marts.orders"].source == "marts__r_v2.orders"


def test_a_failed_switch_changes_nothing(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.at("prod", tmp_path / "wh.duckdb")
    _release_schema(wh, "v1", 3)
    wh.switch("v1", {"marts.orders": "marts__r_v1.orders"})
    with pytest.raises(WarehouseError):
        wh.switch(
            "v2",
            {"marts.orders": "marts__r_v1.orders", "marts.customers": "marts__r_v2.missing"},
        )
    assert wh.pointers()["marts.orders"].release == "v1"
    assert "marts.customers" not in wh.tables()


def test_a_table_built_in_place_is_kept_aside_on_the_first_switch(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.at("prod", tmp_path / "wh.duckdb")
    wh.execute(["create schema marts", "create table marts.orders as select 1 as id"])
    _release_schema(wh, "v1", 2)
    wh.switch("v1", {"marts.orders": "marts__r_v1.orders"})
    assert wh.query("select count(*) from marts.orders") == [(2,)]
    assert wh.query("select count(*) from marts__pre_release.orders") == [(1,)]


def test_a_snapshot_keeps_the_rows_it_copied_while_loads_land(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.at("prod", tmp_path / "wh.duckdb")
    wh.execute(
        [
            "create schema raw",
            "create table raw.orders as select range as id from range(5)",
            "create table raw.customers as select range as id from range(2)",
        ]
    )
    copies = wh.snapshot_tables(["raw.orders", "raw.customers", "main.inventory"], "__i_v2")

    # main.inventory does not exist (a source read from files): nothing to copy.
    assert copies == {"raw.customers": "raw__i_v2.customers", "raw.orders": "raw__i_v2.orders"}
    wh.execute(["insert into raw.orders select range from range(3)"])
    assert wh.query("select count(*) from raw__i_v2.orders") == [(5,)]
    # Taken again, it replaces the earlier copy (no error, no duplicate rows).
    wh.snapshot_tables(["raw.orders"], "__i_v2")
    assert wh.query("select count(*) from raw__i_v2.orders") == [(8,)]


@pytest.mark.parametrize(
    ("relations", "suffix", "named"),
    [
        (["raw.orders"], "_i_v2", "bad snapshot suffix '_i_v2'"),
        (["raw.orders; drop table x"], "__i_v2", "bad relation name 'raw.orders; drop table x'"),
    ],
)
def test_a_bad_snapshot_name_is_refused_before_anything_runs(
    tmp_path: Path, relations: list[str], suffix: str, named: str
) -> None:
    wh = DuckDBWarehouse.at("prod", tmp_path / "wh.duckdb")
    wh.execute(["create schema raw", "create table raw.orders as select 1 as id"])
    with pytest.raises(WarehouseError, match=f"prod.*{re.escape(named)}"):
        wh.snapshot_tables(relations, suffix)
    assert wh.tables() == ["raw.orders"]


def test_a_releases_canary_schemas_are_dropped_and_nothing_else(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.at("prod", tmp_path / "wh.duckdb")
    wh.execute(
        [
            "create schema raw",
            "create table raw.orders as select 1 as id",
            "create schema marts__r_v2",
            "create table marts__r_v2.fct_orders as select 1 as id",
            "create schema marts__b_v2",
            "create table marts__b_v2.fct_orders as select 1 as id",
            "create schema marts__b_v21",  # another release's: v21 is not v2
            "create table marts__b_v21.fct_orders as select 1 as id",
        ]
    )
    wh.snapshot_tables(["raw.orders"], "__i_v2")
    wh.switch("v2", {"marts.fct_orders": "marts__r_v2.fct_orders"})

    assert wh.drop_schemas(["__i_v2", "__b_v2"]) == ["marts__b_v2", "raw__i_v2"]

    assert [t for t in wh.tables() if not t.startswith("_release_assets.")] == [
        "marts.fct_orders",
        "marts__b_v21.fct_orders",
        "marts__r_v2.fct_orders",
        "raw.orders",
    ]
    assert wh.drop_schemas(["__i_v2", "__b_v2"]) == []  # a re-run: nothing left to drop


def test_a_schema_a_stable_name_reads_is_never_dropped(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.at("prod", tmp_path / "wh.duckdb")
    wh.execute(["create schema marts__r_v2", "create table marts__r_v2.t as select 1 as id"])
    wh.switch("v2", {"marts.t": "marts__r_v2.t"})

    with pytest.raises(WarehouseError, match="schema marts__r_v2 is read by a live stable name"):
        wh.drop_schemas(["__r_v2"])
    with pytest.raises(WarehouseError, match="bad schema suffix 'r_v2'"):
        wh.drop_schemas(["r_v2"])
    assert "marts__r_v2.t" in wh.tables()
