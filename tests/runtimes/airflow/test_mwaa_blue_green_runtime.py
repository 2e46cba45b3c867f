"""Blue/green on MWAA without Airflow: the MWAA color runtime against the MWAA stand-in
(UpdateEnvironment played: UPDATING for a few polls, then AVAILABLE or UPDATE_FAILED) and moto
S3; the S3 state store and its concurrent writers; the ``kind: blue_green`` block with MWAA
colors."""

from __future__ import annotations

import logging
import threading
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from release_assets.config.blue_green_specs import (
    BlueGreenAirflowSpec,
    BlueGreenSpec,
    MwaaBlueGreenAirflowSpec,
)
from release_assets.config.mwaa_specs import MwaaAirflowSpec
from release_assets.runtimes.airflow.blue_green_state import (
    BlueGreenError,
    BlueGreenState,
    runtime_identity,
    utc_now,
)
from release_assets.runtimes.airflow.blue_green_store import S3StateObject
from release_assets.runtimes.airflow.mwaa import MwaaAirflow
from release_assets.runtimes.airflow.mwaa_color_runtime import (
    MwaaColorRuntime,
    MwaaUpdateFailed,
    mwaa_blue_green_airflow,
)
from release_assets.runtimes.airflow.types import AirflowError
from release_assets.runtimes.processes import TimeoutExpired
from tests.aws_server import REGION, MotoServer, free_port
from tests.mwaa_standin.server import MwaaStandin, StandinEnvironment
from tests.runtimes.airflow import blue_green_fakes as fakes

BASE = ["pendulum==3.0.0"]
NEW = ["pendulum==3.0.0", "humanize==4.17.0"]


@pytest.fixture(scope="module")
def standin() -> Iterator[MwaaStandin]:
    server = MwaaStandin(free_port(), REGION).start()
    yield server
    server.stop()


def _bucket(moto: MotoServer, versioned: bool = True) -> str:
    s3 = moto.clients.client("s3")
    bucket = moto.unique("mwaa-source")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def _mwaa_block(env: StandinEnvironment, moto: MotoServer, endpoint: str) -> dict[str, Any]:
    return {
        "kind": "mwaa",
        "environment_name": env.name,
        "aws": {"region": REGION, "endpoint_url": moto.endpoint, "max_attempts": 1},
        "dags": {"bucket": env.bucket},
        "mwaa_endpoint_url": endpoint,
    }


def _environment(
    standin: MwaaStandin, moto: MotoServer, name: str, requirements: list[str]
) -> tuple[StandinEnvironment, MwaaAirflow]:
    """A stand-in MWAA environment running ``requirements`` (uploaded, pinned by version)."""
    env = StandinEnvironment(name=moto.unique(name), bucket=_bucket(moto))
    standin.environments[env.name] = env
    target = MwaaAirflow.of_spec(
        "prod", MwaaAirflowSpec.model_validate(_mwaa_block(env, moto, standin.endpoint))
    )
    body = ("\n".join(requirements) + "\n").encode()
    put = target.dags.s3.put_object(Bucket=env.bucket, Key="requirements.txt", Body=body)
    env.requirements_path, env.requirements_version = "requirements.txt", put["VersionId"]
    return env, target


def _runtime(**overrides: Any) -> MwaaColorRuntime:
    return MwaaColorRuntime(**{"poll_s": 0.01, "update_timeout_s": 30.0, **overrides})


def _object(target: MwaaAirflow, bucket: str, key: str, version: str) -> bytes:
    body: bytes = target.dags.s3.get_object(Bucket=bucket, Key=key, VersionId=version)[
        "Body"
    ].read()
    return body


def test_a_requirements_change_updates_the_standby_and_waits_until_it_is_available(
    standin: MwaaStandin, moto_server: MotoServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env, green = _environment(standin, moto_server, "northstar-green", BASE)
    bundle = fakes.bundle(tmp_path, "v2", NEW)
    (bundle / "plugins").mkdir()
    (bundle / "plugins" / "hooks.py").write_text("HOOK = 1\n")
    identity = runtime_identity(bundle)

    with caplog.at_level(logging.INFO):
        _runtime().ensure("green", green, bundle, identity)

    (update,) = env.updates
    assert sorted(update) == [
        "PluginsS3ObjectVersion",
        "PluginsS3Path",
        "RequirementsS3ObjectVersion",
        "RequirementsS3Path",
    ]
    assert env.status == "AVAILABLE"
    assert env.requirements_version == update["RequirementsS3ObjectVersion"]
    installed = _object(green, env.bucket, "requirements.txt", env.requirements_version)
    assert installed == (bundle / "requirements.txt").read_bytes()
    archive = _object(green, env.bucket, "plugins.zip", str(env.plugins_version))
    assert zipfile.ZipFile(BytesIO(archive)).read("hooks.py") == b"HOOK = 1\n"
    said = caplog.text
    assert f"updating to runtime {identity}" in said
    assert f"prod MWAA environment {env.name!r} (green) to finish its update" in said
    assert "UPDATING (last update PENDING)" in said
    assert green.runtime_changes(bundle) == []  # what MWAA runs is the release's runtime


def test_an_environment_already_running_the_release_is_not_updated_again(
    standin: MwaaStandin, moto_server: MotoServer, tmp_path: Path
) -> None:
    env, green = _environment(standin, moto_server, "northstar-green", BASE)
    bundle = fakes.bundle(tmp_path, "v2", NEW)
    runtime = _runtime()
    runtime.ensure("green", green, bundle, runtime_identity(bundle))
    versions = green.dags.s3.list_object_versions(Bucket=env.bucket, Prefix="requirements.txt")

    runtime.ensure("green", green, bundle, runtime_identity(bundle))
    # a re-run after the upload but before the update reuses the object version it uploaded
    env.requirements_version = versions["Versions"][-1]["VersionId"]  # back to BASE
    runtime.ensure("green", green, bundle, runtime_identity(bundle))

    assert len(env.updates) == 2
    assert (
        env.updates[0]["RequirementsS3ObjectVersion"]
        == env.updates[1]["RequirementsS3ObjectVersion"]
    )
    again = green.dags.s3.list_object_versions(Bucket=env.bucket, Prefix="requirements.txt")
    assert len(again["Versions"]) == len(versions["Versions"]) == 2


def test_an_update_mwaa_fails_names_the_environment_and_mwaas_error(
    standin: MwaaStandin, moto_server: MotoServer, tmp_path: Path
) -> None:
    env, green = _environment(standin, moto_server, "northstar-green", BASE)
    env.fail_update = "Could not find a version that satisfies the requirement humanize==99"
    bundle = fakes.bundle(tmp_path, "v2", ["humanize==99"])

    with pytest.raises(MwaaUpdateFailed) as info:
        _runtime().ensure("green", green, bundle, runtime_identity(bundle))

    assert str(info.value) == (
        f"prod MWAA environment {env.name!r} (green): update to runtime "
        f"{runtime_identity(bundle)} failed: it is UPDATE_FAILED, last update FAILED: "
        "Could not find a version that satisfies the requirement humanize==99; the release "
        "was not published to it and nothing was switched"
    )

    # MWAA rolled back instead (AVAILABLE, last update FAILED): a failure all the same
    env.status, env.fail_status = "AVAILABLE", "AVAILABLE"
    with pytest.raises(MwaaUpdateFailed, match=r"it is AVAILABLE, last update FAILED: Could"):
        _runtime().ensure("green", green, bundle, runtime_identity(bundle))


def test_a_change_already_under_way_is_waited_out_and_a_stuck_one_is_bounded(
    standin: MwaaStandin, moto_server: MotoServer, tmp_path: Path
) -> None:
    env, green = _environment(standin, moto_server, "northstar-green", BASE)
    bundle = fakes.bundle(tmp_path, "v2", NEW)
    env.status = "CREATING"  # MWAA is still creating it: no update is sent meanwhile
    with pytest.raises(TimeoutExpired) as info:
        _runtime(update_timeout_s=0.3).ensure("green", green, bundle, runtime_identity(bundle))
    assert str(info.value).startswith(
        f"gave up after 0s waiting for prod MWAA environment {env.name!r} (green) to finish "
        "its current change; last seen: CREATING"
    )
    assert env.updates == []
    env.status = "DELETING"
    with pytest.raises(MwaaUpdateFailed, match=r"cannot take runtime \w+: it is DELETING"):
        _runtime().ensure("green", green, bundle, runtime_identity(bundle))
    assert env.updates == []


def test_a_source_bucket_without_versions_is_named(
    standin: MwaaStandin, moto_server: MotoServer, tmp_path: Path
) -> None:
    env, green = _environment(standin, moto_server, "northstar-green", BASE)
    env.bucket = _bucket(moto_server, versioned=False)
    bundle = fakes.bundle(tmp_path, "v2", NEW)
    with pytest.raises(AirflowError, match=r"the source bucket keeps no object versions"):
        _runtime().ensure("green", green, bundle, runtime_identity(bundle))
    assert env.updates == []


def test_a_runtime_change_goes_to_the_standby_environment_and_the_state_to_s3(
    standin: MwaaStandin, moto_server: MotoServer, tmp_path: Path
) -> None:
    blue_env, _ = _environment(standin, moto_server, "northstar-blue", BASE)
    green_env, _ = _environment(standin, moto_server, "northstar-green", BASE)
    spec = MwaaBlueGreenAirflowSpec.model_validate(
        {
            "kind": "blue_green",
            "blue": _mwaa_block(blue_env, moto_server, standin.endpoint),
            "green": _mwaa_block(green_env, moto_server, standin.endpoint),
            "update_poll_s": 0.01,
        }
    ).resolve(tmp_path, "prod")
    prod = mwaa_blue_green_airflow("prod", spec)

    prod.publish("v1", fakes.bundle(tmp_path, "v1", BASE))
    v2 = fakes.bundle(tmp_path, "v2", NEW)
    prod.publish("v2", v2)

    assert blue_env.updates == [] and len(green_env.updates) == 1
    assert prod.runtime.running("green", prod.green)
    s3 = prod.blue.dags.s3
    key = "release-assets/blue-green/prod.json"
    assert prod.store.where == f"s3://{blue_env.bucket}/{key}"
    state = S3StateObject(aws=moto_server.clients, bucket=blue_env.bucket, key=key).read()
    assert state.releases["v2"] == {"color": "green", "runtime": runtime_identity(v2)}
    assert state.releases["v1"]["color"] == "blue" and state.active == "blue"
    listed = s3.list_objects_v2(Bucket=green_env.bucket, Prefix="dags/releases/v2/")
    assert listed["KeyCount"] > 0  # v2's files are in green's DAGs prefix, not blue's
    assert s3.list_objects_v2(Bucket=blue_env.bucket, Prefix="dags/releases/v2/")["KeyCount"] == 0
    # keep-warm over: nothing is stopped on MWAA (an environment is only ever deleted)
    assert prod.runtime.stop("blue", prod.blue) is False


# -- the S3 state store -------------------------------------------------------------------


@pytest.fixture
def store(moto_server: MotoServer) -> S3StateObject:
    return S3StateObject(
        aws=moto_server.clients, bucket=_bucket(moto_server), key="bg/prod.json", poll_s=0.01
    )


def test_the_state_is_one_json_object_read_and_written_back(store: S3StateObject) -> None:
    assert store.read() == BlueGreenState()
    with store.updating("the prod blue/green state", 5.0) as state:
        state.active = "green"
    assert store.read().active == "green"
    s3 = store.aws.client("s3")
    text = s3.get_object(Bucket=store.bucket, Key=store.key)["Body"].read()
    assert b'"active": "green"' in text
    assert s3.list_objects_v2(Bucket=store.bucket, Prefix="bg/prod.json.lock")["KeyCount"] == 0


def test_concurrent_writers_take_turns_and_lose_no_update(store: S3StateObject) -> None:
    errors: list[BaseException] = []

    def publish(release: str) -> None:
        try:
            with store.updating("the prod blue/green state", 30.0) as state:
                state.releases[release] = {"color": "blue", "runtime": "r"}
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(f"v{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(store.read().releases) == [f"v{i}" for i in range(6)]


def test_a_held_lease_is_waited_for_bounded_and_its_holder_named(store: S3StateObject) -> None:
    s3 = store.aws.client("s3")
    until = utc_now() + timedelta(hours=1)
    lease = f'{{"holder": "worker-7:42:ab", "taken_at": "t0", "expires_at": "{until.isoformat()}"}}'
    s3.put_object(Bucket=store.bucket, Key=store.lock_key, Body=lease.encode())
    with pytest.raises(TimeoutExpired) as info, store.updating("the prod state", 0.2):
        pass
    assert f"s3://{store.bucket}/bg/prod.json.lock is held by worker-7:42:ab" in str(info.value)
    assert "if the step holding it is gone, delete that object" in str(info.value)

    expired = lease.replace(until.isoformat(), (utc_now() - timedelta(seconds=1)).isoformat())
    s3.put_object(Bucket=store.bucket, Key=store.lock_key, Body=expired.encode())
    with store.updating("the prod state", 5.0) as state:  # a dead holder's lease is taken over
        state.active = "green"
    assert store.read().active == "green"


def test_a_writer_that_outlived_its_lease_does_not_overwrite_a_newer_state(
    store: S3StateObject,
) -> None:
    slow = store.model_copy(update={"lease_s": 0.0})  # its lease is over as soon as taken
    failed = pytest.raises(BlueGreenError, match=r"changed while this step held its lease")
    with failed, slow.updating("the prod state", 5.0) as state:
        state.active = "green"
        with store.updating("the prod state", 5.0) as newer:
            newer.releases["v9"] = {"color": "blue", "runtime": "r"}
    assert store.read().active == "blue" and "v9" in store.read().releases


# -- the deployment block ------------------------------------------------------------------


class _Environment(BaseModel):
    """An environment's ``airflow:`` as the deployment file has it (the block under test)."""

    airflow: Annotated[BlueGreenSpec, Field()]


def _block(**colors: Any) -> dict[str, Any]:
    def mwaa(name: str) -> dict[str, Any]:
        return {
            "kind": "mwaa",
            "environment_name": name,
            "aws": {"region": REGION},
            "dags": {"bucket": "northstar-mwaa"},
        }

    block = {"kind": "blue_green", "blue": mwaa("ns-blue"), "green": mwaa("ns-green")}
    return {**block, **colors}


def test_the_blue_green_block_takes_two_mwaa_environments_and_keeps_its_state_in_s3(
    tmp_path: Path,
) -> None:
    spec = _Environment.model_validate({"airflow": _block()}).airflow
    assert isinstance(spec, MwaaBlueGreenAirflowSpec)
    resolved = spec.resolve(tmp_path, "prod")
    assert resolved.state is not None
    assert (resolved.state.bucket, resolved.state.key) == (
        "northstar-mwaa",
        "release-assets/blue-green/prod.json",
    )
    local = {"kind": "local", "port": 18780}
    both_local = _block(blue=local, green={**local, "port": 18781})
    assert isinstance(
        _Environment.model_validate({"airflow": both_local}).airflow, BlueGreenAirflowSpec
    )


@pytest.mark.parametrize(
    ("colors", "problem"),
    [
        (
            {"green": {"kind": "local", "port": 18780}},
            (("airflow", "green", "kind"), "green is kind 'local', blue is kind 'mwaa'"),
        ),
        (
            {"blue": {"kind": "local", "port": 18780}},
            (("airflow", "green", "kind"), "green is kind 'mwaa', blue is kind 'local'"),
        ),
        (
            {
                "green": {
                    "kind": "mwaa",
                    "environment_name": "ns-blue",
                    "aws": {"region": REGION},
                    "dags": {"bucket": "b-1"},
                }
            },
            (("airflow",), "blue and green name the same MWAA environment"),
        ),
        (
            {"requirements_key": "dags/requirements.txt"},
            (("airflow",), "requirements_key and plugins_key must be outside the colors' DAGs"),
        ),
    ],
)
def test_a_wrong_block_is_one_error_naming_the_field(
    colors: dict[str, Any], problem: tuple[tuple[str, ...], str]
) -> None:
    with pytest.raises(ValidationError) as info:
        _Environment.model_validate({"airflow": _block(**colors)})
    (error,) = info.value.errors()
    assert (error["loc"], error["msg"][: len(problem[1])]) == problem
