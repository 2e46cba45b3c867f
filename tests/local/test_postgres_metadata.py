"""A local Airflow 2 environment keeps its metadata in its own PostgreSQL, runs tasks with the
LocalExecutor, and leaves no process or socket behind when stopped (real Airflow 2.11)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from release_assets.local import airflow_instance, environments
from release_assets.runtimes import processes
from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.settings import Settings, load_settings, settings
from tests.aws_server import free_port
from tests.deployments import write_local_deployment
from tests.local.conftest import worker_ports

pytestmark = pytest.mark.slow

TWO_STEPS = """
import os

import pendulum
from airflow import DAG
from airflow.operators.python import PythonOperator


def pid() -> int:
    return os.getpid()


with DAG("two_steps", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), schedule=None):
    PythonOperator(task_id="first", python_callable=pid) >> PythonOperator(
        task_id="second", python_callable=pid
    )
"""


@pytest.fixture
def pg_settings(
    isolated_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Settings whose environments use this module's ports (18520-18529)."""
    staging, prod = worker_ports(base=18520, span=10)
    deployment = write_local_deployment(
        tmp_path / "deployment-pg.yaml", {"staging": staging, "prod": prod}
    )
    monkeypatch.setenv("RELEASE_ASSETS_DEPLOYMENT", str(deployment))
    settings.cache_clear()
    yield load_settings()
    settings.cache_clear()


def _query(cluster: airflow_instance.PostgresCluster, sql: str) -> list[tuple[object, ...]]:
    conn = psycopg2.connect(
        host=cluster.host, port=cluster.effective_port, user="postgres", dbname="airflow"
    )
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def test_an_environment_runs_on_its_own_postgres_and_leaves_nothing_behind(
    pg_settings: Settings, runtime: RuntimeVenv, tmp_path: Path
) -> None:
    layout = environments.layout(pg_settings, "prod")
    layout.ensure_dirs()
    layout.airflow_home.mkdir(parents=True, exist_ok=True)
    (layout.airflow_home / "airflow.db").write_bytes(b"SQLite format 3\x00")  # an old env
    bundle = tmp_path / "bundle"
    (bundle / "dags").mkdir(parents=True)
    (bundle / "dags" / "two_steps.py").write_text(TWO_STEPS)
    cluster = airflow_instance.metadata_cluster(layout)
    sessions: list[int] = []
    try:
        target = airflow_instance.start(layout, runtime, 240, log_server_port=free_port())
        running = airflow_instance.running(layout)
        assert set(running) == {"scheduler", "webserver", "postgres"}
        sessions = [p.pid for p in running.values() if p]
        assert len(sessions) == 3
        postgres_pid = sessions[-1]
        # The database listens on its socket only: no TCP port to collide with anything.
        assert processes.listening_addresses(postgres_pid) == []
        assert (cluster.socket_dir / ".s.PGSQL.5432").is_socket()
        assert not (layout.airflow_home / "airflow.db").exists()

        target.publish("v1", bundle)
        target.activate("v1")
        processes.wait_until(
            lambda: "two_steps" in {d.dag_id for d in target.list_dags()},
            120,
            "prod to list two_steps",
            1.0,
        )
        run_id = target.trigger("two_steps", "pg-check", {})
        result = target.wait_for_run("two_steps", run_id, 300)
        assert result.succeeded, result.log_excerpt

        # What Airflow recorded is in PostgreSQL.
        tasks = _query(
            cluster,
            "select task_id, state from task_instance where run_id = 'pg-check' order by 1",
        )
        assert tasks == [("first", "success"), ("second", "success")]
        # Tasks ran through the LocalExecutor, one at a time (one worker; see airflow_env).
        workers = [
            pid
            for pid in processes.session_members(sessions[0])
            if _cmdline(pid).startswith("airflow worker -- LocalExecutor")
        ]
        assert len(workers) == 1
    finally:
        stopped = airflow_instance.stop(layout)
    assert stopped == ["scheduler", "webserver", "postgres"]
    for sid in sessions:
        assert processes.session_members(sid) == [], f"session {sid} left processes behind"
    assert not cluster.socket_dir.exists()
    assert not (cluster.data_dir / "postmaster.pid").exists()
    assert airflow_instance.stop(layout) == []  # idempotent
