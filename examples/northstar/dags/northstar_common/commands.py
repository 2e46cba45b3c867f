"""Environments for the BashOperator tasks (spark-submit, dbt), computed at task run time.

The DAGs pass these dicts to ``BashOperator(env=..., append_env=True)``: paths come from the
Variables, the canary suffix from ``dag_run.conf``, and nothing is written into the deployed code.
"""

from __future__ import annotations

import re
import sys
from datetime import date

from northstar_common.canary import suffixed_path
from northstar_common.settings import Settings
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
    return lake_location(settings, POSITIONS_DIR, suffix)


def exports_dir(settings: Settings, suffix: str) -> str:
    return lake_location(settings, EXPORTS_DIR, suffix)


def spark_positions_env(
    settings: Settings, suffix: str, as_of: date, dag_id: str, run_id: str
) -> dict[str, str]:
    scratch = settings.scratch_root / "spark" / path_safe(dag_id) / path_safe(run_id)
    return {
        "NORTHSTAR_INVENTORY_INPUT": str(settings.source_root / INVENTORY_MOVEMENTS.location),
        "NORTHSTAR_POSITIONS_OUTPUT": positions_output(settings, suffix),
        "NORTHSTAR_AS_OF": as_of.isoformat(),
        "NORTHSTAR_RELEASE_ID": settings.release_id,
        "SPARK_LOCAL_DIRS": str(scratch),
        # Run the driver on the interpreter that has pyspark installed (the Airflow runtime).
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }


def dbt_env(settings: Settings, suffix: str, dag_id: str, run_id: str) -> dict[str, str]:
    scratch = settings.scratch_root / "dbt" / path_safe(dag_id) / path_safe(run_id)
    return {
        "NORTHSTAR_DUCKDB_PATH": str(settings.warehouse_path or ""),
        "NORTHSTAR_LAKE_ROOT": settings.lake_root,
        "NORTHSTAR_DBT_TARGET": settings.warehouse_kind,
        "NORTHSTAR_RELEASE_ENV": settings.release_env,
        "NORTHSTAR_RELEASE_ID": settings.release_id,
        "NORTHSTAR_SCHEMA_SUFFIX": suffix,
        # The deployed dbt project is read-only: artifacts and logs go to per-run scratch.
        "DBT_TARGET_PATH": str(scratch / "target"),
        "DBT_LOG_PATH": str(scratch / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PARTIAL_PARSE": "false",
    }
