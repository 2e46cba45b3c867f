"""A real PostgreSQL for the tests: Debian's ``postgresql`` server binaries, one cluster per
test process (pytest-xdist worker), bound to 127.0.0.1 on a free port, stopped at the end of
the session; one database per test module.

The cluster is made with ``initdb -U postgres --auth=trust`` and started with ``pg_ctl -w``
in a session of its own (``setsid``); when the tests run as root, both run as the ``postgres``
OS user (``runuser``), since the server refuses to run as root. Teardown is ``pg_ctl stop -m
fast``, then SIGKILL to the server's process group if anything is left.

Install the server where it is missing (CI): ``apt-get install -y postgresql`` (Debian 12:
PostgreSQL 15; ``/usr/lib/postgresql/<major>/bin``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from tests.aws_server import free_port

PG_ROOT = Path("/usr/lib/postgresql")
START_TIMEOUT_S = 60


def pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<major>/bin`` holding ``initdb``, or None."""
    found = sorted(PG_ROOT.glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


@dataclass(frozen=True)
class PostgresServer:
    """A running cluster: ``port`` on 127.0.0.1, superuser ``postgres`` (trust auth, no
    password), ``data_dir``, ``bin_dir``; ``start_s`` how long ``pg_ctl start`` took (s)."""

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
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"not a plain database name: {name!r}")
        conn = psycopg2.connect(
            host=self.host, port=self.port, user=self.user, dbname="postgres", connect_timeout=5
        )
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return name

    def env(self, database: str) -> dict[str, str]:
        """The variables deploy/production/dagster.yaml reads, pointing at ``database``."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USERNAME": self.user,
            "DAGSTER_PG_PASSWORD": "",
            "DAGSTER_PG_DB": database,
        }


def _as_postgres(cmd: list[str]) -> list[str]:
    """``cmd`` run as the ``postgres`` OS user when we are root (the server refuses root)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a fresh cluster on a free port; stop it and delete its files on exit. Raises
    ``RuntimeError`` when the server binaries are not installed (never a skip: a missing
    install step must fail CI, not pass it quietly)."""
    bin_dir = pg_bin()
    if bin_dir is None:
        raise RuntimeError(
            f"no PostgreSQL server under {PG_ROOT}/*/bin: apt-get install -y postgresql"
        )
    # Not under pytest's tmp_path: its folders are private to root; the server's user must
    # reach the data directory and the socket directory.
    root = Path(tempfile.mkdtemp(prefix="release-assets-pg-"))
    data_dir = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    try:
        subprocess.run(
            _as_postgres(
                [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "--auth=trust"]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {root}"
        started = time.monotonic()
        subprocess.run(
            [
                "setsid",
                *_as_postgres(
                    [
                        str(bin_dir / "pg_ctl"),
                        "-D",
                        str(data_dir),
                        "-o",
                        options,
                        "-l",
                        str(root / "server.log"),
                        "-t",
                        str(START_TIMEOUT_S),
                        "-w",
                        "start",
                    ]
                ),
            ],
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_S + 10,
        )
        yield PostgresServer(port, data_dir, bin_dir, time.monotonic() - started)
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "stop"]),
            capture_output=True,
            timeout=60,
            check=False,
        )
        pid = _postmaster_pid(data_dir)  # the file outlives the stop only if the server did
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
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
