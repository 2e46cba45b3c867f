"""A release bundle holding the example's Spark job, for the Spark runtime tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from release_assets.config import load_release_config
from release_assets.config.release_config import SparkJob
from tests.paths import NORTHSTAR

JOB = "inventory_positions"


def spark_jobs() -> list[SparkJob]:
    """The example's ``release.yaml`` ``spark.jobs``."""
    return list(load_release_config(NORTHSTAR).spark.jobs)


def spark_bundle(root: Path) -> Path:
    """A bundle folder with the example's ``spark/`` tree and a helper module beside the job's
    entry point (so the dependency zip holds more than the entry point)."""
    shutil.copytree(
        NORTHSTAR / "spark", root / "spark", ignore=shutil.ignore_patterns("__pycache__")
    )
    (root / "spark" / "jobs" / "positions_helpers.py").write_text("ROUNDING = 2\n")
    return root
