"""Canary isolation: every write target gets the run's ``schema_suffix``; inputs never do.

A canary run is triggered with ``{"schema_suffix": "__canary_v2"}`` in ``dag_run.conf``. Writers
then target ``raw__canary_v2`` / ``marts__canary_v2`` / ``<lake dir>__canary_v2`` while still
reading the base schemas and source files, so a canary never disturbs production data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SCHEMA_SUFFIX_KEY = "schema_suffix"
_SUFFIX_PATTERN = re.compile(r"__[a-z0-9][a-z0-9_]{0,47}")


class InvalidSchemaSuffixError(ValueError):
    """Raised when ``dag_run.conf`` carries a suffix that is not a safe identifier part."""


def parse_schema_suffix(conf: Mapping[str, Any] | None) -> str:
    """Return the validated suffix from a DAG run conf ("" when absent or empty)."""
    raw = (conf or {}).get(SCHEMA_SUFFIX_KEY) or ""
    if not isinstance(raw, str):
        raise InvalidSchemaSuffixError(f"{SCHEMA_SUFFIX_KEY} must be a string, got {raw!r}")
    if raw and not _SUFFIX_PATTERN.fullmatch(raw):
        raise InvalidSchemaSuffixError(
            f"{SCHEMA_SUFFIX_KEY}={raw!r} must match {_SUFFIX_PATTERN.pattern} (e.g. '__canary_v2')"
        )
    return raw


def schema_suffix_from_context(context: Mapping[str, Any]) -> str:
    """The suffix of the running DAG run (works for scheduled, manual and triggered runs)."""
    dag_run = context.get("dag_run")
    return parse_schema_suffix(getattr(dag_run, "conf", None))


def suffixed_schema(base_schema: str, suffix: str) -> str:
    return f"{base_schema}{suffix}"


def release_input_schema(con: Any, base_schema: str, suffix: str) -> str:
    """The schema a canary reads a model from: the release's own copy when this canary run
    rebuilt it (the release changed the model), else the live one -- which is what prod will
    read after the swap, since only rebuilt models switch. ``con`` is a warehouse adapter or a
    DuckDB connection."""
    if not suffix:
        return base_schema
    from northstar_common.adapters import as_warehouse

    candidate = suffixed_schema(base_schema, suffix)
    return candidate if as_warehouse(con).schema_exists(candidate) else base_schema


def suffixed_path(base_path: Path, suffix: str) -> Path:
    """``/lake/inventory_positions`` -> ``/lake/inventory_positions__canary_v2``."""
    return base_path.with_name(f"{base_path.name}{suffix}") if suffix else base_path
