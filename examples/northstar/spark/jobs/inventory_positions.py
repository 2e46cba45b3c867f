"""Current stock position per store and SKU from the inventory movement drops.

Batch job, submitted by the ``spark_inventory_positions`` DAG::

    spark-submit --master 'local[1]' spark/jobs/inventory_positions.py \
        --input  <source_root>/s3/inventory \
        --output <lake_root>/inventory_positions \
        --as-of  2026-11-01 --release-id v1.4.0

(on EMR Serverless, ``--input`` is the ``inventory_input_uri`` Variable, an ``s3://`` prefix).

Reads every ``dt=<date>/*.json`` drop up to ``--as-of``, de-duplicates redelivered movements,
signs quantities by movement type and aggregates them into positions. The result is written as
parquet partitioned by ``as_of``, stamped with the ``_release_id`` of the code that computed it;
only the ``as_of=<date>`` partition is overwritten, so re-runs are idempotent and earlier
snapshots are kept.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DecimalType,
    IntegerType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

log = logging.getLogger("inventory_positions")

MOVEMENT_SCHEMA = StructType(
    [
        StructField("movement_id", StringType(), nullable=False),
        StructField("store_id", StringType(), nullable=False),
        StructField("sku", StringType(), nullable=False),
        StructField("movement_type", StringType(), nullable=False),
        StructField("quantity", IntegerType(), nullable=False),
        StructField("unit_cost", DecimalType(10, 2), nullable=False),
        StructField("reference_id", StringType(), nullable=True),
        StructField("movement_ts", TimestampType(), nullable=False),
    ]
)

# Direction of each movement type; quantities in the drops are always positive.
MOVEMENT_SIGNS: dict[str, int] = {
    "receipt": 1,
    "return": 1,
    "transfer_in": 1,
    "sale": -1,
    "transfer_out": -1,
    "shrink": -1,
}

POSITION_COLUMNS: tuple[str, ...] = (
    "store_id",
    "sku",
    "on_hand_qty",
    "units_in",
    "units_out",
    "movement_count",
    "last_movement_ts",
    "as_of",
)


def _sign(movement_type: Column) -> Column:
    """+1 / -1 for known movement types, NULL otherwise."""
    pairs = [F.lit(part) for kind, sign in MOVEMENT_SIGNS.items() for part in (kind, sign)]
    return F.create_map(*pairs)[movement_type]


def compute_positions(movements: DataFrame, as_of: date) -> DataFrame:
    """Aggregate movements up to the end of ``as_of`` into one row per (store_id, sku).

    Movements after ``as_of`` and of unknown type are ignored; a movement delivered twice (same
    ``movement_id``) counts once.
    """
    cutoff = datetime.combine(as_of + timedelta(days=1), time.min)
    signed = (
        movements.where(F.col("movement_ts") < F.lit(cutoff))
        .where(F.col("movement_type").isin(list(MOVEMENT_SIGNS)))
        .dropDuplicates(["movement_id"])
        .withColumn("signed_qty", _sign(F.col("movement_type")) * F.col("quantity"))
    )
    inbound = F.when(F.col("signed_qty") > 0, F.col("signed_qty")).otherwise(F.lit(0))
    outbound = F.when(F.col("signed_qty") < 0, -F.col("signed_qty")).otherwise(F.lit(0))
    return (
        signed.groupBy("store_id", "sku")
        .agg(
            F.sum("signed_qty").cast("long").alias("on_hand_qty"),
            F.sum(inbound).cast("long").alias("units_in"),
            F.sum(outbound).cast("long").alias("units_out"),
            F.count(F.lit(1)).cast("long").alias("movement_count"),
            F.max("movement_ts").alias("last_movement_ts"),
        )
        .withColumn("as_of", F.lit(as_of).cast("date"))
        .select(*POSITION_COLUMNS)
    )


def read_movements(spark: SparkSession, input_root: str, as_of: date) -> DataFrame:
    """Read the ``dt=<date>`` JSON drops, pruning partitions newer than ``as_of``."""
    return (
        spark.read.schema(MOVEMENT_SCHEMA)
        .option("mode", "FAILFAST")
        .json(input_root)
        .where(F.col("dt") <= F.lit(as_of))
        .drop("dt")
    )


def write_positions(positions: DataFrame, output: str) -> None:
    """Overwrite only the ``as_of`` partition(s) present in ``positions``."""
    # Positions are small (stores x SKUs): one file per snapshot keeps the lake tidy.
    (
        positions.repartition(1)
        .write.mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
        .partitionBy("as_of")
        .parquet(output)
    )


def run(
    spark: SparkSession,
    input_root: str,
    output: str,
    as_of: date,
    release_id: str = "unreleased",
) -> int:
    """Compute and write the positions; returns the number of (store, sku) rows written."""
    movements = read_movements(spark, input_root, as_of)
    positions = (
        compute_positions(movements, as_of).withColumn("_release_id", F.lit(release_id)).cache()
    )
    rows = positions.count()
    if rows == 0:
        raise RuntimeError(f"no inventory movements found under {input_root} up to {as_of}")
    write_positions(positions, output)
    positions.unpersist()
    return rows


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Compute inventory positions per store/SKU.")
    parser.add_argument("--input", required=True, help="root of the dt=<date> JSON drops")
    parser.add_argument("--output", required=True, help="parquet dataset, partitioned by as_of")
    parser.add_argument("--as-of", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--release-id", default="unreleased", help="stamped on every row")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    spark = (
        SparkSession.builder.appName("northstar-inventory-positions")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .getOrCreate()
    )
    try:
        rows = run(spark, args.input, args.output, args.as_of, args.release_id)
    finally:
        spark.stop()
    log.info("wrote %d positions as of %s to %s", rows, args.as_of, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
