"""deploy/production/dagster.yaml and workspace.yaml on a real PostgreSQL: the instance loads
as configured, and the three production processes (code server, daemon, webserver), started
with the commands of the ECS task definitions, take a run launched through the GraphQL API
through the queued run coordinator to success, its records in Postgres and its step logs in S3
(moto)."""

from __future__ import annotations

import json
import shutil
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg2
import pytest
from dagster._core.storage.dagster_run import DagsterRunStatus

from release_assets.runtimes import processes
from release_assets.settings import CHECKOUT_ROOT
from tests.aws_server import MotoServer, free_port
from tests.deploy.ecs_tasks import container_command
from tests.deployments import write_local_deployment
from tests.paths import NORTHSTAR, SHARED_RUNTIMES
from tests.pipelines_git import PipelinesGit, make_pipelines_git
from tests.postgres_server import PostgresServer

PRODUCTION = CHECKOUT_ROOT / "deploy" / "production"
BIN = Path(sys.executable).parent
LOGS_PREFIX = "dagster-compute-logs"


def _instance_env(pg: PostgresServer, db: str, bucket: str, moto: MotoServer) -> dict[str, str]:
    return {**pg.env(db), "DAGSTER_COMPUTE_LOGS_BUCKET": bucket, "AWS_ENDPOINT_URL": moto.endpoint}


@pytest.fixture(scope="module")
def logs_bucket(moto_server: MotoServer) -> str:
    bucket = moto_server.unique("compute-logs")
    moto_server.clients.client("s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    return bucket


@pytest.fixture(scope="module")
def dagster_home(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: PostgresServer,
    postgres_db: str,
    logs_bucket: str,
    moto_server: MotoServer,
) -> Iterator[Path]:
    """A DAGSTER_HOME holding deploy/production's dagster.yaml, its variables set to the test
    Postgres database and the moto bucket for this module."""
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(PRODUCTION / "dagster.yaml", home / "dagster.yaml")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in _instance_env(
            postgres_server, postgres_db, logs_bucket, moto_server
        ).items():
            mp.setenv(key, value)
        mp.setenv("DAGSTER_HOME", str(home))
        yield home


@pytest.mark.slow
def test_the_production_instance_loads_on_postgres(
    dagster_home: Path, postgres_server: PostgresServer, postgres_db: str
) -> None:
    started = time.monotonic()
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        load_s = time.monotonic() - started
        print(f"postgres start {postgres_server.start_s:.2f}s, instance load {load_s:.2f}s")
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert type(instance.compute_log_manager).__name__ == "S3ComputeLogManager"
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert instance.run_monitoring_enabled
        assert not instance.telemetry_enabled
    conn = psycopg2.connect(
        host=postgres_server.host, port=postgres_server.port, user="postgres", dbname=postgres_db
    )
    try:
        with conn.cursor() as cur:
            cur.execute("select table_name from information_schema.tables")
            tables = {row[0] for row in cur.fetchall()}
    finally:
        conn.close()
    assert {"runs", "event_logs", "jobs", "job_ticks"} <= tables


@dataclass
class Stack:
    """The three processes of the production deployment, as the test started them."""

    url: str
    repo: PipelinesGit
    folder: Path

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer: dict[str, Any] = json.loads(response.read())
        assert "errors" not in answer, answer
        return answer["data"]  # type: ignore[no-any-return]


def _webserver_up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def production_stack(
    tmp_path_factory: pytest.TempPathFactory,
    dagster_home: Path,
    moto_server: MotoServer,
) -> Iterator[Stack]:
    """Code server, daemon and webserver with the ECS task definitions' commands (ports and
    the code server's host changed to this machine's free ones), on the production instance."""
    folder = tmp_path_factory.mktemp("production_stack")
    repo = make_pipelines_git(folder / "northstar-git")
    code_port, web_port = free_port(), free_port()
    deployment = write_local_deployment(
        folder / "deployment.yaml", {"staging": free_port(), "prod": free_port()}
    )
    env = {
        **dict(__import__("os").environ),
        "PATH": f"{BIN}:/usr/bin:/bin",
        "DAGSTER_CODE_SERVER_HOST": "127.0.0.1",
        "DAGSTER_CODE_SERVER_PORT": str(code_port),
        "RELEASE_ASSETS_STATE_DIR": str(folder / "state"),
        "RELEASE_ASSETS_CACHE_DIR": str(folder / "cache"),
        "RELEASE_ASSETS_RUNTIMES_DIR": str(SHARED_RUNTIMES),
        "RELEASE_ASSETS_REPO": str(NORTHSTAR),
        "RELEASE_ASSETS_GIT_REPO": str(repo.path),
        "RELEASE_ASSETS_DEPLOYMENT": str(deployment),
    }
    shutil.copy(PRODUCTION / "workspace.yaml", dagster_home / "workspace.yaml")
    commands = {
        "code-server": container_command("code-server", port=code_port),
        "daemon": container_command("daemon"),
        "webserver": container_command("webserver", port=web_port),
    }
    pid_files = {name: folder / f"{name}.pid" for name in commands}
    url = f"http://127.0.0.1:{web_port}"
    try:
        for name, command in commands.items():
            processes.start(
                name,
                [str(BIN / command[0]), *command[1:]],
                pid_files[name],
                folder / f"{name}.log",
                env,
                dagster_home,
            )
        processes.wait_until(lambda: _webserver_up(url), 180, "the Dagster webserver")
        yield Stack(url, repo, folder)
    finally:
        for name in reversed(list(commands)):
            processes.stop(pid_files[name])


SENSOR = """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
  __typename ... on Sensor { sensorState { id selectorId status } } } }"""
STOP_SENSOR = """mutation($id: String) { stopSensor(id: $id) { __typename
  ... on StopSensorMutationResult { instigationState { status } } } }"""
LAUNCH = """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
  ... on LaunchRunSuccess { run { runId status } }
  ... on PythonError { message } ... on InvalidSubsetError { message } } }"""
LOCATION = {"repositoryLocationName": "release_assets", "repositoryName": "__repository__"}


@pytest.mark.slow
def test_the_daemon_takes_a_release_step_through_the_queue_to_success_on_postgres(
    production_stack: Stack, dagster_home: Path, moto_server: MotoServer, logs_bucket: str
) -> None:
    stack = production_stack
    # The tag sensor would release the whole graph (real Airflow needed): stop it first.
    query = {"s": {**LOCATION, "sensorName": "merged_tag_sensor"}}
    seen: list[dict[str, Any]] = []

    def loaded() -> bool:  # the webserver answers before the code location is loaded
        seen.append(stack.graphql(SENSOR, query)["sensorOrError"])
        return bool(seen[-1]["__typename"] == "Sensor")

    processes.wait_until(loaded, 180, "the code location's merged_tag_sensor", 1.0)
    state = seen[-1]["sensorState"]
    stopped = stack.graphql(STOP_SENSOR, {"id": state["id"]})
    assert stopped["stopSensor"]["instigationState"]["status"] == "STOPPED"
    stack.repo.git("tag", "v1")
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        instance.add_dynamic_partitions("releases", ["v1"])
        params = {
            "selector": {
                **LOCATION,
                "jobName": "release",
                "assetSelection": [{"path": ["release_candidate"]}],
                "assetCheckSelection": [],
            },
            "runConfigData": {},
            "executionMetadata": {
                "tags": [
                    {"key": "dagster/partition", "value": "v1"},
                    {"key": "release", "value": "v1"},
                ]
            },
        }
        launched = time.monotonic()
        answer = stack.graphql(LAUNCH, {"p": params})["launchRun"]
        assert answer["__typename"] == "LaunchRunSuccess", answer
        run_id = answer["run"]["runId"]
        assert answer["run"]["status"] == "QUEUED"  # the daemon, not the webserver, launches

        def finished() -> bool:
            run = instance.get_run_by_id(run_id)
            return run is not None and run.is_finished

        processes.wait_until(finished, 300, f"run {run_id} of release_candidate v1", 1.0)
        took = time.monotonic() - launched
        run = instance.get_run_by_id(run_id)
        assert run is not None
        log = (stack.folder / "code-server.log").read_text(errors="replace")[-3000:]
        assert run.status == DagsterRunStatus.SUCCESS, log
        print(f"daemon launch-to-success {took:.1f}s")
        types = [
            e.dagster_event_type.value
            for e in instance.all_logs(run_id)
            if e.dagster_event_type is not None
        ]
        assert types.index("PIPELINE_ENQUEUED") < types.index("PIPELINE_STARTING")
        materialized = instance.get_latest_materialization_event(dg.AssetKey("release_candidate"))
        assert materialized is not None and materialized.run_id == run_id
        heartbeats = instance.get_daemon_heartbeats()
        assert {"QUEUED_RUN_COORDINATOR", "SENSOR"} <= set(heartbeats)
    listed = moto_server.clients.client("s3").list_objects_v2(
        Bucket=logs_bucket, Prefix=f"{LOGS_PREFIX}/"
    )
    keys = [o["Key"] for o in listed.get("Contents", [])]
    assert any(run_id in key for key in keys), keys


@dg.asset(partitions_def=dg.DynamicPartitionsDefinition(name="releases"))
def step(context) -> str:  # type: ignore[no-untyped-def]  # dagster reads the hint unresolved
    return str(context.partition_key)


@pytest.mark.slow
def test_the_release_stack_instance_stores_partitioned_runs_in_postgres(
    postgres_server: PostgresServer,
) -> None:
    """The instance tests/defs/release_stack.py gives the release-graph modules: dynamic
    partitions and in-process runs, stored in PostgreSQL."""
    from tests.postgres_server import postgres_instance

    database = postgres_server.create_database(f"release_stack_check_{time.time_ns() % 10**9}")
    with postgres_instance(postgres_server, database) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        instance.add_dynamic_partitions("releases", ["v1"])
        result = dg.materialize([step], instance=instance, partition_key="v1")
        assert result.success
        assert instance.get_latest_materialization_event(dg.AssetKey("step")) is not None
