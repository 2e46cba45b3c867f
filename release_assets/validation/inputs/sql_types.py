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
    "TIMESTAMP_NTZ": frozenset({"TIMESTAMP"}),
    "TIMESTAMP_TZ": frozenset({"TIMESTAMP WITH TIME ZONE"}),
    "TIMESTAMP_LTZ": frozenset({"TIMESTAMP WITH TIME ZONE"}),
}


def stored_as(canonical: str, actual: str) -> bool:
    """Whether a column declared with ``canonical`` (a ``normalize_type`` result) is what a
    warehouse reporting ``actual`` holds: the same canonical type, or, for a Snowflake type
    name (``NUMBER``, ``TIMESTAMP_NTZ``...), a type Snowflake stores under it (the precision of
    a ``NUMBER`` is not in the name: a DECIMAL's scale is not compared there)."""
    if normalize_type(actual) == canonical:
        return True
    name = " ".join(str(actual).strip().upper().split()).split("(")[0].strip()
    return canonical.split("(")[0] in _SNOWFLAKE_STORED.get(name, frozenset())


def same_type(declared: str, actual: str) -> bool:
    """Whether a column declared ``declared`` and holding ``actual`` have the same type."""
    left, right = normalize_type(declared), normalize_type(actual)
    return left is not None and left == right
