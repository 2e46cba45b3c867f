"""Templates of the PySpark jobs, their tests and the tests' shared helpers."""

from __future__ import annotations

FLAVORS = ("daily_totals", "latest_snapshot", "status_mix")

JOB_HEAD = '''"""<<doc>>
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DecimalType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)
<<window>>
log = logging.getLogger("<<job>>")

INPUT_SCHEMA = StructType(
    [
        StructField("<<key>>", LongType(), nullable=False),
        StructField("account_id", LongType(), nullable=False),
        StructField("category", StringType(), nullable=False),
        StructField("status", StringType(), nullable=False),
        StructField("amount", DecimalType(12, 2), nullable=False),
        StructField("quantity", IntegerType(), nullable=False),
        StructField("event_ts", TimestampType(), nullable=False),
    ]
)

OUTPUT_COLUMNS: tuple[str, ...] = <<columns>>

'''

TRANSFORMS = {
    "daily_totals": (
        "aggregates them per account and day",
        ("account_id", "event_date", "event_count", "units", "total_amount"),
        '''def transform(df: DataFrame) -> DataFrame:
    """Totals per account and day; cancelled events are left out."""
    return (
        df.where(F.col("status") != "cancelled")
        .withColumn("event_date", F.to_date("event_ts"))
        .groupBy("account_id", "event_date")
        .agg(
            F.count(F.lit(1)).cast("long").alias("event_count"),
            F.sum("quantity").cast("long").alias("units"),
            F.sum("amount").cast("decimal(16,2)").alias("total_amount"),
        )
        .select(*OUTPUT_COLUMNS)
    )
''',
    ),
    "latest_snapshot": (
        "keeps the newest version of every row",
        ("<<key>>", "account_id", "status", "amount", "quantity", "event_ts"),
        '''def transform(df: DataFrame) -> DataFrame:
    """The newest version of every <<key>> (by event_ts); cancelled ones are dropped."""
    newest_first = Window.partitionBy("<<key>>").orderBy(F.col("event_ts").desc())
    return (
        df.withColumn("version", F.row_number().over(newest_first))
        .where((F.col("version") == 1) & (F.col("status") != "cancelled"))
        .select(*OUTPUT_COLUMNS)
    )
''',
    ),
    "status_mix": (
        "counts events, accounts and amounts per category and status",
        ("category", "status", "event_count", "accounts", "total_amount"),
        '''def transform(df: DataFrame) -> DataFrame:
    """Events, distinct accounts and amount per category and status."""
    return (
        df.groupBy("category", "status")
        .agg(
            F.count(F.lit(1)).cast("long").alias("event_count"),
            F.countDistinct("account_id").cast("long").alias("accounts"),
            F.sum("amount").cast("decimal(16,2)").alias("total_amount"),
        )
        .select(*OUTPUT_COLUMNS)
    )
''',
    ),
}

JOB_TAIL = """

def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="<<title>>",
    )
    parser.add_argument("--input", required=True, help="root of the landed JSON files")
    parser.add_argument("--output", required=True, help="parquet dataset, partitioned by as_of")
    parser.add_argument("--as-of", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    spark = (
        SparkSession.builder.appName("scale-<<dashed>>")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .getOrCreate()
    )
    try:
        events = spark.read.schema(INPUT_SCHEMA).option("mode", "FAILFAST").json(args.input)
        result = transform(events).withColumn("as_of", F.lit(args.as_of).cast("date"))
        result.write.mode("overwrite").partitionBy("as_of").parquet(args.output)
    finally:
        spark.stop()
    log.info("wrote %s as of %s", args.output, args.as_of)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
"""

TEST_HEAD = """from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pyspark.sql import SparkSession

<<imports>>

KEY = "<<key>>"

"""

TESTS = {
    "daily_totals": """
def test_totals_per_account_and_day(spark: SparkSession) -> None:
    rows = [
        event(KEY, 1, 10, "completed", "12.50", 2, "2026-11-01T08:00:00"),
        event(KEY, 2, 10, "open", "7.50", 1, "2026-11-01T17:30:00"),
        event(KEY, 3, 10, "cancelled", "99.00", 9, "2026-11-01T18:00:00"),
        event(KEY, 4, 20, "completed", "5.00", 3, "2026-11-02T09:00:00"),
    ]
    result = transform(frame(spark, INPUT_SCHEMA, rows))
    by_key = {(row["account_id"], row["event_date"]): row for row in result.collect()}

    assert list(result.columns) == list(OUTPUT_COLUMNS)
    assert set(by_key) == {(10, date(2026, 11, 1)), (20, date(2026, 11, 2))}
    first = by_key[(10, date(2026, 11, 1))]
    assert (first["event_count"], first["units"]) == (2, 3)
    assert first["total_amount"] == Decimal("20.00")
""",
    "latest_snapshot": """
def test_keeps_the_newest_version_of_each_row(spark: SparkSession) -> None:
    rows = [
        event(KEY, 1, 10, "open", "12.50", 2, "2026-11-01T08:00:00"),
        event(KEY, 1, 10, "completed", "12.50", 2, "2026-11-01T09:00:00"),
        event(KEY, 2, 20, "open", "3.00", 1, "2026-11-01T08:00:00"),
        event(KEY, 2, 20, "cancelled", "3.00", 1, "2026-11-01T10:00:00"),
        event(KEY, 3, 30, "open", "8.25", 4, "2026-11-02T07:00:00"),
    ]
    result = transform(frame(spark, INPUT_SCHEMA, rows))
    by_key = {row[KEY]: row for row in result.collect()}

    assert list(result.columns) == list(OUTPUT_COLUMNS)
    assert {key: row["status"] for key, row in by_key.items()} == {1: "completed", 3: "open"}
    assert by_key[3]["amount"] == Decimal("8.25")
""",
    "status_mix": """
def test_counts_per_category_and_status(spark: SparkSession) -> None:
    rows = [
        event(KEY, 1, 10, "completed", "12.50", 2, "2026-11-01T08:00:00"),
        event(KEY, 2, 10, "completed", "7.50", 1, "2026-11-01T09:00:00"),
        event(KEY, 3, 20, "completed", "5.00", 1, "2026-11-01T10:00:00"),
        event(KEY, 4, 20, "cancelled", "9.00", 1, "2026-11-01T11:00:00", category="bulk"),
    ]
    result = transform(frame(spark, INPUT_SCHEMA, rows))
    by_key = {(row["category"], row["status"]): row for row in result.collect()}

    assert list(result.columns) == list(OUTPUT_COLUMNS)
    assert set(by_key) == {("standard", "completed"), ("bulk", "cancelled")}
    standard = by_key[("standard", "completed")]
    assert (standard["event_count"], standard["accounts"]) == (3, 2)
    assert standard["total_amount"] == Decimal("25.00")
""",
}

TEST_TAIL = """

def test_parse_args_requires_an_iso_date() -> None:
    args = parse_args(["--input", "in", "--output", "out", "--as-of", "2026-11-01"])
    assert args.as_of == date(2026, 11, 1)
    with pytest.raises(SystemExit):
        parse_args(["--input", "in", "--output", "out", "--as-of", "01/11/2026"])
"""

SPARK_SUPPORT = '''"""Helpers shared by the Spark job tests (fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType


def event(
    key_column: str,
    key: int,
    account_id: int,
    status: str,
    amount: str,
    quantity: int,
    ts: str,
    *,
    category: str = "standard",
) -> dict[str, Any]:
    """One input row as the landed JSON files hold it."""
    return {
        key_column: key,
        "account_id": account_id,
        "category": category,
        "status": status,
        "amount": Decimal(amount),
        "quantity": quantity,
        "event_ts": datetime.fromisoformat(ts),
    }


def frame(spark: SparkSession, schema: StructType, rows: list[dict[str, Any]]) -> DataFrame:
    return spark.createDataFrame(rows, schema=schema)
'''
