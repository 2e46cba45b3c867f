"""Test configuration for the Northstar repo.

Airflow reads its configuration when first imported, so an isolated AIRFLOW_HOME (with a SQLite
metadata DB in a temp dir and no example DAGs) is set here, before any test module imports it.
Parsing DAGs with a DagBag needs no initialised metadata DB.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from support import SNOWFLAKE_ENV, Sources

REPO_ROOT = Path(__file__).resolve().parents[1]
DAGS_DIR = REPO_ROOT / "dags"

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="northstar-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_DIR)
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}"


@pytest.fixture(scope="session")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Sources:
    """Two small days of generated sources, shared (read-only) by the loader tests."""
    from generate_sources import generate

    generated = Sources(tmp_path_factory.mktemp("sources"), date(2026, 11, 1), 2, 40)
    generate(generated.root, generated.start, generated.days, generated.orders_per_day, seed=11)
    return generated


@pytest.fixture
def snowflake() -> Iterator[Any]:
    """A ``SnowflakeWarehouse`` on fakesnow (an in-process emulator, fresh per test)."""
    import fakesnow

    from northstar_common.adapters import connect_snowflake

    with fakesnow.patch():
        warehouse = connect_snowflake(SNOWFLAKE_ENV)
        yield warehouse
        warehouse.close()
