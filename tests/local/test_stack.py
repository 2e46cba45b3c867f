"""`local up | status | down` against real Airflow processes."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest

from release_assets.config import load_release_config
from release_assets.core.bundle import assemble_bundle
from release_assets.local import airflow_instance, environments, stack
from release_assets.runtimes import processes
from release_assets.runtimes.airflow.base import AirflowUnreachable
from release_assets.runtimes.airflow.local import LocalAirflow
from release_assets.settings import Settings
from tests.conftest import NORTHSTAR
from tests.local.conftest import worker_ports

pytestmark = pytest.mark.slow


def _deploy(target: LocalAirflow, release_id: str) -> None:
    config = load_release_config(NORTHSTAR)
    with tempfile.TemporaryDirectory() as tmp:
        assemble_bundle(NORTHSTAR, config, Path(tmp))
        target.publish(release_id, Path(tmp))
    target.activate(release_id)


def test_up_listen_deploy_status_down(isolated_settings: Settings) -> None:
    s = isolated_settings
    sessions: list[int] = []
    try:
        targets = stack.up(s)
        assert [t.environment for t in targets] == ["staging", "prod"]
        for target in targets:
            assert target.health().healthy
            assert target.list_dags() == []
            sessions += [p.pid for p in airflow_instance.running(target.layout).values() if p]
        assert len(sessions) == 6  # scheduler, webserver, postgres each

        # Every Airflow process listens on 127.0.0.1 only, each environment on its own port,
        # and no log server listens (Airflow binds it to every interface: never started).
        log_ports = environments.log_server_ports(s)
        assert len({*log_ports.values(), *worker_ports()}) == 4
        for target in targets:
            listening = {
                address
                for p in airflow_instance.running(target.layout).values()
                if p
                for address in processes.listening_addresses(p.pid)
            }
            assert listening == {("127.0.0.1", target.port)}, target.environment

        # Idempotent: a second `up` reuses the running processes.
        again = stack.up(s)
        pids = [p.pid for t in again for p in airflow_instance.running(t.layout).values() if p]
        assert sorted(pids) == sorted(sessions)

        expected = {
            "ingest_orders",
            "ingest_inventory",
            "ingest_customers",
            "spark_inventory_positions",
            "dbt_build",
            "publish_revenue_report",
        }
        for target in targets:
            _deploy(target, "dev-1")
        for target in targets:
            processes.wait_until(
                lambda t=target: {d.dag_id for d in t.list_dags()} >= expected,
                120,
                f"{target.environment} to list the example DAGs",
                1.0,
            )
            assert target.import_errors() == []
            # Active but never scheduled: local runs happen only when triggered.
            assert not any(d.is_paused for d in target.list_dags())

        rows = {r.name: r for r in stack.status(s)}
        assert rows["prod"].health == "healthy"
        assert rows["prod"].live_release == "dev-1"
        assert rows["staging"].memory_mb > 100
    finally:
        stopped = stack.down(s)
    assert stopped == {e: ["scheduler", "webserver", "postgres"] for e in ("staging", "prod")}
    for sid in sessions:
        assert processes.session_members(sid) == [], f"session {sid} left processes behind"

    # State survives `down`: the next `up` finds the same credentials and live release.
    layout = environments.layout(s, "prod")
    assert layout.live_release() == "dev-1"
    assert (layout.root / "postgres" / "data" / "PG_VERSION").exists()
    assert layout.airflow_port == worker_ports()[1]  # this worker's own port
    prod_url = re.escape(f"http://127.0.0.1:{layout.airflow_port}")
    with pytest.raises(AirflowUnreachable, match=rf"'prod' at {prod_url}"):
        LocalAirflow.of_layout(layout, 2).health()
    assert {r.health for r in stack.status(s)} == {"stopped"}


def test_secrets_stay_out_of_process_arguments(isolated_settings: Settings) -> None:
    layout = environments.layout(isolated_settings, "staging")
    password = layout.credentials().password
    runtime = stack.runtime_for(isolated_settings)
    env = airflow_instance.airflow_env(layout, runtime)
    assert password not in " ".join(env.values())
    assert os.environ.get("AIRFLOW_HOME") != env["AIRFLOW_HOME"]
