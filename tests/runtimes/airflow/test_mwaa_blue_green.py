"""Blue/green on MWAA end to end: two MWAA stand-in environments in front of two REAL Airflow
2.11 instances, their DAGs synced from moto S3 as MWAA syncs its workers. v1 is live in blue;
v2 adds ``humanize`` to requirements.txt, so it goes to green: green's environment is updated
(UPDATING, then AVAILABLE running v2's requirements.txt object version), v2 is published to
green's DAGs prefix and cut over at a run boundary; a DAG importing humanize succeeds in
green, blue's DAGs are paused; then a cut back makes blue live again, with no update of blue.

The stand-in installs nothing: green's Airflow runs from the runtime venv with humanize that
the test built (as MWAA's new workers would). Ports: Airflow 18710/18711, log servers
18760/18761, the stand-in 18790.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from release_assets.config.blue_green_specs import MwaaBlueGreenAirflowSpec
from release_assets.local import airflow_instance
from release_assets.runtimes.airflow.blue_green import BlueGreenAirflow
from release_assets.runtimes.airflow.blue_green_state import bundle_airflow, runtime_identity
from release_assets.runtimes.airflow.mwaa_color_runtime import mwaa_blue_green_airflow
from release_assets.runtimes.airflow.venv import ensure_runtime
from release_assets.runtimes.local_layout import EnvironmentLayout
from release_assets.runtimes.processes import wait_until
from release_assets.settings import load_settings
from tests.aws_server import REGION, MotoServer
from tests.mwaa_standin.server import MwaaStandin, StandinEnvironment
from tests.mwaa_standin.sync import DagsSync
from tests.runtimes.airflow.blue_green_real import EXTRA, write_bundle

pytestmark = pytest.mark.slow

PORTS = {"blue": 18710, "green": 18711}
LOG_PORTS = {"blue": 18760, "green": 18761}
STANDIN_PORT = 18790
PAUSED_AT_CREATION = {"AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True"}  # MWAA's default


@dataclass
class Color:
    environment: StandinEnvironment
    layout: EnvironmentLayout
    sync: DagsSync

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of ``dag_id`` as this color's Airflow records it (dates ISO 8601)."""
        creds = self.layout.credentials()
        answer = requests.get(
            f"{self.layout.url}/api/v1/dags/{dag_id}/dagRuns",
            params={"limit": 100},
            auth=(creds.username, creds.password),
            timeout=30,
        )
        answer.raise_for_status()
        return list(answer.json()["dag_runs"])


@dataclass
class Stack:
    prod: BlueGreenAirflow
    colors: dict[str, Color]
    v1: Path
    v2: Path


@pytest.fixture
def stack(moto_server: MotoServer, tmp_path: Path) -> Iterator[Stack]:
    runtimes = load_settings().runtimes_dir
    v1 = write_bundle(tmp_path / "bundles", "v1", [])
    v2 = write_bundle(tmp_path / "bundles", "v2", [EXTRA])
    s3 = moto_server.clients.client("s3")
    standin = MwaaStandin(STANDIN_PORT, REGION).start()
    colors: dict[str, Color] = {}
    try:
        for name, bundle in (("blue", v1), ("green", v2)):
            bucket = moto_server.unique(f"mwaa-{name}")
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            # Both environments were created running v1's requirements.txt.
            put = s3.put_object(
                Bucket=bucket, Key="requirements.txt", Body=(v1 / "requirements.txt").read_bytes()
            )
            layout = EnvironmentLayout(f"prod-{name}", tmp_path / name, PORTS[name])
            airflow = bundle_airflow(bundle)
            runtime = ensure_runtime(
                runtimes,
                airflow.version,
                bundle / airflow.requirements,
                constraints=bundle / str(airflow.constraints),
            )
            color = Color(
                StandinEnvironment(
                    name=f"northstar-prod-{name}",
                    bucket=bucket,
                    requirements_path="requirements.txt",
                    requirements_version=put["VersionId"],
                    update_polls=3,
                ),
                layout,
                DagsSync(s3, bucket, "dags", layout.dags_folder, interval_s=2.0, seed=11),
            )
            colors[name] = color
            airflow_instance.start(layout, runtime, 300, LOG_PORTS[name], PAUSED_AT_CREATION)
            creds = layout.credentials()
            color.environment.airflow_url = layout.url
            color.environment.credentials = (creds.username, creds.password)
            standin.environments[color.environment.name] = color.environment
            color.sync.start()
        spec = MwaaBlueGreenAirflowSpec.model_validate(
            {
                "kind": "blue_green",
                **{
                    name: {
                        "kind": "mwaa",
                        "environment_name": color.environment.name,
                        "aws": {"region": REGION, "endpoint_url": moto_server.endpoint},
                        "dags": {"bucket": color.environment.bucket},
                        "mwaa_endpoint_url": standin.endpoint,
                    }
                    for name, color in colors.items()
                },
                "update_poll_s": 1.0,
                "drain_timeout_s": 300,
            }
        ).resolve(tmp_path, "prod")
        yield Stack(mwaa_blue_green_airflow("prod", spec), colors, v1, v2)
    finally:
        for color in colors.values():
            color.sync.stop()
            airflow_instance.stop(color.layout)
        standin.stop()


def _paused(prod: BlueGreenAirflow, color: str) -> dict[str, bool]:
    return {d.dag_id: d.is_paused for d in prod.color(color).list_dags()}


def _state(color: Color, dag_id: str, run_id: str) -> str:
    return next((r["state"] for r in color.runs(dag_id) if r["dag_run_id"] == run_id), "")


def test_a_requirements_change_goes_to_the_green_mwaa_environment_and_back(
    stack: Stack,
) -> None:
    prod, blue, green = stack.prod, stack.colors["blue"], stack.colors["green"]
    prod.publish("v1", stack.v1)
    prod.activate("v1")
    assert prod.wait_for_run("report", prod.trigger("report", "warmup", {}), 300).succeeded

    started = time.monotonic()
    prod.publish("v2", stack.v2)
    update_s = time.monotonic() - started
    (update,) = green.environment.updates
    assert blue.environment.updates == []
    assert green.environment.status == "AVAILABLE"
    assert green.environment.requirements_version == update["RequirementsS3ObjectVersion"]
    s3 = prod.blue.dags.s3
    installed = s3.get_object(
        Bucket=green.environment.bucket,
        Key="requirements.txt",
        VersionId=green.environment.requirements_version,
    )["Body"].read()
    assert EXTRA.encode() in installed
    assert prod.read_state().releases["v2"] == {
        "color": "green",
        "runtime": runtime_identity(stack.v2),
    }
    assert prod.live_release() == "v1"

    # blue is half-way through a two-task run when the cutover starts
    prod.trigger("report", "long_in_blue", {"sleep_s": 20})
    wait_until(lambda: _state(blue, "report", "long_in_blue") == "running", 120, "long run")
    started = time.monotonic()
    assert prod.activate("v2") == "v1"
    cutover_s = time.monotonic() - started

    assert prod.read_state().active == "green" and prod.live_release() == "v2"
    assert _paused(prod, "blue") == {"report": True}
    assert _paused(prod, "green") == {"pretty": False, "report": False}
    assert _state(blue, "report", "long_in_blue") == "success"  # waited for, not stalled
    pretty = prod.wait_for_run("pretty", prod.trigger("pretty", "after_cutover", {}), 300)
    assert pretty.succeeded, pretty.log_excerpt
    assert prod.wait_for_run("report", prod.trigger("report", "in_green", {}), 300).succeeded
    green_starts = [r["start_date"] for r in green.runs("report")]
    blue_ends = [r["end_date"] for r in blue.runs("report")]
    assert green_starts and min(green_starts) > max(blue_ends)  # no DAG run in both

    # cut back: blue still runs v1's runtime, so it is not updated, only switched to
    prod.publish("v1", stack.v1)
    assert prod.activate("v1") == "v2"
    assert blue.environment.updates == [] and len(green.environment.updates) == 1
    assert prod.read_state().active == "blue" and prod.live_release() == "v1"
    assert _paused(prod, "green") == {"pretty": True, "report": True}
    assert _paused(prod, "blue") == {"report": False}
    assert prod.wait_for_run("report", prod.trigger("report", "back_in_blue", {}), 300).succeeded
    print(
        f"\nMWAA blue/green: green update {update_s:.1f}s (stand-in: 3 polls of 1 s), "
        f"cutover with a 20 s run in flight {cutover_s:.1f}s"
    )
