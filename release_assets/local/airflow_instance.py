"""Start and stop one environment's Airflow processes (scheduler and webserver).

Each runs from the runtime virtualenv with the environment's own AIRFLOW_HOME and port, in its
own process group, and is stopped by that group. The metadata database is PostgreSQL, as in
production Airflow: a cluster of the environment's own in ``<environment>/postgres``, reached
over a Unix socket only (``local/postgres_cluster.py``), started before Airflow and stopped
after it. Tasks run with the LocalExecutor.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

from release_assets.config.deployment_specs import LOG_SERVER_PORT_OFFSET
from release_assets.local.postgres_cluster import (
    PostgresCluster,
    PostgresMissing,
    PostgresStartError,
)
from release_assets.runtimes import processes
from release_assets.runtimes.airflow.base import AirflowError
from release_assets.runtimes.airflow.local import LocalAirflow
from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.runtimes.local_layout import EnvironmentLayout
from release_assets.runtimes.processes import Say
from release_assets.settings import inherited_environment

SERVICES = ("scheduler", "webserver")
METADATA_DB = "postgres"
"""The name ``running``/``stop`` give the environment's PostgreSQL server."""
DATABASE = "airflow"
_log = logging.getLogger(__name__)
# No log server is started. Airflow 2.11.2's `serve_logs` (airflow/utils/serve_logs.py) binds
# `[::]:<port>` when the host has dual-stack IPv6, else `0.0.0.0:<port>`: the host cannot be
# configured, so it would listen on every interface (and with the default port 8793, the
# second environment's would fail to bind). Tasks run on the scheduler's machine and the
# webserver reads their log files from disk (it does for running tasks too), so the scheduler
# runs with --skip-serve-logs and no triggerer is started. Each environment still gets its own
# `worker_log_server_port`/`trigger_log_server_port` (deployment configuration
# `log_server_port`), so its webserver never asks another environment's log server.
_SERVICE_ARGS = {"scheduler": ["--skip-serve-logs"], "webserver": []}


class AirflowStartError(RuntimeError):
    """An Airflow environment did not come up."""


def metadata_cluster(layout: EnvironmentLayout) -> PostgresCluster:
    """The environment's PostgreSQL cluster: ``<environment>/postgres``, socket only, its pid
    file and log beside the Airflow services' in ``run/``."""
    return PostgresCluster(
        layout.root / "postgres",
        pid_file_path=layout.run_dir / f"{METADATA_DB}.pid",
        log_file_path=layout.run_dir / f"{METADATA_DB}.log",
    )


def airflow_env(
    layout: EnvironmentLayout, runtime: RuntimeVenv, log_server_port: int | None = None
) -> dict[str, str]:
    """The process environment of every Airflow command of this environment.

    ``log_server_port``: the environment's log server port (default: its Airflow port +
    ``LOG_SERVER_PORT_OFFSET``, as the deployment configuration's default)."""
    log_port = log_server_port or layout.airflow_port + LOG_SERVER_PORT_OFFSET
    creds = layout.credentials()
    home = layout.airflow_home
    base = inherited_environment(("AIRFLOW", "VIRTUAL_ENV"))
    env = {
        **base,
        "PATH": f"{runtime.bin_dir}{os.pathsep}{base.get('PATH', '/usr/bin:/bin')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(layout.dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # LocalExecutor: each task is a fork of the scheduler (no fresh interpreter per task)
        # and the scheduler loop keeps running while a task does. PARALLELISM=1 keeps the one
        # task at a time the SequentialExecutor gave: the example's DuckDB warehouse allows ONE
        # writing process, and two tasks at once would fail on each other's lock and retry
        # after 5 minutes (dbt-duckdb does not wait for the lock).
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "1",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        # Schedules off (the default): a DAG runs only when it is triggered (by a release step
        # or by hand), so what runs is deterministic. On (the deployment's `schedules`): cron
        # and timetable runs too, on the clock the Variable schedule_compression gives the DAGs.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(layout.schedules_enabled),
        # A switch's parse must rewrite the serialized DAGs at once (the next run is built from
        # them); unchanged DAGs are still not rewritten (Airflow compares their hash).
        "AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "0",
        "AIRFLOW__CORE__MIN_SERIALIZED_DAG_FETCH_INTERVAL": "2",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_cluster(layout).url(DATABASE),
        "AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS": "False",
        "AIRFLOW__API__AUTH_BACKENDS": (
            "airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session"
        ),
        "AIRFLOW__WEBSERVER__WEB_SERVER_HOST": "127.0.0.1",
        "AIRFLOW__WEBSERVER__WEB_SERVER_PORT": str(layout.airflow_port),
        "AIRFLOW__WEBSERVER__WORKERS": "1",
        "AIRFLOW__WEBSERVER__SECRET_KEY": creds.secret_key,
        "AIRFLOW__WEBSERVER__EXPOSE_CONFIG": "False",
        "AIRFLOW__WEBSERVER__BASE_URL": layout.url,
        # A canary loader is a new file: listed within 2 s (the folder holds a few files).
        "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": "2",
        # A switch asks for an immediate parse of the loader (LocalAirflow.activate); the
        # periodic re-parse is only a fallback, so it is rare and costs little CPU.
        "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "30",
        "AIRFLOW__SCHEDULER__PARSING_PROCESSES": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_port),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(log_port),
        "AIRFLOW__LOGGING__DAG_PROCESSOR_MANAGER_LOG_LOCATION": str(home / "logs" / "dpm.log"),
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
        "AIRFLOW__CORE__DAG_FILE_PROCESSOR_TIMEOUT": "120",
        "NO_PROXY": "127.0.0.1,localhost",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    env.update({f"AIRFLOW_VAR_{k.upper()}": v for k, v in layout.airflow_variables().items()})
    return env


def _pid_file(layout: EnvironmentLayout, service: str) -> Path:
    return layout.run_dir / f"{service}.pid"


def _run(cmd: list[str], env: dict[str, str], what: str, timeout_s: float) -> str:
    try:
        done = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise AirflowStartError(f"{what} timed out after {timeout_s:.0f}s") from None
    if done.returncode != 0:
        raise AirflowStartError(f"{what} failed:\n{done.stderr.strip()[-2000:]}")
    return done.stdout


def _forget_sqlite(layout: EnvironmentLayout) -> None:
    """An environment made before the metadata DB moved to PostgreSQL starts fresh there
    (local state is disposable): its SQLite file is removed, which is said once."""
    home = layout.airflow_home
    old = home / "airflow.db"
    if not old.exists():
        return
    _log.warning(
        "%s: Airflow's metadata now lives in PostgreSQL (%s); the old SQLite database %s is "
        "removed and the environment starts with a fresh one (its DAG run history is gone, "
        "published releases are kept)",
        layout.name,
        metadata_cluster(layout).root,
        old,
    )
    for path in [old, *home.glob("airflow.db-*"), *home.glob(".initialized-*")]:
        path.unlink(missing_ok=True)


def start_metadata_db(layout: EnvironmentLayout, say: Say = _log.info) -> PostgresCluster:
    """Start (idempotent) the environment's PostgreSQL cluster, made the first time, and
    create its ``airflow`` database; raises ``AirflowStartError`` naming the environment (a
    missing server says how to install it)."""
    cluster = metadata_cluster(layout)
    _forget_sqlite(layout)
    try:
        if cluster.init():  # a new cluster: nothing was migrated into it yet
            for marker in cluster.root.glob(".initialized-*"):
                marker.unlink()
        cluster.start(say)
        cluster.ensure_database(DATABASE)
    except PostgresMissing as exc:
        raise AirflowStartError(f"{layout.name}: {exc}") from None
    except (PostgresStartError, OSError) as exc:
        raise AirflowStartError(
            f"{layout.name}: its metadata database did not start: {exc}"
        ) from None
    return cluster


def initialize(
    layout: EnvironmentLayout, runtime: RuntimeVenv, extra_env: dict[str, str] | None = None
) -> None:
    """Start the metadata DB (``start_metadata_db``), migrate it and create the admin user,
    once per runtime and cluster; ``extra_env`` as in ``start``."""
    cluster = start_metadata_db(layout)
    marker = cluster.root / f".initialized-{runtime.root.name}"
    if marker.exists():
        return
    env = {**airflow_env(layout, runtime), **(extra_env or {})}
    _run([str(runtime.airflow), "db", "migrate"], env, f"{layout.name}: airflow db migrate", 300)
    creds = layout.credentials()
    users = _run(
        [str(runtime.airflow), "users", "list", "--output", "plain"],
        env,
        f"{layout.name}: airflow users list",
        120,
    )
    if creds.username not in users.split():
        # The password goes through the environment of a short-lived child, never argv/logs.
        script = (
            "import os\n"
            "from airflow.www.app import cached_app\n"
            "sm = cached_app().appbuilder.sm\n"
            "sm.add_user(os.environ['RA_USER'], 'Release', 'Admin', 'admin@localhost',\n"
            "            sm.find_role('Admin'), os.environ['RA_PASSWORD'])\n"
        )
        _run(
            [str(runtime.python), "-c", script],
            {**env, "RA_USER": creds.username, "RA_PASSWORD": creds.password},
            f"{layout.name}: create the admin user",
            120,
        )
    marker.write_text("ok\n")


def start(
    layout: EnvironmentLayout,
    runtime: RuntimeVenv,
    timeout_s: float,
    log_server_port: int | None = None,
    extra_env: dict[str, str] | None = None,
) -> LocalAirflow:
    """Bring the environment's Airflow up (idempotent) and wait until it is healthy; raises
    AirflowStartError naming the service that exited or the URL that did not answer.
    ``extra_env`` is laid over ``airflow_env`` (a blue/green color's settings and data
    variables, ``local/color_runtime.py``)."""
    layout.ensure_dirs()
    target = LocalAirflow.of_layout(layout)
    target.install_loader()
    initialize(layout, runtime, extra_env)
    env = {**airflow_env(layout, runtime, log_server_port), **(extra_env or {})}
    for service in SERVICES:
        pid_file = _pid_file(layout, service)
        if processes.read(pid_file) is None:
            processes.stop(pid_file)  # leftovers of a crashed group, if any
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
                raise AirflowStartError(f"{layout.name} {service} exited; see {log}")
        try:
            return target.health().healthy
        except AirflowError:
            return False

    try:
        processes.wait_until(healthy, timeout_s, f"Airflow {layout.name} at {layout.url}", 1.0)
    except processes.TimeoutExpired as exc:
        raise AirflowStartError(f"{exc}; logs in {layout.run_dir}") from None
    return target


def stop(layout: EnvironmentLayout) -> list[str]:
    """Stop every process group this environment started, the Airflow services first and
    then their metadata DB (``"postgres"``); returns the ones stopped. Idempotent."""
    stopped = [s for s in SERVICES if processes.stop(_pid_file(layout, s))]
    return stopped + ([METADATA_DB] if metadata_cluster(layout).stop() else [])


def running(layout: EnvironmentLayout) -> dict[str, processes.ManagedProcess | None]:
    """The environment's processes by name (the services and ``"postgres"``): None when one
    is not running."""
    procs = {s: processes.read(_pid_file(layout, s)) for s in SERVICES}
    return {**procs, METADATA_DB: metadata_cluster(layout).process()}
