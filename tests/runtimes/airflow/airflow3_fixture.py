"""One real Airflow 3.3.2 per test module (api-server, scheduler, dag-processor) and a small
set of Airflow 3 DAGs (the example repository's DAGs target 2.x imports)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from release_assets.local import airflow3_instance
from release_assets.runtimes.airflow.airflow3 import Airflow3Target
from release_assets.runtimes.airflow.venv import RuntimeVenv, ensure_runtime
from release_assets.runtimes.local_layout import EnvironmentLayout
from release_assets.runtimes.secrets.fake import FakeSecrets
from tests.aws_server import free_port
from tests.paths import SHARED_RUNTIMES

AIRFLOW3_VERSION = "3.3.2"
PASSWORD_REF = "AIRFLOW3_ADMIN_PASSWORD"
_DAGS = """
import pendulum
from airflow.sdk import DAG, Asset, task

with DAG("hello", schedule="@daily", start_date=pendulum.datetime(2026, 1, 1), catchup=False,
         tags=["demo"]) as hello:
    @task(outlets=[Asset("duckdb://warehouse/raw.hello")])
    def say() -> str:
        print("hello from {release}")
        return "{release}"
    say()

with DAG("broken_run", schedule=None) as broken:
    @task
    def boom() -> None:
        raise RuntimeError("table orders is missing ({release})")
    boom()
"""
_EXTRA = """
with DAG("only_in_{release}", schedule=None) as extra:
    @task
    def extra_task() -> None:
        print("extra")
    extra_task()
"""


def airflow3_runtime(tmp: Path) -> RuntimeVenv:
    """Airflow 3.3.2 with the git provider (GitDagBundle), in its own runtime venv; built
    without constraints (they come from GitHub, unreachable here): uv's resolution."""
    requirements = tmp / "requirements-airflow3.txt"
    requirements.write_text("apache-airflow-providers-git\n")
    return ensure_runtime(SHARED_RUNTIMES, AIRFLOW3_VERSION, requirements, timeout_s=2400)


def write_release(root: Path, release: str, extra: bool = False) -> Path:
    """A release bundle ``root/<release>/dags/demo.py`` whose tasks name the release."""
    dags = root / release / "dags"
    dags.mkdir(parents=True)
    text = _DAGS.format(release=release) + (_EXTRA.format(release=release) if extra else "")
    (dags / "demo.py").write_text(text)
    return root / release


@dataclass(frozen=True)
class Airflow3:
    layout: EnvironmentLayout
    target: Airflow3Target
    secrets: FakeSecrets
    started_s: float  # start to healthy (s)


@pytest.fixture(scope="module")
def airflow3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airflow3]:
    tmp = tmp_path_factory.mktemp("airflow3")
    runtime = airflow3_runtime(tmp)
    layout = EnvironmentLayout("af3test", tmp / "env", free_port())
    secrets = FakeSecrets(values={PASSWORD_REF: layout.credentials().password})
    target = airflow3_instance.target(layout, secrets, PASSWORD_REF).model_copy(
        update={"request_timeout_s": 60.0}
    )
    began = time.monotonic()
    try:
        airflow3_instance.start(layout, runtime, target, timeout_s=300)
        yield Airflow3(layout, target, secrets, time.monotonic() - began)
    finally:
        airflow3_instance.stop(layout)
