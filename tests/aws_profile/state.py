"""The profile's processes as ``status`` reports them and ``down`` stops them.

``down`` stops every session the profile started (the Airflows first, PostgreSQL with a fast
shutdown) and deletes the profile's state: moto keeps its state in memory, so the Airflow homes,
fakesnow's files and the PostgreSQL cluster go with it and the next ``up`` starts consistent.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from release_assets.runtimes import processes
from release_assets.runtimes.processes import Say
from tests.aws_profile import servers
from tests.aws_profile.airflows import AIRFLOW2_SERVICES, AIRFLOW3_SERVICES
from tests.aws_profile.servers import ProfilePaths

SERVERS = ("moto", "fakesnow", "postgres", "mwaa-standin")
ENVIRONMENTS = {"staging": AIRFLOW2_SERVICES, "prod": AIRFLOW3_SERVICES}
"""Environment -> its Airflow services (each a session with ``<env>/run/<service>.pid``)."""


@dataclass(frozen=True)
class ServerState:
    """One server or Airflow service: ``name``, ``port`` (None: none of its own), ``pid``
    (None: stopped), ``rss_bytes`` of its whole session."""

    name: str
    port: int | None
    pid: int | None
    rss_bytes: int


def _pid_files(paths: ProfilePaths) -> list[tuple[str, str, Path]]:
    """(name, port key, pid file) of every process the profile starts, in stop order."""
    found = []
    for env, services in ENVIRONMENTS.items():
        for service in services:
            pid = paths.env_root(env) / "run" / f"{service}.pid"
            found.append((f"{env} airflow {service}", f"{env}-airflow", pid))
    found += [(name, name, paths.pid_file(name)) for name in reversed(SERVERS)]
    return found


def status(root: Path) -> list[ServerState]:
    """Every process of the profile under ``root`` with its port, pid and memory."""
    paths = ProfilePaths(root.resolve())
    try:
        ports: dict[str, int] = json.loads(paths.ports_file.read_text())
    except (OSError, ValueError):
        ports = {}
    states = []
    for name, key, pid_file in _pid_files(paths):
        managed = processes.read(pid_file)
        rss = processes.session_rss_bytes(managed.pid) if managed else 0
        states.append(ServerState(name, ports.get(key), managed.pid if managed else None, rss))
    return states


def down(root: Path, say: Say = print) -> list[str]:
    """Stop every session of the profile under ``root`` (Airflows first, PostgreSQL with a
    fast shutdown) and delete its state, the deployment file and settings naming its servers
    included (the servers' logs under ``run/`` are kept); returns what was stopped."""
    paths = ProfilePaths(root.resolve())
    stopped = []
    for name, _key, pid_file in _pid_files(paths):
        done = servers.stop_postgres(paths) if name == "postgres" else processes.stop(pid_file)
        if done:
            say(f"stopped {name}")
            stopped.append(name)
    for part in ("envs", "postgres", "mwaa", "dagster", "records", "locks", "demo", "git-mirrors"):
        shutil.rmtree(paths.root / part, ignore_errors=True)
    for written in (paths.deployment_file, paths.env_file, paths.ports_file):
        written.unlink(missing_ok=True)  # they name servers that are gone
    return stopped
