from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession

from inventory_positions import (
    MOVEMENT_SCHEMA,
    POSITION_COLUMNS,
    compute_positions,
    parse_args,
    run,
)

AS_OF = date(2026, 11, 2)


def movement(
    movement_id: str,
    movement_type: str,
    quantity: int,
    ts: str,
    *,
    store_id: str = "ST001",
    sku: str = "SKU-1",
) -> dict[str, Any]:
    return {
        "movement_id": movement_id,
        "store_id": store_id,
        "sku": sku,
        "movement_type": movement_type,
        "quantity": quantity,
        "unit_cost": Decimal("2.50"),
        "reference_id": None,
        "movement_ts": datetime.fromisoformat(ts),
    }


def frame(spark: SparkSession, rows: list[dict[str, Any]]) -> DataFrame:
    return spark.createDataFrame(rows, schema=MOVEMENT_SCHEMA)


def positions_by_key(df: DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    return {(row["store_id"], row["sku"]): row.asDict() for row in df.collect()}


def test_signs_quantities_by_movement_type(spark: SparkSession) -> None:
    rows = [
        movement("m1", "receipt", 50, "2026-11-01T06:00:00"),
        movement("m2", "sale", 3, "2026-11-01T10:00:00"),
        movement("m3", "return", 1, "2026-11-01T11:00:00"),
        movement("m4", "shrink", 2, "2026-11-01T20:00:00"),
        movement("m5", "transfer_out", 5, "2026-11-02T09:00:00"),
        movement("m6", "transfer_in", 4, "2026-11-02T10:30:00"),
    ]
    result = positions_by_key(compute_positions(frame(spark, rows), AS_OF))

    assert result == {
        ("ST001", "SKU-1"): {
            "store_id": "ST001",
            "sku": "SKU-1",
            "on_hand_qty": 50 - 3 + 1 - 2 - 5 + 4,
            "units_in": 55,
            "units_out": 10,
            "movement_count": 6,
            "last_movement_ts": datetime(2026, 11, 2, 10, 30),
            "as_of": AS_OF,
        }
    }


def test_positions_are_per_store_and_sku(spark: SparkSession) -> None:
    rows = [
        movement("a", "receipt", 10, "2026-11-01T06:00:00", store_id="ST001", sku="SKU-1"),
        movement("b", "receipt", 20, "2026-11-01T06:00:00", store_id="ST001", sku="SKU-2"),
        movement("c", "receipt", 30, "2026-11-01T06:00:00", store_id="ST002", sku="SKU-1"),
        movement("d", "sale", 4, "2026-11-01T12:00:00", store_id="ST002", sku="SKU-1"),
    ]
    result = positions_by_key(compute_positions(frame(spark, rows), AS_OF))

    assert {key: row["on_hand_qty"] for key, row in result.items()} == {
        ("ST001", "SKU-1"): 10,
        ("ST001", "SKU-2"): 20,
        ("ST002", "SKU-1"): 26,
    }
    assert list(compute_positions(frame(spark, rows), AS_OF).columns) == list(POSITION_COLUMNS)


def test_ignores_movements_after_as_of(spark: SparkSession) -> None:
    rows = [
        movement("m1", "receipt", 10, "2026-11-02T23:59:59"),
        movement("m2", "sale", 7, "2026-11-03T00:00:00"),
    ]
    result = positions_by_key(compute_positions(frame(spark, rows), AS_OF))

    assert result[("ST001", "SKU-1")]["on_hand_qty"] == 10
    assert result[("ST001", "SKU-1")]["movement_count"] == 1


def test_redelivered_movements_count_once(spark: SparkSession) -> None:
    rows = [
        movement("m1", "receipt", 10, "2026-11-01T06:00:00"),
        movement("m1", "receipt", 10, "2026-11-01T06:00:00"),
        movement("m2", "sale", 1, "2026-11-01T09:00:00"),
    ]
    result = positions_by_key(compute_positions(frame(spark, rows), AS_OF))

    assert result[("ST001", "SKU-1")]["on_hand_qty"] == 9
    assert result[("ST001", "SKU-1")]["movement_count"] == 2


def test_unknown_movement_types_are_ignored(spark: SparkSession) -> None:
    rows = [
        movement("m1", "receipt", 10, "2026-11-01T06:00:00"),
        movement("m2", "recount", 99, "2026-11-01T07:00:00"),
    ]
    result = positions_by_key(compute_positions(frame(spark, rows), AS_OF))

    assert result[("ST001", "SKU-1")]["on_hand_qty"] == 10


def write_drop(root: Path, day: str, rows: list[dict[str, Any]]) -> None:
    target = root / f"dt={day}"
    target.mkdir(parents=True, exist_ok=True)
    with (target / "movements_ST001.json").open("w", encoding="utf-8") as handle:
        for row in rows:
            record = {**row, "unit_cost": float(row["unit_cost"])}
            record["movement_ts"] = row["movement_ts"].isoformat()
            handle.write(json.dumps(record) + "\n")


def test_run_overwrites_only_its_partition(spark: SparkSession, tmp_path: Path) -> None:
    drops, lake = tmp_path / "s3" / "inventory", tmp_path / "lake" / "inventory_positions"
    write_drop(drops, "2026-11-01", [movement("m1", "receipt", 10, "2026-11-01T06:00:00")])
    write_drop(drops, "2026-11-02", [movement("m2", "sale", 4, "2026-11-02T12:00:00")])

    assert run(spark, str(drops), str(lake), date(2026, 11, 1), "v1.0.0") == 1
    assert run(spark, str(drops), str(lake), AS_OF, "v1.0.0") == 1
    assert run(spark, str(drops), str(lake), AS_OF, "v1.1.0") == 1  # re-run replaces the partition

    written = spark.read.parquet(str(lake))
    snapshots = {
        row["as_of"]: (row["on_hand_qty"], row["_release_id"]) for row in written.collect()
    }
    assert snapshots == {date(2026, 11, 1): (10, "v1.0.0"), AS_OF: (6, "v1.1.0")}
    assert sorted(path.name for path in lake.iterdir() if path.is_dir()) == [
        "as_of=2026-11-01",
        "as_of=2026-11-02",
    ]


def test_run_fails_without_movements(spark: SparkSession, tmp_path: Path) -> None:
    drops = tmp_path / "s3" / "inventory"
    write_drop(drops, "2026-11-05", [movement("m1", "receipt", 10, "2026-11-05T06:00:00")])

    with pytest.raises(RuntimeError, match="no inventory movements"):
        run(spark, str(drops), str(tmp_path / "out"), date(2026, 11, 1))


def test_parse_args_requires_iso_as_of() -> None:
    args = parse_args(["--input", "in", "--output", "out", "--as-of", "2026-11-01"])
    assert args.as_of == date(2026, 11, 1)
    assert args.release_id == "unreleased"
    with pytest.raises(SystemExit):
        parse_args(["--input", "in", "--output", "out", "--as-of", "01/11/2026"])
