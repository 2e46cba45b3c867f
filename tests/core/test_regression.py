from __future__ import annotations

from pathlib import Path

from release_assets.config import Thresholds
from release_assets.core.regression import (
    Verdict,
    compare,
    duplicate_rate,
    markdown,
    null_rate,
    profile,
    row_count,
    staleness,
)
from release_assets.runtimes.warehouse.duckdb import DuckDBWarehouse

T = Thresholds(
    max_row_count_change_pct=10.0,
    max_null_rate_increase=0.01,
    max_duplicate_rate=0.0,
    max_staleness_hours=26.0,
)


def _wh(tmp_path: Path, canary_sql: str) -> DuckDBWarehouse:
    wh = DuckDBWarehouse.at("prod", tmp_path / "wh.duckdb")
    wh.execute(
        [
            "create schema marts",
            "create schema marts__r_v2",
            "create table marts.orders as select range as order_id, 'x' as status, "
            "timestamp '2026-11-01 10:00' + to_hours(range) as order_ts, 1.5 as amount "
            "from range(300)",
            f"create table marts__r_v2.orders as {canary_sql}",
        ]
    )
    return wh


def _verdicts(tmp_path: Path, canary_sql: str) -> dict[str, bool]:
    wh = _wh(tmp_path, canary_sql)
    live = profile(wh, "marts.orders", ["order_id"])
    canary = profile(wh, "marts__r_v2.orders", ["order_id"])
    assert live is not None and canary is not None
    return {v.metric: v.ok for v in compare("marts.orders", live, canary, T)}


def test_an_identical_canary_passes_everything(tmp_path: Path) -> None:
    verdicts = _verdicts(tmp_path, "select * from marts.orders")
    assert verdicts and all(verdicts.values())


def test_dropping_a_third_of_the_rows_fails_the_row_count(tmp_path: Path) -> None:
    verdicts = _verdicts(tmp_path, "select * from marts.orders where order_id % 3 <> 0")
    assert verdicts["row count"] is False


def test_new_nulls_duplicate_keys_and_removed_or_retyped_columns_fail(tmp_path: Path) -> None:
    canary = (
        "select order_id, case when order_id % 10 = 0 then null else status end as status, "
        "cast(order_ts as date) as order_ts from marts.orders "
        "union all select 1, 'x', date '2026-11-01'"
    )
    verdicts = _verdicts(tmp_path, canary)
    assert verdicts["null rate status"] is False
    assert verdicts["duplicate rate on keys"] is False
    assert verdicts["column amount"] is False  # removed
    assert verdicts["column order_ts"] is False  # retyped
    assert verdicts["row count"] is True  # 301 vs 300


def test_an_added_column_is_reported_but_passes(tmp_path: Path) -> None:
    verdicts = _verdicts(tmp_path, "select *, 'web' as channel from marts.orders")
    assert verdicts["column channel"] is True


def test_stale_canary_data_fails_freshness(tmp_path: Path) -> None:
    canary = "select * from marts.orders where order_ts < timestamp '2026-11-02 00:00'"
    verdicts = _verdicts(tmp_path, canary)
    assert verdicts["freshness (newest row)"] is False


def test_no_live_table_means_no_baseline(tmp_path: Path) -> None:
    wh = _wh(tmp_path, "select * from marts.orders")
    canary = profile(wh, "marts__r_v2.orders", ["order_id"])
    assert canary is not None
    verdicts = compare("marts.orders", None, canary, T)
    assert [v.metric for v in verdicts] == ["duplicate rate on keys", "baseline"]
    assert "| marts.orders | baseline |" in markdown(verdicts)


def _by_metric(tmp_path: Path, canary_sql: str) -> dict[str, Verdict]:
    wh = _wh(tmp_path, canary_sql)
    live = profile(wh, "marts.orders", ["order_id"])
    canary = profile(wh, "marts__r_v2.orders", ["order_id"])
    assert live is not None and canary is not None
    return {v.metric: v for v in compare("marts.orders", live, canary, T)}


# Sign and direction of every metric: the value cell carries the signed change, the summary
# (the check's description) says in words which way it moved.


def test_a_drop_in_rows_reads_as_a_drop(tmp_path: Path) -> None:
    verdict = _by_metric(tmp_path, "select * from marts.orders where order_id % 3 <> 0")[
        "row count"
    ]
    assert not verdict.ok
    assert verdict.value == "200 (-33.3%)"
    assert verdict.summary() == (
        "marts.orders row count fell by 33.3% (300 -> 200 rows; allowed: ±10.0%)"
    )


def test_a_rise_in_rows_reads_as_a_rise(tmp_path: Path) -> None:
    canary = "select * from marts.orders union all select * from marts.orders where order_id < 60"
    verdict = _by_metric(tmp_path, canary)["row count"]
    assert not verdict.ok
    assert verdict.value == "360 (+20.0%)"
    assert verdict.summary() == (
        "marts.orders row count rose by 20.0% (300 -> 360 rows; allowed: ±10.0%)"
    )


def test_a_row_count_change_within_the_limit_passes_either_way() -> None:
    assert row_count("t", 100, 95, 5.0).ok and row_count("t", 100, 105, 5.0).ok
    assert "fell by 5.0%" in row_count("t", 100, 95, 5.0).summary()
    assert "rose by 5.0%" in row_count("t", 100, 105, 5.0).summary()
    assert "unchanged" in row_count("t", 100, 100, 5.0).summary()


def test_a_null_rate_rise_fails_and_a_fall_passes() -> None:
    rise = null_rate("marts.orders", "status", 0.0, 0.1, 0.01)
    assert not rise.ok
    assert rise.value == "0.1000 (+0.1000)"
    assert rise.summary() == (
        "marts.orders null rate of status rose by 0.1000 (0.0000 -> 0.1000; allowed rise: 0.01)"
    )
    fall = null_rate("marts.orders", "status", 0.2, 0.05, 0.01)
    assert fall.ok
    assert fall.value == "0.0500 (-0.1500)"
    assert "null rate of status fell by 0.1500" in fall.summary()


def test_a_null_rate_rise_read_from_the_tables(tmp_path: Path) -> None:
    canary = (
        "select order_id, case when order_id % 10 = 0 then null else status end as status, "
        "order_ts, amount from marts.orders"
    )
    verdict = _by_metric(tmp_path, canary)["null rate status"]
    assert not verdict.ok
    assert "null rate of status rose by 0.1000 (0.0000 -> 0.1000" in verdict.summary()


def test_duplicate_keys_are_reported_as_a_rate_above_its_limit(tmp_path: Path) -> None:
    canary = "select * from marts.orders union all select * from marts.orders where order_id < 3"
    verdict = _by_metric(tmp_path, canary)["duplicate rate on keys"]
    assert not verdict.ok
    assert verdict.summary() == (
        "marts.orders duplicate rate on keys is 0.0099 (live 0.0000; allowed: at most 0.0)"
    )
    assert duplicate_rate("t", None, 0.0, 0.0).ok
    assert "(live -;" in duplicate_rate("t", None, 0.5, 0.0).summary()


def test_staleness_says_behind_or_ahead_of_live(tmp_path: Path) -> None:
    stale = "select * from marts.orders where order_ts < timestamp '2026-11-02 00:00'"
    verdict = _by_metric(tmp_path, stale)["freshness (newest row)"]
    assert not verdict.ok
    # Live's newest row is 2026-11-13 21:00 (hour 299), the canary's 2026-11-01 23:00.
    assert verdict.summary() == (
        "marts.orders newest row is 286.0 h behind live "
        "(2026-11-13 21:00:00 -> 2026-11-01 23:00:00; allowed: 26.0 h behind)"
    )
    ahead = staleness("t", "2026-11-01 10:00:00", "2026-11-01 13:00:00", 26.0)
    assert ahead.ok and "3.0 h ahead of live" in ahead.summary()
    assert staleness("t", "2026-11-01 10:00:00", "2026-11-01 10:00:00", 26.0).ok


def test_removed_and_retyped_columns_say_which(tmp_path: Path) -> None:
    canary = "select order_id, status, cast(order_ts as date) as order_ts from marts.orders"
    verdicts = _by_metric(tmp_path, canary)
    assert verdicts["column amount"].summary() == (
        "marts.orders column amount (DECIMAL(2,1)) was removed"
    )
    assert verdicts["column order_ts"].summary() == (
        "marts.orders column order_ts changed type: TIMESTAMP -> DATE"
    )


def test_column_names_that_need_quoting_are_profiled(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.at("prod", tmp_path / "wh.duckdb")
    wh.execute(
        [
            "create schema marts",
            'create table marts.orders as select range as "Order Id", '
            'case when range < 3 then null else 1 end as "say ""hi""" from range(10)',
        ]
    )
    live = profile(wh, "marts.orders", ["Order Id"])
    assert live is not None
    assert live.rows == 10 and live.duplicate_keys == 0
    assert live.nulls == {"Order Id": 0, 'say "hi"': 3}
