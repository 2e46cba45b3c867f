"""SQL column types as contracts declare them and as DuckDB reports them, normalized so the two
can be compared: ``varchar``/``text``/``string`` are ``VARCHAR``, ``int8``/``bigint`` are
``BIGINT``, ``decimal(10, 2)``/``numeric(10,2)`` are ``DECIMAL(10,2)``, and so on."""

from __future__ import annotations

import re

_ALIASES: dict[str, str] = {
    **dict.fromkeys(
        [
            "varchar",
            "text",
            "string",
            "char",
            "bpchar",
            "nvarchar",
            "character",
            "character varying",
        ],
        "VARCHAR",
    ),
    **dict.fromkeys(["tinyint", "int1"], "TINYINT"),
    **dict.fromkeys(["smallint", "int2", "short"], "SMALLINT"),
    **dict.fromkeys(["integer", "int", "int4", "signed"], "INTEGER"),
    **dict.fromkeys(["bigint", "int8", "long"], "BIGINT"),
    **dict.fromkeys(["hugeint", "int128"], "HUGEINT"),
    **dict.fromkeys(["utinyint", "usmallint", "uinteger", "ubigint", "uhugeint"], ""),
    **dict.fromkeys(["real", "float", "float4"], "FLOAT"),
    **dict.fromkeys(["double", "float8", "double precision"], "DOUBLE"),
    **dict.fromkeys(["boolean", "bool", "logical"], "BOOLEAN"),
    "date": "DATE",
    **dict.fromkeys(["timestamp", "datetime", "timestamp without time zone"], "TIMESTAMP"),
    **dict.fromkeys(["timestamptz", "timestamp with time zone"], "TIMESTAMP WITH TIME ZONE"),
    "timestamp_ns": "TIMESTAMP_NS",
    "timestamp_ms": "TIMESTAMP_MS",
    "timestamp_s": "TIMESTAMP_S",
    **dict.fromkeys(["time", "time without time zone"], "TIME"),
    **dict.fromkeys(["timetz", "time with time zone"], "TIME WITH TIME ZONE"),
    "interval": "INTERVAL",
    **dict.fromkeys(["blob", "bytea", "binary", "varbinary"], "BLOB"),
    **dict.fromkeys(["bit", "bitstring"], "BIT"),
    "uuid": "UUID",
    "json": "JSON",
}
_STRING_WITH_LENGTH = re.compile(
    r"(varchar|char|character varying|character|nvarchar)\s*\(\s*\d+\s*\)"
)
_DECIMAL = re.compile(r"(?:decimal|numeric)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?")
_NESTED = re.compile(r"(struct|map|union)\s*\(.*\)")
_DECIMAL_MAX_PRECISION = 38

KNOWN_TYPES_HINT = (
    "bigint, integer, smallint, double, float, decimal(p,s), varchar, boolean, date, "
    "timestamp, timestamptz, time, interval, blob, uuid, json"
)


def normalize_type(raw: str) -> str | None:
    """The canonical (DuckDB) spelling of a SQL type, or None when it is not a known type."""
    text = " ".join(str(raw).strip().lower().split())
    if not text:
        return None
    if text.endswith("[]"):
        inner = normalize_type(text[:-2])
        return f"{inner}[]" if inner else None
    if text in _ALIASES:
        return _ALIASES[text] or text.upper()
    if _STRING_WITH_LENGTH.fullmatch(text):
        return "VARCHAR"
    decimal = _DECIMAL.fullmatch(text)
    if decimal:
        if decimal.group(1) is None:
            precision, scale = 18, 3  # DuckDB's DECIMAL without arguments
        else:
            precision, scale = int(decimal.group(1)), int(decimal.group(2) or 0)
        if not 1 <= precision <= _DECIMAL_MAX_PRECISION or scale > precision:
            return None
        return f"DECIMAL({precision},{scale})"
    if _NESTED.fullmatch(text):
        return re.sub(r"\s+", " ", str(raw).strip()).upper()
    return None


# How Snowflake's information_schema reports a column (DATA_TYPE, without precision): every
# fixed-point type is NUMBER (INTEGER/BIGINT/... are NUMBER(38,0), DECIMAL(p,s) NUMBER(p,s)),
# TIMESTAMP is TIMESTAMP_NTZ by default (Snowflake docs, "Numeric data types", "Date & time
# data types": TIMESTAMP_TYPE_MAPPING). These names are not DuckDB's, so a type reported under
# one of them is read as Snowflake's, and matches each canonical type it stores.
_SNOWFLAKE_STORED: dict[str, frozenset[str]] = {
    "NUMBER": frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DECIMAL"}),
    "FIXED": frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DECIMAL"}),
    # Snowflake's FLOAT is 64-bit and reports DOUBLE/REAL columns as FLOAT too; DuckDB reports
    # its 32-bit REAL as FLOAT, so against DuckDB a DOUBLE declared over a REAL is not caught.
    "FLOAT": frozenset({"FLOAT", "DOUBLE"}),
    "TIMESTAMP_NTZ": frozenset({"TIMESTAMP"}),
    "TIMESTAMP_TZ": frozenset({"TIMESTAMP WITH TIME ZONE"}),
    "TIMESTAMP_LTZ": frozenset({"TIMESTAMP WITH TIME ZONE"}),
}


# A Snowflake column type -> the DuckDB type that holds the same values, for building a
# Snowflake warehouse's tables in DuckDB offline (Snowflake docs, "Data types": INT, INTEGER,
# BIGINT... are NUMBER(38,0); TIMESTAMP defaults to
# TIMESTAMP_NTZ; VARIANT/OBJECT/ARRAY hold semi-structured values, JSON in DuckDB).
_SNOWFLAKE_IN_DUCKDB: dict[str, str] = {
    "TEXT": "VARCHAR",
    "TIMESTAMP_NTZ": "TIMESTAMP",
    "TIMESTAMP_TZ": "TIMESTAMP WITH TIME ZONE",
    "TIMESTAMP_LTZ": "TIMESTAMP WITH TIME ZONE",
    "VARIANT": "JSON",
    "OBJECT": "JSON",
    "ARRAY": "JSON",
    "BINARY": "BLOB",
}
_SNOWFLAKE_NUMBER = re.compile(r"(?:number|fixed)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?")


def snowflake_in_duckdb(snowflake_type: str) -> str:
    """The DuckDB type for a column a Snowflake warehouse reports as ``snowflake_type``:
    ``NUMBER(38,0)`` (what INTEGER and BIGINT are) -> ``BIGINT``, ``NUMBER(12,2)`` ->
    ``DECIMAL(12,2)``, ``NUMBER`` -> ``DECIMAL(38,0)``, ``TIMESTAMP_NTZ`` -> ``TIMESTAMP``,
    ``VARIANT`` -> ``JSON``...; any other name is returned as given (DuckDB reads ``BOOLEAN``,
    ``DATE``, ``VARCHAR`` itself)."""
    text = " ".join(snowflake_type.strip().split())
    number = _SNOWFLAKE_NUMBER.fullmatch(text.lower())
    if number:
        precision, scale = int(number.group(1) or 38), int(number.group(2) or 0)
        if number.group(1) is not None and (precision, scale) == (38, 0):
            return "BIGINT"
        return f"DECIMAL({precision},{scale})"
    return _SNOWFLAKE_IN_DUCKDB.get(text.upper(), text)


def stored_as(canonical: str, actual: str) -> bool:
    """Whether a column declared with ``canonical`` (a ``normalize_type`` result) is what a
    warehouse reporting ``actual`` holds: the same canonical type, or, for a Snowflake type
    name (``NUMBER``, ``TIMESTAMP_NTZ``...), a type Snowflake stores under it. When a NUMBER's
    precision is reported (``NUMBER(12,2)``) a DECIMAL must have the same precision and scale
    and an integer type scale 0; a bare ``NUMBER`` matches any of them."""
    if normalize_type(actual) == canonical:
        return True
    text = " ".join(str(actual).strip().upper().split())
    if canonical.split("(")[0] not in _SNOWFLAKE_STORED.get(text.split("(")[0].strip(), set()):
        return False
    number = _SNOWFLAKE_NUMBER.fullmatch(text.lower())
    if number is None or number.group(1) is None:
        return True
    precision, scale = int(number.group(1)), int(number.group(2) or 0)
    if canonical.startswith("DECIMAL("):
        return canonical == f"DECIMAL({precision},{scale})"
    return scale == 0


def same_type(declared: str, actual: str) -> bool:
    """Whether a column declared ``declared`` and holding ``actual`` have the same type."""
    left, right = normalize_type(declared), normalize_type(actual)
    return left is not None and left == right
