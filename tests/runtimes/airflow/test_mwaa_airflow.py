"""The MWAA target end to end against the MWAA stand-in in front of a REAL Airflow 2.11 whose
DAGs folder is synced from the moto S3 DAGs prefix, file by file in random order, as MWAA
syncs its workers."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from release_assets.config.mwaa_specs import MwaaAirflowSpec
from release_assets.core.deploy import wait_until_serving
from release_assets.local import airflow_instance
from release_assets.runtimes.airflow.mwaa import MwaaAirflow, MwaaEnvironmentNotReady
from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.runtimes.local_layout import EnvironmentLayout
from release_assets.runtimes.processes import wait_until
from tests.aws_server import REGION, MotoServer, free_port
from tests.mwaa_standin.server import MwaaStandin, StandinEnvironment
from tests.mwaa_standin.sync import DagsSync

pytestmark = pytest.mark.slow

DAG = """
import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("{dag_id}", start_date=pendulum.datetime(2026, 1, 1), schedule=None, catchup=False):
    EmptyOperator(task_id="{task_id}")
"""
SERVE_TIMEOUT_S = 150.0


@dataclass
class Stack:
    target: MwaaAirflow
    environment: StandinEnvironment
    sync: DagsSync
    layout: EnvironmentLayout


@pytest.fixture(scope="module")
def stack(
    moto_server: MotoServer, runtime: RuntimeVenv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    s3 = moto_server.clients.client("s3")
    bucket = moto_server.unique("mwaa-source")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    layout = EnvironmentLayout("mwaa-staging", tmp_path_factory.mktemp("mwaa"), free_port())
    standin = MwaaStandin(free_port(), REGION).start()
    sync = DagsSync(s3, bucket, "dags", layout.dags_folder, interval_s=2.0, seed=7)
    try:
        airflow_instance.start(layout, runtime, 240.0, log_server_port=free_port())
        creds = layout.credentials()
        environment = StandinEnvironment(
            name="northstar-staging",
            bucket=bucket,
            airflow_url=layout.url,
            credentials=(creds.username, creds.password),
        )
        standin.environments[environment.name] = environment
        sync.start()
        spec = MwaaAirflowSpec.model_validate(
            {
                "kind": "mwaa",
                "environment_name": environment.name,
                "aws": {"region": REGION, "endpoint_url": moto_server.endpoint},
                "dags": {"bucket": bucket},
                "mwaa_endpoint_url": standin.endpoint,
            }
        )
        yield Stack(MwaaAirflow.of_spec("staging", spec), environment, sync, layout)
    finally:
        sync.stop()
        standin.stop()
        airflow_instance.stop(layout)


def _bundle(root: Path, dags: dict[str, str]) -> Path:
    (root / "dags").mkdir(parents=True)
    for name, dag_id in dags.items():
        (root / "dags" / name).write_text(DAG.format(dag_id=dag_id, task_id=root.name))
    (root / "requirements.txt").write_text("pendulum\n")
    return root


def test_releases_reach_mwaa_through_s3_run_and_switch_whole(stack: Stack, tmp_path: Path) -> None:
    target = stack.target
    assert target.health().healthy

    started = time.monotonic()
    target.publish("v1", _bundle(tmp_path / "v1", {"a.py": "orders", "b.py": "stock"}))
    publish_s = time.monotonic() - started
    started = time.monotonic()
    assert target.activate("v1") is None
    wait_until_serving(target, "v1", {"orders", "stock"}, SERVE_TIMEOUT_S)
    served_v1_s = time.monotonic() - started

    # A run id long enough that the run's task-instance path exceeds what InvokeRestApi
    # takes (64 characters): listed through the batch endpoint; its log path is refused.
    run_id = "release__v1-integration-0123456789ab"
    assert len(f"/dags/orders/dagRuns/{run_id}/taskInstances") > 64
    target.trigger("orders", run_id, {})
    assert target.wait_for_run("orders", run_id, 120.0).succeeded
    assert target.task_logs("orders", run_id) == {"v1": "(log unavailable: HTTP 400)"}

    # The next switch lands while the sync copies file by file, the pointer first: Airflow
    # parses the loader then and keeps serving v1 whole, saying why in the parse log.
    target.publish("v2", _bundle(tmp_path / "v2", {"a.py": "orders", "c.py": "revenue"}))
    stack.sync.stop()
    started = time.monotonic()
    assert target.activate("v2") == "v1"
    stack.sync.copy("current.json")
    loader = stack.layout.dags_folder / "release_loader.py"
    parse_log = stack.layout.airflow_home / "logs/scheduler/latest/release_loader.py.log"
    os.utime(loader)  # parse now rather than at min_file_process_interval
    wait_until(
        lambda: (
            parse_log.exists() and "the previous release v1 stays live" in parse_log.read_text()
        ),
        90.0,
        "Airflow to parse the loader with the pointer ahead of v2's files",
    )
    listing = {d.dag_id: d.release for d in target.list_dags()}
    assert listing == {"orders": "v1", "stock": "v1"}
    assert target.import_errors() == []
    stack.sync.per_file_delay_s = 1.0
    stack.sync.start()
    seen: list[dict[str, str | None]] = []
    deadline = started + SERVE_TIMEOUT_S
    while time.monotonic() < deadline:
        listing = {d.dag_id: d.release for d in target.list_dags()}
        seen.append(listing)
        if listing.get("orders") == "v2" and listing.get("revenue") == "v2":
            break
        time.sleep(0.5)
    served_v2_s = time.monotonic() - started
    stack.sync.per_file_delay_s = 0.0
    # Never half a release: v2's DAGs appear together, and orders is v1's or v2's whole.
    for listing in seen:
        assert {d for d, r in listing.items() if r == "v2"} in (set(), {"orders", "revenue"})
        assert listing.get("orders") in ("v1", "v2")
    assert seen[-1]["orders"] == "v2"
    assert target.import_errors() == []

    # An environment mid-update: publishing a new release or canaries is refused, the live
    # release untouched (going back to a release live before stays allowed: test_mwaa.py).
    stack.environment.status = "UPDATING"
    try:
        with pytest.raises(MwaaEnvironmentNotReady, match=r"is UPDATING; last update PENDING"):
            target.publish("v3", _bundle(tmp_path / "v3", {"a.py": "orders"}))
        with pytest.raises(MwaaEnvironmentNotReady, match=r"is UPDATING; last update PENDING"):
            target.publish_canary("v2", ["orders"])
    finally:
        stack.environment.status = "AVAILABLE"
    assert target.live_release() == "v2"
    print(
        f"\nMWAA stand-in: publish {publish_s:.2f}s, activate->served v1 {served_v1_s:.1f}s, "
        f"v2 (pointer first, then 1 s per synced file) {served_v2_s:.1f}s, "
        f"{len(seen)} listings during the switch"
    )
