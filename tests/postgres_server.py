"""A real PostgreSQL for the tests: one cluster per test process (pytest-xdist worker), bound
to 127.0.0.1 on a free port, stopped at the end of the session; one database per test module.

The cluster is ``release_assets.local.postgres_cluster`` (Debian's server binaries, ``initdb
-U postgres --auth=trust``, a session of its own, run as the ``postgres`` OS user when the
tests run as root, stopped with ``pg_ctl stop -m fast`` and then by its session), with a TCP
port because the production instance's configuration reaches its database by host and port.

Install the server where it is missing (CI): ``make postgres`` (``apt-get install -y
postgresql``; Debian 12: PostgreSQL 15 in ``/usr/lib/postgresql/<major>/bin``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from release_assets.local.postgres_cluster import (
    PostgresCluster,
    ensure_database,
    require_server_bin,
    server_bin,
)
from tests.aws_server import free_port

START_TIMEOUT_S = 60


def pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<major>/bin`` holding the server, or None."""
    return server_bin()


@dataclass(frozen=True)
class PostgresServer:
    """A running cluster: ``port`` on 127.0.0.1, superuser ``postgres`` (trust auth, no
    password), ``data_dir``, ``bin_dir``; ``start_s`` how long the start took (s)."""

    port: int
    data_dir: Path
    bin_dir: Path
    start_s: float
    host: str = "127.0.0.1"
    user: str = "postgres"

    def url(self, database: str) -> str:
        """A SQLAlchemy URL of ``database`` (the psycopg2 driver, as dagster-postgres uses)."""
        return f"postgresql+psycopg2://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` (lowercase letters, digits, _) and return the name."""
        return ensure_database(self.host, self.port, name)

    def env(self, database: str) -> dict[str, str]:
        """The variables deploy/production/dagster.yaml reads, pointing at ``database``."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USERNAME": self.user,
            "DAGSTER_PG_PASSWORD": "",
            "DAGSTER_PG_DB": database,
        }


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a fresh cluster on a free port; stop it and delete its files on exit. Raises
    ``PostgresMissing`` when the server binaries are not installed (never a skip: a missing
    install step must fail CI, not pass it quietly)."""
    bin_dir = require_server_bin("the tests' PostgreSQL (tests/postgres_server.py)")
    root = Path(tempfile.mkdtemp(prefix="release-assets-pg-"))
    cluster = PostgresCluster(root, port=free_port())
    try:
        started = cluster.start(lambda line: None, START_TIMEOUT_S)
        assert cluster.port is not None
        yield PostgresServer(cluster.port, cluster.data_dir, bin_dir, started)
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def postgres_instance(server: PostgresServer, database: str) -> Iterator[dg.DagsterInstance]:
    """A test Dagster instance (``dg.instance_for_test``: its own DAGSTER_HOME, no telemetry)
    whose run, event-log and schedule storage is ``database`` on ``server``."""
    storage = {"postgres": {"postgres_url": server.url(database)}}
    with dg.instance_for_test(overrides={"storage": storage}) as instance:
        yield instance


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster per test process (see ``running_postgres``)."""
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="module")
def postgres_db(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A database of its own for this test module, named after it."""
    stem = re.sub(r"[^a-z0-9_]", "_", Path(str(request.node.path)).stem.lower())
    return postgres_server.create_database(f"{stem[:40]}_{os.getpid()}")
