"""Canary isolation: every write target gets the run's ``schema_suffix``; inputs never do.

A canary run is triggered with ``{"schema_suffix": "__canary_v2"}`` in ``dag_run.conf``. Writers
then target ``raw__canary_v2`` / ``marts__canary_v2`` / ``<lake dir>__canary_v2`` while still
reading the base schemas and source files, so a canary never disturbs production data.

Three more conf keys and one Variable decide where dbt reads and writes:

* ``source_suffix`` (conf): dbt's sources are read from ``raw<source_suffix>``, the input
  snapshot the platform took for a canary and its baseline, so both read the same rows while
  scheduled loads land in ``raw``;
* ``full_refresh: true`` (conf): ``dbt build --full-refresh``, honoured only together with a
  ``schema_suffix`` (a rebuild into a release's own schemas, never over the live ones);
* ``release_schemas`` (Variable ``true``: production, whose stable names are views over the
  live release's relations): a run without a conf ``schema_suffix`` builds the models into
  ``<schema>__r_<release_id>`` (``release_schema_suffix``), the live release's relations;
  snapshots then keep their shared, unsuffixed schema (their history spans releases).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SCHEMA_SUFFIX_KEY = "schema_suffix"
SOURCE_SUFFIX_KEY = "source_suffix"
FULL_REFRESH_KEY = "full_refresh"
_SUFFIX_PATTERN = re.compile(r"__[a-z0-9][a-z0-9_]{0,47}")


class InvalidSchemaSuffixError(ValueError):
    """Raised when ``dag_run.conf`` carries a suffix that is not a safe identifier part."""


def parse_schema_suffix(conf: Mapping[str, Any] | None, key: str = SCHEMA_SUFFIX_KEY) -> str:
    """Return the validated suffix under ``key`` of a DAG run conf ("" when absent or
    empty); ``InvalidSchemaSuffixError`` naming the key otherwise."""
    raw = (conf or {}).get(key) or ""
    if not isinstance(raw, str):
        raise InvalidSchemaSuffixError(f"{key} must be a string, got {raw!r}")
    if raw and not _SUFFIX_PATTERN.fullmatch(raw):
        raise InvalidSchemaSuffixError(
            f"{key}={raw!r} must match {_SUFFIX_PATTERN.pattern} (e.g. '__canary_v2')"
        )
    return raw


def source_suffix_from_context(context: Mapping[str, Any]) -> str:
    """The run's validated conf ``source_suffix`` ("" when absent): dbt reads its sources
    from ``raw<suffix>``."""
    return parse_schema_suffix(getattr(context.get("dag_run"), "conf", None), SOURCE_SUFFIX_KEY)


def full_refresh_from_context(context: Mapping[str, Any]) -> bool:
    """Whether the run asks for ``dbt build --full-refresh``: conf ``full_refresh: true``
    together with a conf ``schema_suffix``. ``InvalidSchemaSuffixError`` for a value that is
    not a boolean, or ``true`` without a suffix (it would rebuild the live relations)."""
    conf = getattr(context.get("dag_run"), "conf", None) or {}
    wanted = conf.get(FULL_REFRESH_KEY, False)
    if not isinstance(wanted, bool):
        raise InvalidSchemaSuffixError(f"{FULL_REFRESH_KEY} must be true or false, got {wanted!r}")
    if wanted and not parse_schema_suffix(conf):
        raise InvalidSchemaSuffixError(
            f"{FULL_REFRESH_KEY}: true needs a {SCHEMA_SUFFIX_KEY}: a full refresh rebuilds a "
            "release's own schemas, never the live ones"
        )
    return wanted


def release_schema_suffix(release_id: str) -> str:
    """``v2.1-rc`` -> ``__r_v2_1_rc``: the schemas of a release's relations (the platform's
    rule: lower case, anything but ``[a-z0-9_]`` becomes ``_``)."""
    return "__r_" + re.sub(r"[^a-z0-9_]", "_", release_id.lower())


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
