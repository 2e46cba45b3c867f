"""The SQL text of the Snowflake statements fakesnow cannot be trusted with (COPY GRANTS,
CLONE, SWAP WITH, UNDROP, time travel): checked as text, never run against fakesnow."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from release_assets.runtimes.warehouse import snowflake_sql as q


def test_stable_views_keep_their_grants() -> None:
    assert q.view_sql("marts.fct_orders", "marts__r_v2.fct_orders") == (
        "create or replace view marts.fct_orders copy grants as "
        "select * from marts__r_v2.fct_orders"
    )


def test_a_table_built_in_place_is_kept_by_a_zero_copy_clone() -> None:
    assert q.keep_aside_sql("marts.orders") == [
        "create schema if not exists marts__pre_release",
        "drop table if exists marts__pre_release.orders",
        "create table marts__pre_release.orders clone marts.orders",
        "drop table marts.orders",
    ]
    assert q.restore_aside_sql("marts.orders") == [
        "drop view if exists marts.orders",
        "create table marts.orders clone marts__pre_release.orders",
    ]


def test_clones_and_swaps() -> None:
    assert q.clone_database_sql("NORTHSTAR_PROD", "NORTHSTAR_REHEARSAL") == (
        "create database NORTHSTAR_REHEARSAL clone NORTHSTAR_PROD"
    )
    assert q.clone_schema_sql("marts__r_v2", "marts__r_v2_copy") == (
        "create schema marts__r_v2_copy clone marts__r_v2"
    )
    assert q.clone_table_sql("marts.orders", "scratch.orders") == (
        "create table scratch.orders clone marts.orders"
    )
    assert q.swap_schema_sql("marts", "marts__next") == "alter schema marts swap with marts__next"


def test_undrop() -> None:
    assert q.undrop_sql("table", "marts__r_v1.orders") == "undrop table marts__r_v1.orders"
    assert q.undrop_sql("schema", "marts__r_v1") == "undrop schema marts__r_v1"
    assert q.undrop_sql("database", "NORTHSTAR_PROD") == "undrop database NORTHSTAR_PROD"


def test_time_travel() -> None:
    assert q.time_travel_query_sql("marts.orders", offset_s=3600) == (
        "select * from marts.orders at(offset => -3600)"
    )
    when = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert q.time_travel_query_sql("marts.orders", timestamp=when) == (
        "select * from marts.orders at(timestamp => '2024-05-01T12:30:00+00:00'::timestamp_tz)"
    )
    query_id = "01b2c3d4-0000-1111-0000-000123456789"
    assert q.restore_table_sql(
        "marts__r_v2.orders", "marts__r_v2.orders_restored", before_query_id=query_id
    ) == (
        "create table marts__r_v2.orders_restored clone marts__r_v2.orders "
        f"before(statement => '{query_id}')"
    )


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({}, "exactly one of offset_s, timestamp, before_query_id"),
        ({"offset_s": 60, "before_query_id": "x"}, "exactly one"),
        ({"offset_s": 0}, "positive number of seconds, got 0"),
        ({"before_query_id": "1; drop table x"}, "bad query id '1; drop table x'"),
    ],
)
def test_a_bad_point_in_time_is_refused(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        q.time_travel_query_sql("marts.orders", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["marts", "marts.orders; drop", 'marts."Orders"', "a.b.c"])
def test_names_that_are_not_schema_dot_name_never_reach_sql(name: str) -> None:
    with pytest.raises(ValueError, match="bad relation name"):
        q.view_sql(name, "marts__r_v1.orders")


def test_bookkeeping_rows_quote_their_values() -> None:
    assert q.record_history_sql("v2", "v1", {"marts.o": "marts__r_v1.o"}) == (
        "insert into _release_assets.switches (release, replaced, pointers_before, switched_at) "
        """values ('v2', 'v1', '{"marts.o": "marts__r_v1.o"}', current_timestamp())"""
    )
    with pytest.raises(ValueError, match="bad release id"):
        q.record_live_sql("v1'; drop table x")
