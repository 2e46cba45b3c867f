"""Environments for the BashOperator tasks (spark-submit, dbt), computed at task run time.

The DAGs pass these dicts to ``BashOperator(env=..., append_env=True)``: paths come from the
Variables, the canary suffix from ``dag_run.conf``, and nothing is written into the deployed code.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from datetime import date

from northstar_common.canary import release_schema_suffix, suffixed_path
from northstar_common.settings import DEFAULT_RELEASE_ID, Settings, SettingsError
from northstar_common.tables import INVENTORY_MOVEMENTS

POSITIONS_DIR = "inventory_positions"
EXPORTS_DIR = "exports"


def path_safe(value: str) -> str:
    """``manual__2026-11-01T00:00:00+00:00`` -> ``manual__2026-11-01T00_00_00_00_00``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", value).strip("._-") or "run"


def lake_location(settings: Settings, name: str, suffix: str) -> str:
    """``<lake_root>/<name><suffix>``: a local folder, or an ``s3://`` prefix."""
    if settings.lake_root.startswith("s3://"):
        return f"{settings.lake_root}/{name}{suffix}"
    return str(suffixed_path(settings.lake_path / name, suffix))


def positions_output(settings: Settings, suffix: str) -> str:
    """Where the Spark job writes positions: ``<lake_root>/inventory_positions<suffix>``, a
    local folder or an ``s3://`` prefix (``suffix`` is the canary's, ``""`` otherwise)."""
    return lake_location(settings, POSITIONS_DIR, suffix)


def exports_dir(settings: Settings, suffix: str) -> str:
    """Where reports are published: ``<lake_root>/exports<suffix>``, a local folder or an
    ``s3://`` prefix (``suffix`` is the canary's, ``""`` otherwise)."""
    return lake_location(settings, EXPORTS_DIR, suffix)


def inventory_input(settings: Settings) -> str:
    """The root of the ``dt=<date>/*.json`` inventory drops the Spark job reads: the
    ``inventory_input_uri`` Variable (``s3://``) on EMR Serverless, which cannot read the
    worker's disk, else ``<source_root>/s3/inventory`` on the worker."""
    if settings.spark_runner == "emr_serverless":
        return settings.inventory_input_uri
    return str(settings.source_root / INVENTORY_MOVEMENTS.location)


def spark_positions_env(
    settings: Settings, suffix: str, as_of: date, dag_id: str, run_id: str
) -> dict[str, str]:
    """The positions job's environment (``NORTHSTAR_*`` names -> values): input root
    (``inventory_input``), output (``positions_output``), as-of date (ISO), release id, a
    per-run Spark scratch folder under ``scratch_root`` and this interpreter for PySpark."""
    scratch = settings.scratch_root / "spark" / path_safe(dag_id) / path_safe(run_id)
    return {
        "NORTHSTAR_INVENTORY_INPUT": inventory_input(settings),
        "NORTHSTAR_POSITIONS_OUTPUT": positions_output(settings, suffix),
        "NORTHSTAR_AS_OF": as_of.isoformat(),
        "NORTHSTAR_RELEASE_ID": settings.release_id,
        "SPARK_LOCAL_DIRS": str(scratch),
        # Run the driver on the interpreter that has pyspark installed (the Airflow runtime).
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }


def dbt_write_suffix(settings: Settings, suffix: str) -> str:
    """The suffix dbt's models are built with: the run's own ``suffix`` (a canary's), else
    ``__r_<release_id>`` where the stable names are release pointers (``release_schemas``),
    else none. ``SettingsError`` when release schemas are on but no ``release_id`` is set."""
    if suffix or not settings.release_schemas:
        return suffix
    if settings.release_id == DEFAULT_RELEASE_ID:
        raise SettingsError(
            "release_schemas is true but the Airflow Variable release_id is not set: a run "
            "cannot tell which release's schemas to build"
        )
    return release_schema_suffix(settings.release_id)


def dbt_env(
    settings: Settings,
    suffix: str,
    dag_id: str,
    run_id: str,
    flags: Mapping[str, bool] | None = None,
    source_suffix: str = "",
    full_refresh: bool = False,
) -> dict[str, str]:
    """dbt's environment (what ``dbt/profiles.yml`` and the project read): DuckDB file (``""``
    on Snowflake), lake root, target (``warehouse_kind``), release env/id, the suffix models
    are written with (``dbt_write_suffix``), the ``--vars`` JSON (``schema_suffix``: the run's
    own; ``release_suffix``: the live release's, for a run without one where release schemas
    are on; ``source_suffix``: the input snapshot sources are read from; the resolved
    ``feature_flags``, name -> bool), ``NORTHSTAR_DBT_FULL_REFRESH`` (``1``: add
    ``--full-refresh``), and per-run target/log
    folders under ``scratch_root`` (the deployed project is read-only)."""
    scratch = settings.scratch_root / "dbt" / path_safe(dag_id) / path_safe(run_id)
    write_suffix = dbt_write_suffix(settings, suffix)
    dbt_vars = {
        "schema_suffix": suffix,
        "release_suffix": "" if suffix else write_suffix,
        "source_suffix": source_suffix,
        "feature_flags": dict(sorted((flags or {}).items())),
    }
    return {
        "NORTHSTAR_DUCKDB_PATH": str(settings.warehouse_path or ""),
        "NORTHSTAR_LAKE_ROOT": settings.lake_root,
        "NORTHSTAR_DBT_TARGET": settings.warehouse_kind,
        "NORTHSTAR_RELEASE_ENV": settings.release_env,
        "NORTHSTAR_RELEASE_ID": settings.release_id,
        "NORTHSTAR_SCHEMA_SUFFIX": write_suffix,
        "NORTHSTAR_DBT_VARS": json.dumps(dbt_vars),
        # Non-empty: the command adds --full-refresh.
        "NORTHSTAR_DBT_FULL_REFRESH": "1" if full_refresh else "",
        # The deployed dbt project is read-only: artifacts and logs go to per-run scratch.
        "DBT_TARGET_PATH": str(scratch / "target"),
        "DBT_LOG_PATH": str(scratch / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PARTIAL_PARSE": "false",
    }
