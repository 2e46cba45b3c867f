"""dbt-snowflake builds the example project's ``snowflake`` target into a release schema on a
fakesnow server, and the Snowflake warehouse switches the stable names to what it built."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from release_assets.core.dbt_cli import run_dbt
from release_assets.core.release_schemas import release_sources
from release_assets.runtimes.secrets.fake import FakeSecrets
from release_assets.runtimes.warehouse.snowflake import SnowflakeWarehouse
from tests.fakesnow_server import running_fakesnow

ROOT = Path(__file__).resolve().parents[3]
DBT_PROJECT = ROOT / "examples" / "northstar" / "dbt"
DATABASE = "NORTHSTAR_PROD"
PASSWORD = "pw-never-shown-4711"

SEED = [
    "create schema if not exists raw",
    "create schema if not exists lake",
    "create table raw.orders (order_id bigint, customer_id bigint, store_id varchar, "
    "channel varchar, status varchar, order_ts timestamp, currency varchar, "
    "payment_method varchar, card_number_masked varchar, shipping_amount number(12,2), "
    "_load_date date, _loaded_at timestamp, _release_id varchar)",
    "insert into raw.orders values "
    "(1, 10, 'S1', 'WEB', 'Placed', '2024-01-01 10:00:00', 'usd', 'CARD', '****1111', 5.00, "
    "'2024-01-01', '2024-01-01 12:00:00', 'v0'), "
    "(2, 11, 'S1', 'app', 'cancelled', '2024-01-01 11:00:00', 'usd', 'paypal', null, 0.00, "
    "'2024-01-01', '2024-01-01 12:00:00', 'v0'), "
    "(1, 10, 'S1', 'WEB', 'shipped', '2024-01-01 10:00:00', 'usd', 'CARD', '****1111', 5.00, "
    "'2024-01-02', '2024-01-02 12:00:00', 'v0')",
    "create table raw.order_items (order_item_id bigint, order_id bigint, sku varchar, "
    "quantity integer, unit_price number(12,2), discount_amount number(12,2), "
    "_load_date date, _loaded_at timestamp)",
    "insert into raw.order_items values "
    "(100, 1, 'A', 2, 10.00, 1.00, '2024-01-01', '2024-01-01 12:00:00'), "
    "(101, 2, 'B', 1, 7.50, 0.00, '2024-01-01', '2024-01-01 12:00:00')",
    "create table raw.customers (customer_id bigint, email_masked varchar, first_name varchar, "
    "country_code varchar, loyalty_tier varchar, marketing_opt_in boolean, signup_date date, "
    "updated_at timestamp, _release_id varchar)",
    "insert into raw.customers values "
    "(10, 'a***@x', 'Ann', 'us', 'Gold', true, '2023-01-01', '2023-06-01 00:00:00', 'v0'), "
    "(11, 'b***@x', 'Bob', 'us', 'bronze', false, '2023-02-01', '2023-06-01 00:00:00', 'v0')",
    "create table raw.inventory_movements (movement_id bigint)",
    "insert into raw.inventory_movements values (1)",
    "create table lake.inventory_positions (as_of date, store_id varchar, sku varchar, "
    "on_hand_qty bigint, units_in bigint, units_out bigint, movement_count bigint, "
    "last_movement_ts timestamp, _release_id varchar)",
    "insert into lake.inventory_positions values "
    "('2024-01-01', 'S1', 'A', 5, 7, 2, 3, '2024-01-01 09:00:00', 'v0'), "
    "('2024-01-02', 'S1', 'A', 4, 0, 1, 1, '2024-01-02 09:00:00', 'v0')",
]


@pytest.fixture(scope="module")
def fakesnow_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A fakesnow server on 127.0.0.1 in a session of its own, stopped by process group."""
    with running_fakesnow(tmp_path_factory.mktemp("fakesnow")) as port:
        yield port


@pytest.mark.slow
def test_dbt_builds_a_release_on_snowflake_and_the_warehouse_switches_to_it(
    fakesnow_port: int, tmp_path: Path
) -> None:
    wh = SnowflakeWarehouse(
        environment="prod",
        account="xy12345",
        user="release_assets",
        database=DATABASE,
        secrets=FakeSecrets(values={"SNOWFLAKE_PASSWORD": PASSWORD}),
        password_ref="SNOWFLAKE_PASSWORD",
        host="127.0.0.1",
        port=fakesnow_port,
        protocol="http",
    )
    wh.execute(SEED)
    env = {
        "SNOWFLAKE_ACCOUNT": "xy12345",
        "SNOWFLAKE_USER": "release_assets",
        "SNOWFLAKE_PASSWORD": PASSWORD,
        "SNOWFLAKE_ROLE": "RELEASER",
        "SNOWFLAKE_WAREHOUSE": "RELEASE_WH",
        "SNOWFLAKE_DATABASE": DATABASE,
        "SNOWFLAKE_HOST": "127.0.0.1",
        "SNOWFLAKE_PORT": str(fakesnow_port),
        "SNOWFLAKE_PROTOCOL": "http",
        "SNOWFLAKE_INSECURE_MODE": "true",
        "NORTHSTAR_LAKE_ROOT": str(tmp_path / "lake"),
    }
    started = time.monotonic()
    run_dbt(
        ["build", "--vars", json.dumps({"schema_suffix": "__r_v1"})],
        DBT_PROJECT,
        DBT_PROJECT,
        "snowflake",
        env,
        tmp_path / "dbt",
    )
    built_s = time.monotonic() - started
    manifest = json.loads((tmp_path / "dbt" / "target" / "manifest.json").read_text())
    relations = sorted(
        f"{n['schema'].removesuffix('__r_v1')}.{n['alias']}"
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
    )
    sources = release_sources(relations, "v1")
    assert set(sources.values()) <= set(wh.tables())  # dbt built every model in v1's schemas

    started = time.monotonic()
    assert wh.switch("v1", sources) == {}
    switched_s = time.monotonic() - started
    print(
        f"\ndbt build on fakesnow: {built_s:.1f} s; "
        f"switch of {len(sources)} names: {switched_s:.1f} s"
    )

    assert wh.last_switched() == "v1"
    assert {p.release for p in wh.pointers().values()} == {"v1"}
    assert wh.query(
        "select order_id, order_status, net_amount from marts.fct_orders order by 1"
    ) == [
        (1, "shipped", pytest.approx(24.0)),
        (2, "cancelled", pytest.approx(7.5)),
    ]
    assert wh.query("select net_revenue, cancelled_orders from marts.fct_daily_revenue") == [
        (pytest.approx(24.0), 1)
    ]
    assert wh.query("select count(*) from staging.stg_orders") == [(2,)]
