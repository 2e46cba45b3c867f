"""The profile's two real Airflows: 2.11 behind the MWAA stand-in (staging) and 3.x (prod).

Both run from runtime virtualenvs holding the example's requirements: staging the example's own
runtime (``ensure_repo_runtime``, as the ``runtime`` test fixture and the local stack), prod an
Airflow 3 runtime built from the same ``requirements.txt`` plus the git provider (DAG bundles),
without the example's constraints file (it pins Airflow 2.11's). They are started as the local
stack starts them (``release_assets.local.airflow_instance`` / ``airflow3_instance``: the same
process environment, one session per service, pid files under ``<env>/run``), with two
differences: the staging DAGs folder is filled only by the stand-in's S3 sync (no local
loader), and the workers get the AWS-shaped settings: the Airflow Variables a local instance
sets plus ``warehouse_kind``, ``spark_runner``, ``emr_application_id``,
``emr_execution_role_arn``, and ``SNOWFLAKE_*`` / ``AWS_*`` environment variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from release_assets.config import load_release_config
from release_assets.local import airflow3_instance, airflow_instance
from release_assets.runtimes import processes
from release_assets.runtimes.airflow.base import AirflowError, AirflowTarget
from release_assets.runtimes.airflow.local import LocalAirflow
from release_assets.runtimes.airflow.venv import (
    RuntimeVenv,
    ensure_repo_runtime,
    ensure_runtime,
    requirement_lines,
)
from release_assets.runtimes.local_layout import EnvironmentLayout
from release_assets.runtimes.processes import Say
from release_assets.runtimes.secrets.fake import FakeSecrets
from tests.paths import NORTHSTAR
from tests.runtimes.airflow.airflow3_fixture import AIRFLOW3_VERSION

AIRFLOW2_SERVICES = {"scheduler": ["--skip-serve-logs"], "webserver": []}
"""Airflow 2 services and their arguments, as ``airflow_instance`` starts them."""
AIRFLOW3_SERVICES = {"api-server": [], "scheduler": ["--skip-serve-logs"], "dag-processor": []}
"""Airflow 3 services and their arguments, as ``airflow3_instance`` starts them."""
AIRFLOW3_EXTRA_REQUIREMENTS = ("apache-airflow-providers-git",)
BUILD_TIMEOUT_S = 2400.0


@dataclass(frozen=True)
class ProfileLayout(EnvironmentLayout):
    """An environment layout whose Airflow Variables add ``variables`` to a local
    instance's (``release_env``, warehouse, source, lake and scratch paths)."""

    variables: tuple[tuple[str, str], ...] = ()

    def airflow_variables(self) -> dict[str, str]:
        return {**super().airflow_variables(), **dict(self.variables)}


def staging_runtime(runtimes_dir: Path) -> RuntimeVenv:
    """The example's Airflow 2.11 runtime (built once, then reused)."""
    return ensure_repo_runtime(runtimes_dir, NORTHSTAR, load_release_config(NORTHSTAR))


def airflow3_runtime(runtimes_dir: Path, folder: Path) -> RuntimeVenv:
    """Airflow 3 with the example's requirements and the git provider; the requirements file
    is written to ``folder``. Raises RuntimeBuildError when they do not install."""
    config = load_release_config(NORTHSTAR)
    lines = [
        line
        for line in requirement_lines(NORTHSTAR / config.airflow.requirements)
        if not line.startswith(("-c", "--constraint"))
    ]
    folder.mkdir(parents=True, exist_ok=True)
    requirements = folder / "requirements-airflow3.txt"
    requirements.write_text("\n".join([*lines, *AIRFLOW3_EXTRA_REQUIREMENTS]) + "\n")
    return ensure_runtime(runtimes_dir, AIRFLOW3_VERSION, requirements, BUILD_TIMEOUT_S)


def _start_services(
    layout: EnvironmentLayout,
    runtime: RuntimeVenv,
    services: Mapping[str, list[str]],
    env: Mapping[str, str],
) -> None:
    for service, args in services.items():
        pid_file = layout.run_dir / f"{service}.pid"
        if processes.read(pid_file) is None:
            processes.stop(pid_file)  # what is left of a crashed session, if anything
            processes.start(
                f"{layout.name} {service}",
                [str(runtime.airflow), service, *args],
                pid_file,
                layout.run_dir / f"{service}.log",
                env,
                layout.root,
            )


def launch_staging(
    layout: ProfileLayout, runtime: RuntimeVenv, extra_env: Mapping[str, str]
) -> LocalAirflow:
    """Start (idempotent, no wait) the Airflow 2.11 the stand-in forwards to; returns a
    client of its REST API (basic auth) for health checks."""
    layout.ensure_dirs()
    airflow_instance.initialize(layout, runtime)
    env = {**airflow_instance.airflow_env(layout, runtime), **extra_env}
    _start_services(layout, runtime, AIRFLOW2_SERVICES, env)
    return LocalAirflow.of_layout(layout)


PROD_PASSWORD_REF = "PROFILE_AIRFLOW3_PASSWORD"


def launch_prod(
    layout: ProfileLayout, runtime: RuntimeVenv, extra_env: Mapping[str, str]
) -> AirflowTarget:
    """Start (idempotent, no wait) the Airflow 3 api-server, scheduler and dag-processor;
    returns a client (JWT) for health checks."""
    airflow3_instance.initialize(layout, runtime)
    env = {**airflow3_instance.airflow3_env(layout, runtime), **extra_env}
    _start_services(layout, runtime, AIRFLOW3_SERVICES, env)
    secrets = FakeSecrets(values={PROD_PASSWORD_REF: layout.credentials().password})
    return airflow3_instance.target(layout, secrets, PROD_PASSWORD_REF)


def wait_healthy(
    airflows: Mapping[EnvironmentLayout, tuple[AirflowTarget, Mapping[str, list[str]]]],
    timeout_s: float,
    say: Say,
) -> None:
    """Wait at most ``timeout_s`` until every Airflow answers healthy, saying progress;
    RuntimeError naming the service that exited (and its log) or the ones not healthy."""

    def observe() -> tuple[bool, str]:
        waiting = []
        for layout, (target, services) in airflows.items():
            for service in services:
                if processes.read(layout.run_dir / f"{service}.pid") is None:
                    log = layout.run_dir / f"{service}.log"
                    raise RuntimeError(f"{layout.name} Airflow {service} exited; see {log}")
            try:
                healthy = target.health().healthy
            except AirflowError:
                healthy = False
            if not healthy:
                waiting.append(f"{layout.name} ({layout.url})")
        return not waiting, "not healthy yet: " + ", ".join(waiting)

    try:
        processes.watch(observe, timeout_s, "the Airflows", say, interval_s=2.0)
    except processes.TimeoutExpired as exc:
        raise RuntimeError(f"{exc}; logs in each environment's run/ folder") from None


def stop(layout: EnvironmentLayout, services: Mapping[str, list[str]]) -> list[str]:
    """Stop every service session of ``layout``; returns the services stopped."""
    return [s for s in services if processes.stop(layout.run_dir / f"{s}.pid")]


def worker_env(
    snowflake: Mapping[str, str],
    aws_endpoint: str,
    region: str,
    fake_credentials: Mapping[str, str],
) -> dict[str, str]:
    """Environment variables the Airflow workers get: ``SNOWFLAKE_*`` (dbt's snowflake target,
    the loaders), the AWS endpoint and credentials (the amazon provider's operators reach moto
    through ``AWS_ENDPOINT_URL``), Spark bound to 127.0.0.1."""
    return {
        **{f"SNOWFLAKE_{k.upper()}": v for k, v in snowflake.items()},
        **fake_credentials,
        "AWS_ENDPOINT_URL": aws_endpoint,
        "AWS_DEFAULT_REGION": region,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "NO_PROXY": "127.0.0.1,localhost",
    }
