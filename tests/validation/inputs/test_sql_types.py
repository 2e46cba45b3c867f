"""Column types as Snowflake reports them, read against what contracts declare and translated
for the offline DuckDB build."""

from __future__ import annotations

import pytest

from release_assets.validation.inputs.sql_types import (
    normalize_type,
    snowflake_in_duckdb,
    stored_as,
)


@pytest.mark.parametrize(
    ("declared", "reported"),
    [
        ("bigint", "NUMBER(38,0)"),
        ("integer", "NUMBER(38,0)"),
        ("decimal(10,2)", "NUMBER(10,2)"),
        ("decimal(10,2)", "NUMBER"),  # precision not reported: not compared
        ("double", "FLOAT"),  # Snowflake's FLOAT is 64-bit
        ("float", "FLOAT"),
        ("timestamp", "TIMESTAMP_NTZ"),
        ("varchar", "TEXT"),
    ],
)
def test_a_declared_type_matches_what_snowflake_stores_it_as(declared: str, reported: str) -> None:
    canonical = normalize_type(declared)
    assert canonical is not None and stored_as(canonical, reported)


@pytest.mark.parametrize(
    ("declared", "reported"),
    [
        ("decimal(10,2)", "NUMBER(10,4)"),  # a scale changed upstream
        ("decimal(10,2)", "NUMBER(38,0)"),
        ("bigint", "NUMBER(12,2)"),
        ("bigint", "TEXT"),
        ("timestamp", "DATE"),
    ],
)
def test_a_real_retype_is_not_matched(declared: str, reported: str) -> None:
    canonical = normalize_type(declared)
    assert canonical is not None and not stored_as(canonical, reported)


def test_snowflake_names_become_duckdb_types_and_duckdb_names_are_kept() -> None:
    assert snowflake_in_duckdb("NUMBER(38,0)") == "BIGINT"
    assert snowflake_in_duckdb("NUMBER(12,2)") == "DECIMAL(12,2)"
    assert snowflake_in_duckdb("NUMBER") == "DECIMAL(38,0)"
    assert snowflake_in_duckdb("TIMESTAMP_LTZ") == "TIMESTAMP WITH TIME ZONE"
    assert snowflake_in_duckdb("VARIANT") == "JSON"
    assert snowflake_in_duckdb("DECIMAL(10,2)") == "DECIMAL(10,2)"
    assert snowflake_in_duckdb("TIMESTAMP WITH TIME ZONE") == "TIMESTAMP WITH TIME ZONE"
