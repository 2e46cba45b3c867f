"""The profile's emulators and databases as long-running processes: moto (S3, Secrets Manager,
SSM, EMR Serverless, IAM), fakesnow (Snowflake), PostgreSQL (the orchestrator's instance).

Each is started in a session of its own (``processes.start``: setsid, a JSON pid file under
``<profile>/run``, output in ``<profile>/run/<name>.log``) on 127.0.0.1 and stopped by that
session, so it outlives the Python process that started it (``python -m tests.aws_profile
up``) and ``down`` leaves nothing behind. Every wait is bounded and says its progress.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from release_assets.local.airflow_instance import metadata_cluster
from release_assets.local.postgres_cluster import PostgresCluster, require_server_bin
from release_assets.local.postgres_cluster import ensure_database as cluster_ensure_database
from release_assets.runtimes import processes
from release_assets.runtimes.local_layout import EnvironmentLayout
from release_assets.runtimes.processes import Say
from tests.aws_server import FAKE_CREDENTIALS, free_port

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 90.0
PG_DATABASE = "dagster"


@dataclass(frozen=True)
class ProfilePaths:
    """Where the profile keeps its parts under ``root`` (``<state>/aws-profile``)."""

    root: Path

    @property
    def run_dir(self) -> Path:
        """Pid files and server logs."""
        return self.root / "run"

    @property
    def ports_file(self) -> Path:
        """``{server: port}`` chosen at the first ``up`` and kept while the ports stay free."""
        return self.root / "ports.json"

    @property
    def deployment_file(self) -> Path:
        return self.root / "deployment.yaml"

    @property
    def env_file(self) -> Path:
        """``KEY='value'`` lines: the settings a process needs to use the profile."""
        return self.root / "profile.env"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def postgres_dir(self) -> Path:
        """The cluster's folder (owned by the ``postgres`` user when run as root)."""
        return self.root / "postgres"

    @property
    def mwaa_dir(self) -> Path:
        """The MWAA stand-in's configuration and environment records."""
        return self.root / "mwaa"

    def env_root(self, name: str) -> Path:
        """One environment's Airflow (home, DAGs folder, deploy repository, logs)."""
        return self.root / "envs" / name

    def pid_file(self, server: str) -> Path:
        return self.run_dir / f"{server}.pid"

    def log_file(self, server: str) -> Path:
        return self.run_dir / f"{server}.log"


def port_open(port: int) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:``port``."""
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def choose_ports(paths: ProfilePaths, owners: Mapping[str, Path]) -> dict[str, int]:
    """A port per server (``owners``: server -> the pid file of the process that listens):
    the one used before while our process still runs or the port is free, else a new free
    one; written to ``ports.json``."""
    try:
        known: dict[str, int] = json.loads(paths.ports_file.read_text())
    except (OSError, ValueError):
        known = {}
    ports: dict[str, int] = {}
    for name, pid_file in owners.items():
        port = known.get(name)
        ours = processes.read(pid_file) is not None
        if port is None or (not ours and port_open(port)) or port in ports.values():
            port = free_port()
        ports[name] = port
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.ports_file.write_text(json.dumps(ports, indent=2) + "\n")
    return ports


def aws_env() -> dict[str, str]:
    """The fake credentials boto3's chain finds (moto accepts any)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AIRFLOW"))}
    return {**base, **FAKE_CREDENTIALS}


def start_server(
    paths: ProfilePaths,
    name: str,
    command: Sequence[str],
    env: Mapping[str, str],
    ready: Callable[[], bool],
    say: Say,
    timeout_s: float = START_TIMEOUT_S,
    cwd: Path | None = None,
) -> float:
    """Start ``name`` unless it runs already, then wait at most ``timeout_s`` for ``ready``;
    returns the seconds from start to ready (0.0 when it was running). Raises RuntimeError
    naming the server and its log when it exits or does not become ready."""
    pid_file, log = paths.pid_file(name), paths.log_file(name)
    began = time.monotonic()
    if processes.read(pid_file) is None:
        processes.stop(pid_file)  # what is left of a crashed session, if anything
        processes.start(name, command, pid_file, log, env, cwd or paths.root)
    elif ready():
        return 0.0

    def observe() -> tuple[bool, str]:
        if processes.read(pid_file) is None:
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise RuntimeError(f"{name} exited while starting; see {log}:\n{tail}")
        return ready(), "not answering yet"

    try:
        processes.watch(observe, timeout_s, name, say, interval_s=0.3)
    except processes.TimeoutExpired as exc:
        raise RuntimeError(f"{exc}; see {log}") from None
    return time.monotonic() - began


def moto_command(port: int) -> list[str]:
    """moto in server mode on 127.0.0.1:``port`` (state in memory, shared by every client)."""
    return [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]


def postgres_cluster(paths: ProfilePaths, port: int | None = None) -> PostgresCluster:
    """The profile's cluster (``release_assets.local.postgres_cluster``): data in
    ``<profile>/postgres``, pid file and log in ``run/``, on 127.0.0.1:``port``."""
    return PostgresCluster(
        paths.postgres_dir,
        port=port,
        pid_file_path=paths.pid_file("postgres"),
        log_file_path=paths.log_file("postgres"),
    )


def postgres_bin() -> Path:
    """Debian's PostgreSQL server binaries; ``PostgresMissing`` saying how to install them."""
    return require_server_bin("the AWS profile's PostgreSQL")


def init_postgres(paths: ProfilePaths) -> Path:
    """The cluster's data directory, made with ``initdb`` (trust auth, superuser
    ``postgres``) the first time; returns it."""
    cluster = postgres_cluster(paths)
    cluster.init()
    cluster.prepare_socket_dir()
    return cluster.data_dir


def postgres_command(paths: ProfilePaths, port: int) -> list[str]:
    """The postmaster in the foreground (so its session is ours to stop) on 127.0.0.1."""
    return postgres_cluster(paths, port).command()


def postgres_ready(port: int) -> bool:
    """True once the server takes connections on 127.0.0.1:``port`` (``pg_isready``)."""
    done = subprocess.run(
        [str(postgres_bin() / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"],
        capture_output=True,
        timeout=10,
        check=False,
    )
    return done.returncode == 0


def ensure_database(port: int, name: str = PG_DATABASE) -> str:
    """Create database ``name`` on the profile's server unless it exists; returns ``name``."""
    return cluster_ensure_database("127.0.0.1", port, name)


def stop_postgres(paths: ProfilePaths) -> bool:
    """Stop the profile's PostgreSQL servers: the instance's and the metadata cluster of each
    Airflow 2 environment (``airflow_instance.metadata_cluster``; call it after the Airflows
    are stopped). Each: ``pg_ctl stop -m fast`` (clients are disconnected at once), then
    whatever is left of its session. True if something was stopped."""
    envs = sorted(p for p in (paths.root / "envs").glob("*") if p.is_dir())
    clusters = [metadata_cluster(EnvironmentLayout(env.name, env, 0)) for env in envs]
    stopped = [cluster.stop() for cluster in [*clusters, postgres_cluster(paths)]]
    return any(stopped)
