"""Start and stop one environment's Airflow processes (scheduler and webserver).

Each runs from the runtime virtualenv with the environment's own AIRFLOW_HOME, SQLite metadata
database and port, in its own process group, and is stopped by that group.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from release_assets.config.deployment_specs import LOG_SERVER_PORT_OFFSET
from release_assets.runtimes import processes
from release_assets.runtimes.airflow.base import AirflowError
from release_assets.runtimes.airflow.local import LocalAirflow
from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.runtimes.local_layout import EnvironmentLayout
from release_assets.settings import inherited_environment

SERVICES = ("scheduler", "webserver")
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
        "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",
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
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
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


def initialize(layout: EnvironmentLayout, runtime: RuntimeVenv) -> None:
    """Migrate the metadata DB and create the admin user, once per runtime."""
    marker = layout.airflow_home / f".initialized-{runtime.root.name}"
    if marker.exists():
        return
    env = airflow_env(layout, runtime)
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
    initialize(layout, runtime)
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
    """Stop every process group this environment started; returns the services stopped."""
    return [s for s in SERVICES if processes.stop(_pid_file(layout, s))]


def running(layout: EnvironmentLayout) -> dict[str, processes.ManagedProcess | None]:
    return {s: processes.read(_pid_file(layout, s)) for s in SERVICES}
