"""Start and stop a local Airflow 3.x: api-server, scheduler and dag-processor.

Each runs from an Airflow 3 runtime virtualenv with the environment's own AIRFLOW_HOME, SQLite
metadata database and port, on 127.0.0.1, in its own session (``processes.start``: setsid,
JSON pid files under ``<root>/run``), and is stopped by that group. Code comes from two
``GitDagBundle``s on the environment's deploy repository (``BundleRepo``), so the runtime
needs ``apache-airflow-providers-git``.

What Airflow 3 needs (Airflow 3.3 configuration reference):
- ``[core] execution_api_server_url``: where task processes reach the Execution API
  (``<url>/execution/``); ``[api_auth] jwt_secret``: one fixed secret for every process (the
  api-server issues the tokens the others present); ``[api] host``/``port``.
- SimpleAuthManager users (``[core] simple_auth_manager_users`` ``admin:admin``) with their
  passwords in ``[core] simple_auth_manager_passwords_file`` (JSON, written here, mode 0600).
- ``[dag_processor] dag_bundle_config_list`` naming both bundles, and
  ``dag_bundle_storage_path`` per environment (the default is shared under /tmp).
- No log server: the scheduler runs with ``--skip-serve-logs`` (it would bind every interface
  on ``worker_log_server_port``); the api-server reads task logs from the shared log folder.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from release_assets.runtimes import processes
from release_assets.runtimes.airflow.airflow3 import Airflow3Target
from release_assets.runtimes.airflow.auth import JwtPasswordAuth
from release_assets.runtimes.airflow.bundle_repo import BundleRepo
from release_assets.runtimes.airflow.types import AirflowError
from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.runtimes.local_layout import EnvironmentLayout
from release_assets.runtimes.secrets.base import SecretsBackend
from release_assets.settings import inherited_environment

SERVICES = ("api-server", "scheduler", "dag-processor")
_SERVICE_ARGS = {"api-server": [], "scheduler": ["--skip-serve-logs"], "dag-processor": []}
BUNDLE_REFRESH_S = 2
"""How often the local dag-processor looks for a new version of each bundle (seconds)."""


class Airflow3StartError(RuntimeError):
    """A local Airflow 3 did not come up."""


def bundle_repo(layout: EnvironmentLayout) -> BundleRepo:
    """The local environment's deploy repository (``<root>/deploy.git``)."""
    return BundleRepo(layout.name, layout.root / "deploy.git")


def bundle_config(repo: BundleRepo, refresh_s: int = BUNDLE_REFRESH_S) -> list[dict[str, object]]:
    """``dag_bundle_config_list``: the live and the canary ``GitDagBundle`` on ``repo``."""
    return [
        {
            "name": name,
            "classpath": "airflow.providers.git.bundles.git.GitDagBundle",
            "kwargs": {"repo_url": repo.url, "tracking_ref": ref, "refresh_interval": refresh_s},
        }
        for name, ref in (("releases", repo.branch), ("canaries", repo.canary_branch))
    ]


def airflow3_env(layout: EnvironmentLayout, runtime: RuntimeVenv) -> dict[str, str]:
    """The process environment of every Airflow 3 command of this environment."""
    creds = layout.credentials()
    home = layout.airflow_home
    base = inherited_environment(("AIRFLOW", "VIRTUAL_ENV"))
    env = {
        **base,
        "PATH": f"{runtime.bin_dir}{os.pathsep}{base.get('PATH', '/usr/bin:/bin')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(layout.dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{layout.url}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{creds.username}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS": "False",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(layout.airflow_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": layout.url,
        "AIRFLOW__API__SECRET_KEY": creds.secret_key,
        "AIRFLOW__API__EXPOSE_CONFIG": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": creds.secret_key,
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(layout.schedules_enabled),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        # A DAG a new release no longer has goes stale within seconds, not minutes.
        "AIRFLOW__SCHEDULER__PARSING_CLEANUP_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__STALE_DAG_THRESHOLD": "5",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            bundle_config(bundle_repo(layout))
        ),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(layout.root / "bundles"),
        "AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": str(BUNDLE_REFRESH_S),
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(layout.airflow_port + 700),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(layout.airflow_port + 700),
        "NO_PROXY": "127.0.0.1,localhost",
    }
    env.update({f"AIRFLOW_VAR_{k.upper()}": v for k, v in layout.airflow_variables().items()})
    return env


def _pid_file(layout: EnvironmentLayout, service: str) -> Path:
    return layout.run_dir / f"{service}.pid"


def initialize(layout: EnvironmentLayout, runtime: RuntimeVenv) -> None:
    """Migrate the metadata DB, write the user's password file and the deploy repository."""
    layout.ensure_dirs()
    bundle_repo(layout).ensure()
    creds = layout.credentials()
    passwords = layout.airflow_home / "passwords.json"
    fd = os.open(passwords, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({creds.username: creds.password}, fh)
    marker = layout.airflow_home / f".initialized-{runtime.root.name}"
    if marker.exists():
        return
    cmd = [str(runtime.airflow), "db", "migrate"]
    try:
        done = subprocess.run(
            cmd,
            env=airflow3_env(layout, runtime),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise Airflow3StartError(
            f"{layout.name}: airflow db migrate timed out after 300s"
        ) from None
    if done.returncode != 0:
        raise Airflow3StartError(
            f"{layout.name}: airflow db migrate failed:\n{done.stderr.strip()[-2000:]}"
        )
    marker.write_text("ok\n")


def target(layout: EnvironmentLayout, secrets: SecretsBackend, password_ref: str) -> Airflow3Target:
    """The target of a local Airflow 3 (the password behind ``password_ref`` in ``secrets``)."""
    creds = layout.credentials()
    return Airflow3Target(
        environment=layout.name,
        base_url=layout.url,
        auth=JwtPasswordAuth(secrets=secrets, username=creds.username, password_ref=password_ref),
        bundle_repo=str(bundle_repo(layout).path),
    )


def start(
    layout: EnvironmentLayout, runtime: RuntimeVenv, client: Airflow3Target, timeout_s: float
) -> None:
    """Bring the three services up (idempotent) and wait, bounded by ``timeout_s`` seconds,
    until ``/api/v2/monitor/health`` reports the metadatabase and scheduler healthy; raises
    Airflow3StartError naming the service that exited (and its log) or the URL."""
    initialize(layout, runtime)
    env = airflow3_env(layout, runtime)
    for service in SERVICES:
        pid_file = _pid_file(layout, service)
        if processes.read(pid_file) is None:
            processes.stop(pid_file)
            processes.start(
                f"{layout.name} {service}",
                [str(runtime.airflow), service, *_SERVICE_ARGS[service]],
                pid_file,
                layout.run_dir / f"{service}.log",
                env,
                layout.root,
            )

    def healthy() -> bool:
        for service in SERVICES:
            if processes.read(_pid_file(layout, service)) is None:
                log = layout.run_dir / f"{service}.log"
                raise Airflow3StartError(f"{layout.name} {service} exited; see {log}")
        try:
            return client.health().healthy
        except AirflowError:
            return False

    try:
        processes.wait_until(healthy, timeout_s, f"Airflow 3 {layout.name} at {layout.url}", 1.0)
    except processes.TimeoutExpired as exc:
        raise Airflow3StartError(f"{exc}; logs in {layout.run_dir}") from None


def stop(layout: EnvironmentLayout) -> list[str]:
    """Stop every process group this environment started; returns the services stopped."""
    return [s for s in SERVICES if processes.stop(_pid_file(layout, s))]
