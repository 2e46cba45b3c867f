"""The MWAA target against the MWAA stand-in (no Airflow process: a tiny HTTP answerer plays
the webserver) and moto: REST through InvokeRestApi, error mapping, an environment mid-update,
an unreachable endpoint, rejected credentials, requirements/plugins changes."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from release_assets.config.aws_specs import AwsConnectionSpec
from release_assets.config.mwaa_specs import MwaaAirflowSpec
from release_assets.runtimes.airflow.mwaa import NEEDS_UPDATE, MwaaAirflow, MwaaEnvironmentNotReady
from release_assets.runtimes.airflow.mwaa_rest import PATH_MAX, MwaaPathTooLong
from release_assets.runtimes.airflow.types import AirflowApiError, AirflowError, AirflowUnreachable
from tests.aws_server import FAKE_CREDENTIALS, REGION, MotoServer, free_port
from tests.mwaa_standin.server import MwaaStandin, StandinEnvironment
from tests.mwaa_standin.sync import DagsSync
from tests.mwaa_standin.worker import DAG_FILE, parse

WHAT = "staging MWAA environment 'northstar-staging'"


class _Webserver(BaseHTTPRequestHandler):
    """Plays an Airflow webserver's /api/v1: health, one page of DAGs, a 404 and a 500."""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_DELETE(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        routes: dict[str, tuple[int, Any]] = {
            "/api/v1/health": (
                200,
                {"metadatabase": {"status": "healthy"}, "scheduler": {"status": "healthy"}},
            ),
            "/api/v1/dags": (
                200,
                {
                    "dags": [
                        {
                            "dag_id": "orders",
                            "fileloc": "/dags/release_loader.py",
                            "is_paused": False,
                            "is_active": True,
                            "tags": [{"name": "release:v1"}],
                        }
                    ],
                    "total_entries": 1,
                },
            ),
            "/api/v1/dags/broken": (500, {"title": "Internal Server Error"}),
            "/api/v1/dags/~/dagRuns/~/taskInstances/list": (
                200,
                {"task_instances": [{"task_id": "load", "state": "success"}], "total_entries": 1},
            ),
        }
        status, body = routes.get(self.path.split("?")[0], (404, {"title": "DAG not found"}))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def webserver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Webserver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def standin() -> Iterator[MwaaStandin]:
    server = MwaaStandin(free_port(), REGION, access_key=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"])
    yield server.start()
    server.stop()


@pytest.fixture
def environment(
    standin: MwaaStandin, moto_server: MotoServer, webserver: str
) -> Iterator[StandinEnvironment]:
    s3 = moto_server.clients.client("s3")
    bucket = moto_server.unique("mwaa-source")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    env = StandinEnvironment(name=moto_server.unique("northstar-staging"), bucket=bucket)
    env.airflow_url = webserver
    standin.environments[env.name] = env
    yield env
    del standin.environments[env.name]


def spec(env: StandinEnvironment, moto: MotoServer, mwaa_endpoint: str) -> MwaaAirflowSpec:
    return MwaaAirflowSpec.model_validate(
        {
            "kind": "mwaa",
            "environment_name": env.name,
            "aws": {"region": REGION, "endpoint_url": moto.endpoint, "max_attempts": 1},
            "dags": {"bucket": env.bucket, "prefix": "dags"},
            "mwaa_endpoint_url": mwaa_endpoint,
        }
    )


@pytest.fixture
def target(
    environment: StandinEnvironment, moto_server: MotoServer, standin: MwaaStandin
) -> MwaaAirflow:
    return MwaaAirflow.of_spec("staging", spec(environment, moto_server, standin.endpoint))


def what(env: StandinEnvironment) -> str:
    return f"staging MWAA environment {env.name!r}"


def test_rest_calls_go_through_invoke_rest_api(
    target: MwaaAirflow, environment: StandinEnvironment
) -> None:
    assert target.health().healthy
    (dag,) = target.list_dags()
    assert (dag.dag_id, dag.release) == ("orders", "v1")
    assert environment.calls[:2] == ["GetEnvironment", "InvokeRestApi GET /health"]
    assert "InvokeRestApi GET /dags" in environment.calls


def test_an_airflow_client_error_keeps_its_status_and_names_the_environment(
    target: MwaaAirflow,
) -> None:
    with pytest.raises(AirflowApiError) as failed:
        target.client.get("/dags/missing")
    assert failed.value.status == 404
    assert str(failed.value).startswith("Airflow 'staging': GET /dags/missing answered HTTP 404")


def test_an_airflow_server_error_keeps_its_status(target: MwaaAirflow) -> None:
    with pytest.raises(AirflowApiError) as failed:
        target.client.get("/dags/broken")
    assert failed.value.status == 500
    assert "Airflow 'staging': GET /dags/broken answered HTTP 500" in str(failed.value)


def test_a_webserver_mwaa_cannot_reach_is_unreachable(
    target: MwaaAirflow, environment: StandinEnvironment
) -> None:
    environment.airflow_url = None
    with pytest.raises(AirflowUnreachable) as failed:
        target.client.get("/health")
    message = str(failed.value)
    assert f"Airflow 'staging' (MWAA environment {environment.name!r})" in message
    assert "MWAA could not reach the Airflow webserver (HTTP 502" in message


def test_an_environment_mid_update_refuses_every_deploy_step(
    target: MwaaAirflow, environment: StandinEnvironment, tmp_path: Path
) -> None:
    environment.status = "UPDATING"
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "a.py").write_text("# airflow dag\n")
    for step in (
        target.health,
        lambda: target.publish("v1", tmp_path),
        lambda: target.activate("v1"),
        lambda: target.publish_canary("v1", ["orders"]),
    ):
        with pytest.raises(MwaaEnvironmentNotReady) as refused:
            step()
        message = str(refused.value)
        assert message.startswith(f"{what(environment)} is UPDATING; last update PENDING")
        assert "until it is AVAILABLE" in message and "\n" not in message
    assert target.dags.read("releases/v1.manifest.json") is None


def test_an_unreachable_mwaa_endpoint_names_the_environment_and_endpoint(
    environment: StandinEnvironment, moto_server: MotoServer
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    target = MwaaAirflow.of_spec("staging", spec(environment, moto_server, nowhere))
    with pytest.raises(AirflowUnreachable) as failed:
        target.health()
    assert str(failed.value) == (
        f"{what(environment)}: {nowhere} is unreachable (EndpointConnectionError); "
        "check the endpoint and network"
    )


def test_an_unknown_environment_name_is_reported_as_such(
    environment: StandinEnvironment, moto_server: MotoServer, standin: MwaaStandin
) -> None:
    other = spec(environment, moto_server, standin.endpoint).model_copy(
        update={"environment_name": "not-there"}
    )
    with pytest.raises(AirflowUnreachable) as failed:
        MwaaAirflow.of_spec("staging", other).health()
    assert str(failed.value) == (
        "staging MWAA environment 'not-there': ResourceNotFoundException: "
        "Environment not-there not found"
    )


def test_rejected_credentials_are_said_without_the_credentials(
    target: MwaaAirflow, environment: StandinEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "planted-secret-value")
    with pytest.raises(AirflowUnreachable) as failed:
        target.client.get("/health")
    message = str(failed.value)
    assert message.startswith(f"Airflow 'staging' (MWAA environment {environment.name!r})")
    assert message.endswith("the AWS credentials were rejected (UnrecognizedClientException)")
    assert "AKIAWRONG" not in message and "planted-secret-value" not in message


def test_publish_and_activate_write_the_prefix_and_the_pointer(
    target: MwaaAirflow, tmp_path: Path
) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "a.py").write_text("# airflow dag\n")
    target.publish("v1", tmp_path)
    assert target.live_release() is None
    assert target.activate("v1") is None
    assert target.live_release() == "v1"


def _runs(env: StandinEnvironment, target: MwaaAirflow, key: str, body: bytes) -> None:
    answer = target.dags.s3.put_object(Bucket=env.bucket, Key=key, Body=body)
    if key.endswith(".zip"):
        env.plugins_path, env.plugins_version = key, answer["VersionId"]
    else:
        env.requirements_path, env.requirements_version = key, answer["VersionId"]


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


def test_requirements_and_plugins_changes_need_an_environment_update(
    target: MwaaAirflow, environment: StandinEnvironment, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "plugins").mkdir(parents=True)
    (bundle / "requirements.txt").write_text("pendulum==3.0.0\n")
    (bundle / "plugins" / "ops.py").write_text("X = 1\n")
    _runs(environment, target, "requirements.txt", b"pendulum==3.0.0\n")
    _runs(environment, target, "plugins.zip", _zip({"ops.py": b"X = 1\n"}))
    assert target.runtime_changes(bundle) == []

    # A newer requirements.txt in the bucket is not what the environment runs (its version).
    target.dags.s3.put_object(Bucket=environment.bucket, Key="requirements.txt", Body=b"x\n")
    assert target.runtime_changes(bundle) == []

    (bundle / "requirements.txt").write_text("pendulum==3.1.0\n")
    (bundle / "plugins" / "ops.py").write_text("X = 2\n")
    req, plugins = target.runtime_changes(bundle)
    assert req == (
        f"{what(environment)}: requirements.txt differs from "
        f"s3://{environment.bucket}/requirements.txt (version {environment.requirements_version}),"
        f" which the environment runs: {NEEDS_UPDATE}"
    )
    assert plugins.startswith(f"{what(environment)}: plugins/ differs from ")
    assert plugins.endswith(NEEDS_UPDATE)


def test_the_deployment_block_is_checked() -> None:
    block: dict[str, Any] = {
        "kind": "mwaa",
        "environment_name": "northstar-prod",
        "aws": {"region": REGION},
        "dags": {"bucket": "northstar-mwaa-prod"},
    }
    parsed = MwaaAirflowSpec.model_validate(block)
    assert parsed.dags.prefix == "dags" and parsed.mwaa_endpoint_url is None
    assert parsed.resolve(Path("/state"), "prod") == parsed
    assert parsed.aws == AwsConnectionSpec(region=REGION)
    for bad in ({**block, "password": "x"}, {**block, "dags": {"bucket": "B_ad"}}):
        with pytest.raises(ValueError):
            MwaaAirflowSpec.model_validate(bad)


def test_paths_longer_than_mwaa_takes_are_shortened_or_refused_before_sending(
    target: MwaaAirflow, environment: StandinEnvironment
) -> None:
    tis = "/dags/orders_daily__canary_v1.2.3/dagRuns/canary__v1.2.3/taskInstances"
    assert len(tis) > PATH_MAX
    assert target.client.get(tis)["task_instances"] == [{"task_id": "load", "state": "success"}]
    assert environment.calls[-1] == "InvokeRestApi POST /dags/~/dagRuns/~/taskInstances/list"
    logs = f"{tis}/load/logs/1"
    with pytest.raises(MwaaPathTooLong) as refused:
        target.client.get(logs)
    assert refused.value.status == 400
    assert str(refused.value) == (
        f"Airflow 'staging' (MWAA environment {environment.name!r}): GET {logs} not sent: "
        f"MWAA's InvokeRestApi takes paths of at most 64 characters, this one has {len(logs)} "
        "(shorten the DAG id or run id)"
    )
    assert environment.calls[-1].endswith("taskInstances/list")


def test_the_standin_refuses_a_path_longer_than_mwaa_takes_as_mwaa_would(
    standin: MwaaStandin, environment: StandinEnvironment
) -> None:
    status, body, error = standin.invoke(environment, {"Path": "/" + "x" * 64, "Method": "GET"})
    assert (status, error) == (400, "ValidationException")
    assert body == {"message": "Path must be 1 to 64 characters, got 65"}


def test_canaries_are_served_from_the_prefix_by_a_canary_loader(
    target: MwaaAirflow, environment: StandinEnvironment, tmp_path: Path
) -> None:
    bundle = tmp_path / "v1"
    (bundle / "dags").mkdir(parents=True)
    (bundle / "dags" / "a.py").write_text(DAG_FILE.format(dag_id="orders", marker="v1"))
    (bundle / "dags" / "b.py").write_text(DAG_FILE.format(dag_id="stock", marker="v1"))
    target.publish("v1", bundle)
    assert target.publish_canary("v1", ["orders"]) == {"orders": "orders__canary_v1"}
    worker = tmp_path / "worker"
    DagsSync(target.dags.s3, environment.bucket, "dags", worker).sync_once()
    loaded = parse(worker / "canary__v1.py", tmp_path / "stub")
    assert loaded.dags == {"orders__canary_v1": ["release:v1"]}
    assert target.remove_canary("v1") == []  # the webserver had no such DAG (404)
    assert target.dags.read("canary__v1.py") is None
    assert target.dags.read("canaries/v1.dags") is None


def test_a_rollback_is_switched_in_while_the_environment_updates_a_new_release_is_not(
    target: MwaaAirflow,
    environment: StandinEnvironment,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for release in ("v1", "v2", "v3"):
        (tmp_path / release / "dags").mkdir(parents=True)
        (tmp_path / release / "dags" / "a.py").write_text(f"# airflow dag {release}\n")
        target.publish(release, tmp_path / release)
    target.activate("v1")
    target.activate("v2")
    environment.status = "UPDATING"
    with caplog.at_level("WARNING"):
        assert target.activate("v1") == "v2"  # the rollback / put-back
    assert target.live_release() == "v1"
    assert any(
        f"{what(environment)} is UPDATING, not AVAILABLE: switching back to release v1" in r.message
        for r in caplog.records
    )
    with pytest.raises(MwaaEnvironmentNotReady) as refused:
        target.activate("v3")  # never live here: a new release waits for the update
    assert str(refused.value).startswith(f"{what(environment)} is UPDATING")
    environment.status = "DELETING"
    with pytest.raises(MwaaEnvironmentNotReady, match="is DELETING"):
        target.activate("v2")
    assert target.live_release() == "v1"


def test_a_missing_aws_profile_names_the_environment(
    environment: StandinEnvironment,
    moto_server: MotoServer,
    standin: MwaaStandin,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "config").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "config"))
    with_profile = spec(environment, moto_server, standin.endpoint).model_copy(
        update={"aws": AwsConnectionSpec(region=REGION, profile="release-assets-nowhere")}
    )
    target = MwaaAirflow.of_spec("staging", with_profile)
    for step in (target.live_release, target.health):
        with pytest.raises(AirflowError) as failed:
            step()
        message = str(failed.value)
        assert message.startswith(f"{what(environment)}: ")
        assert "release-assets-nowhere" in message and "\n" not in message
