"""SnowflakeWarehouse against fakesnow in process: the same behaviours the DuckDB warehouse
tests check (transactions, switching, pointers, history, what a switch replaced)."""

from __future__ import annotations

from collections.abc import Iterator

import fakesnow
import pytest

from release_assets.runtimes.secrets.fake import FakeSecrets
from release_assets.runtimes.warehouse.base import WarehouseError
from release_assets.runtimes.warehouse.snowflake import SnowflakeWarehouse

PASSWORD = "pw-never-shown-4711"


def snowflake(environment: str = "prod", database: str = "NORTHSTAR_PROD") -> SnowflakeWarehouse:
    """The warehouse of ``environment`` with a password from the fake secrets backend."""
    return SnowflakeWarehouse(
        environment=environment,
        account="xy12345",
        user="release_assets",
        role="RELEASER",
        warehouse="RELEASE_WH",
        database=database,
        secrets=FakeSecrets(values={"SNOWFLAKE_PASSWORD": PASSWORD}),
        password_ref="SNOWFLAKE_PASSWORD",
    )


@pytest.fixture
def wh() -> Iterator[SnowflakeWarehouse]:
    with fakesnow.patch():
        yield snowflake()


def _release_schema(wh: SnowflakeWarehouse, release: str, rows: int) -> None:
    values = ", ".join(f"({i})" for i in range(rows))
    wh.execute(
        [
            f"create schema marts__r_{release}",
            f"create table marts__r_{release}.orders (id integer)",
            f"insert into marts__r_{release}.orders values {values}",
        ]
    )


def test_execute_is_all_or_nothing(wh: SnowflakeWarehouse) -> None:
    wh.execute(["create schema raw", "create table raw.orders (order_id bigint, amount float)"])
    with pytest.raises(WarehouseError, match="prod") as failure:
        wh.execute(["insert into raw.orders values (1, 9.5)", "insert into raw.nope values (1)"])
    assert "NORTHSTAR_PROD" in str(failure.value)
    assert wh.query("select count(*) from raw.orders") == [(0,)]
    assert wh.tables() == ["raw.orders"]
    assert wh.columns("raw.orders") == [("order_id", "NUMBER(38,0)"), ("amount", "FLOAT")]
    assert wh.query("select order_id from raw.orders where order_id = ?", [1]) == []


def test_switch_points_stable_names_at_a_release_and_reports_the_previous(
    wh: SnowflakeWarehouse,
) -> None:
    _release_schema(wh, "v1", 3)
    _release_schema(wh, "v2", 5)
    assert wh.last_switched() is None
    assert wh.switch("v1", {"marts.orders": "marts__r_v1.orders"}) == {}
    assert wh.query("select count(*) from marts.orders") == [(3,)]
    before = wh.switch("v2", {"marts.orders": "marts__r_v2.orders"})
    assert before["marts.orders"].release == "v1"
    assert wh.query("select count(*) from marts.orders") == [(5,)]
    assert wh.pointers()["marts.orders"].source == "marts__r_v2.orders"
    assert wh.last_switched() == "v2"
    assert wh.replaced("v2") == ("v1", {"marts.orders": "marts__r_v1.orders"})
    assert wh.replaced("v1") == (None, {})
    assert "marts.orders" in wh.tables()


def test_switching_the_same_release_again_keeps_its_history_entry(wh: SnowflakeWarehouse) -> None:
    _release_schema(wh, "v1", 3)
    _release_schema(wh, "v2", 5)
    wh.switch("v1", {"marts.orders": "marts__r_v1.orders"})
    wh.switch("v2", {"marts.orders": "marts__r_v2.orders"})
    wh.switch("v2", {"marts.orders": "marts__r_v2.orders"})
    assert wh.replaced("v2") == ("v1", {"marts.orders": "marts__r_v1.orders"})
    # A rollback names what it replaces: v1 comes back replacing v2.
    wh.switch("v1", {"marts.orders": "marts__r_v1.orders"}, replaced="v2")
    assert wh.last_switched() == "v1"
    assert wh.query("select count(*) from marts.orders") == [(3,)]


def test_a_failed_switch_changes_nothing(wh: SnowflakeWarehouse) -> None:
    _release_schema(wh, "v1", 3)
    _release_schema(wh, "v2", 5)
    wh.switch("v1", {"marts.orders": "marts__r_v1.orders"})
    with pytest.raises(WarehouseError, match=r"prod.*NORTHSTAR_PROD.*MISSING"):
        wh.switch(
            "v3",
            # marts.a_first switches before the missing relation is reached.
            {
                "marts.a_first": "marts__r_v2.orders",
                "marts.orders": "marts__r_v2.orders",
                "marts.zz_customers": "marts__r_v3.missing",
            },
        )
    assert {t: p.release for t, p in wh.pointers().items()} == {"marts.orders": "v1"}
    assert wh.query("select count(*) from marts.orders") == [(3,)]
    assert "marts.a_first" not in wh.tables()
    assert "marts.zz_customers" not in wh.tables()
    assert wh.last_switched() == "v1"
    assert wh.replaced("v3") == (None, {})


def test_a_table_built_in_place_is_kept_aside_on_the_first_switch(wh: SnowflakeWarehouse) -> None:
    wh.execute(["create schema marts", "create table marts.orders as select 1 as id"])
    _release_schema(wh, "v1", 2)
    wh.switch("v1", {"marts.orders": "marts__r_v1.orders"})
    assert wh.query("select count(*) from marts.orders") == [(2,)]
    assert wh.query("select count(*) from marts__pre_release.orders") == [(1,)]


def test_retired_names_are_dropped_with_their_pointers(wh: SnowflakeWarehouse) -> None:
    _release_schema(wh, "v1", 2)
    wh.switch("v1", {"marts.orders": "marts__r_v1.orders", "marts.legacy": "marts__r_v1.orders"})
    wh.switch("v2", {"marts.orders": "marts__r_v1.orders"}, retire=("marts.legacy",))
    assert set(wh.pointers()) == {"marts.orders"}
    assert "marts.legacy" not in wh.tables()


@pytest.mark.parametrize(
    ("release", "sources", "named"),
    [
        ("v1; drop", {"marts.orders": "marts__r_v1.orders"}, "bad release id 'v1; drop'"),
        (
            "v1",
            {"marts.orders": "marts__r_v1.orders x"},
            "bad relation name 'marts__r_v1.orders x'",
        ),
        ("v1", {"orders": "marts__r_v1.orders"}, "bad relation name 'orders'"),
    ],
)
def test_bad_names_are_refused_before_anything_runs(
    wh: SnowflakeWarehouse, release: str, sources: dict[str, str], named: str
) -> None:
    with pytest.raises(WarehouseError, match=rf"warehouse 'prod' .*{named}"):
        wh.switch(release, sources)
    assert wh.tables() == []


def test_identifiers_are_quoted_as_snowflake_stores_them(wh: SnowflakeWarehouse) -> None:
    # Unquoted names are stored upper-case: "order_id" would be another column than ORDER_ID.
    assert wh.quote_identifier("order_id") == '"ORDER_ID"'
    assert wh.quote_identifier("OrderId") == '"OrderId"'
    assert wh.quote_identifier('a"b') == '"a""b"'  # created quoted: kept as is
    assert wh.quote_relation("marts.fct_orders") == '"MARTS"."FCT_ORDERS"'


def test_a_snapshot_is_a_clone_that_keeps_its_rows_while_loads_land(
    wh: SnowflakeWarehouse,
) -> None:
    wh.execute(["create schema raw", "create table raw.orders (id integer)"])
    wh.execute(["insert into raw.orders values (1), (2), (3)"])

    copies = wh.snapshot_tables(["raw.orders", "lake.positions"], "__i_v2")

    assert copies == {"raw.orders": "raw__i_v2.orders"}
    wh.execute(["insert into raw.orders values (4)"])
    assert wh.query("select count(*) from raw__i_v2.orders") == [(3,)]
    wh.snapshot_tables(["raw.orders"], "__i_v2")  # taken again: replaces the copy
    assert wh.query("select count(*) from raw__i_v2.orders") == [(4,)]


def test_a_releases_snapshot_schema_is_dropped(wh: SnowflakeWarehouse) -> None:
    wh.execute(["create schema raw", "create table raw.orders (id integer)"])
    wh.snapshot_tables(["raw.orders"], "__i_v2")

    assert wh.drop_schemas(["__i_v2", "__b_v2"]) == ["raw__i_v2"]

    assert wh.tables() == ["raw.orders"]
