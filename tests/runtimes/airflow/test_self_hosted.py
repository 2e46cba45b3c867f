"""A self-hosted Airflow 2.x reached as a production target: REST v1 with basic auth from a
secrets backend, code delivered to a DAGs folder on a volume the orchestrator writes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from release_assets.local import airflow_instance
from release_assets.runtimes.airflow.auth import AirflowAuthRefused, BasicAuth
from release_assets.runtimes.airflow.self_hosted import SelfHostedAirflow
from release_assets.runtimes.airflow.types import AirflowUnreachable
from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.runtimes.local_layout import EnvironmentLayout
from release_assets.runtimes.secrets.env import EnvSecrets
from tests.aws_server import free_port

PASSWORD_VAR = "SELF_HOSTED_AIRFLOW_PASSWORD"
_DAG = """
from datetime import datetime
from airflow import DAG
from airflow.operators.python import PythonOperator

def _say():
    print("hello from {release}")

def _boom():
    raise RuntimeError("table orders is missing ({release})")

with DAG("hello", schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as hello:
    PythonOperator(task_id="say", python_callable=_say)

with DAG("broken_run", schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as broken:
    PythonOperator(task_id="boom", python_callable=_boom)
"""


@pytest.fixture(scope="module")
def airflow2(
    tmp_path_factory: pytest.TempPathFactory, runtime: RuntimeVenv
) -> Iterator[EnvironmentLayout]:
    root = tmp_path_factory.mktemp("self_hosted")
    port = free_port()
    layout = EnvironmentLayout("prod", root / "env", port)
    try:
        airflow_instance.start(layout, runtime, 240, log_server_port=free_port())
        yield layout
    finally:
        airflow_instance.stop(layout)


def _target(layout: EnvironmentLayout, url: str | None = None) -> SelfHostedAirflow:
    auth = BasicAuth(
        secrets=EnvSecrets(), username=layout.credentials().username, password_ref=PASSWORD_VAR
    )
    return SelfHostedAirflow(
        environment="prod",
        base_url=url or layout.url,
        auth=auth,
        dags_folder=str(layout.dags_folder),
        request_timeout_s=30.0,
    )


def _release(root: Path, release: str) -> Path:
    (root / release / "dags").mkdir(parents=True)
    (root / release / "dags" / "demo.py").write_text(_DAG.format(release=release))
    return root / release


@pytest.mark.slow
def test_self_hosted_release_lifecycle(
    airflow2: EnvironmentLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_VAR, airflow2.credentials().password)
    target = _target(airflow2)
    assert target.health().healthy
    target.publish("r1", _release(tmp_path, "r1"))
    target.activate("r1")
    began = time.monotonic()
    while {(d.dag_id, d.release) for d in target.list_dags()} != {
        ("hello", "r1"),
        ("broken_run", "r1"),
    }:
        assert time.monotonic() - began < 180, target.list_dags()
        time.sleep(0.5)
    assert target.live_release() == "r1"
    target.trigger("hello", "ok-1", {})
    assert target.wait_for_run("hello", "ok-1", 240).succeeded
    target.trigger("broken_run", "bad-1", {})
    failed = target.wait_for_run("broken_run", "bad-1", 240)
    assert failed.failed_tasks == ("boom",) and "table orders is missing (r1)" in failed.log_excerpt
    # What the post-release monitor reads: the runs since a moment, a failed one with its tasks.
    since = datetime.now(UTC) - timedelta(hours=1)
    (recent_bad,) = target.recent_runs("broken_run", since)
    assert (recent_bad.run_id, recent_bad.state) == ("bad-1", "failed")
    assert recent_bad.failed_tasks == ("boom",)
    assert [r.run_id for r in target.recent_runs("hello", since)] == ["ok-1"]
    assert target.recent_runs("hello", datetime.now(UTC) + timedelta(hours=1)) == []

    # Wrong password: one line naming the environment and the Airflow URL, no password.
    monkeypatch.setenv(PASSWORD_VAR, "not-the-password")
    with pytest.raises(AirflowAuthRefused) as refused:
        target.list_dags()
    message = str(refused.value)
    assert "\n" not in message and "'prod'" in message and airflow2.url in message
    assert PASSWORD_VAR in message and "not-the-password" not in message


def test_unreachable_self_hosted_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(PASSWORD_VAR, "x")
    url = f"http://127.0.0.1:{free_port()}"
    layout = EnvironmentLayout("prod", tmp_path, 1)
    with pytest.raises(AirflowUnreachable) as caught:
        _target(layout, url).list_dags()
    message = str(caught.value)
    assert "\n" not in message and "'prod'" in message and url in message


def test_activate_of_an_unpublished_release_names_it(tmp_path: Path) -> None:
    target = _target(EnvironmentLayout("prod", tmp_path, 1))
    with pytest.raises(FileNotFoundError, match="release r9 is not published to prod"):
        target.activate("r9")
