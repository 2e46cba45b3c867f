from __future__ import annotations

from pathlib import Path

from release_assets.config import Thresholds
from release_assets.core.regression import compare, markdown, profile
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
