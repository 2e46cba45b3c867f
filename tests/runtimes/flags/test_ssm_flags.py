"""SsmFlagStore's own behaviour and failures, against moto in server mode: each failure one
line naming the environment, the flags path and the endpoint."""

from __future__ import annotations

import pytest

from release_assets.config.aws_service_specs import SsmFlagsSpec
from release_assets.config.aws_specs import AwsConnectionSpec
from release_assets.runtimes.flags.ssm import FlagParameterError, FlagStoreError, SsmFlagStore
from tests.aws_server import REGION, MotoServer, free_port
from tests.runtimes.secrets.moto_auth import credentials_checked
from tests.runtimes.silent_endpoint import silent_endpoint


def _store(server: MotoServer, **aws: object) -> SsmFlagStore:
    spec = SsmFlagsSpec(
        kind="ssm",
        aws=AwsConnectionSpec.model_validate(
            {"region": REGION, "endpoint_url": server.endpoint, **aws}
        ),
        prefix=f"/{server.unique('flags')}",
    )
    return SsmFlagStore.of(spec, "prod")


def test_flags_are_string_parameters_under_prefix_and_environment(
    moto_server: MotoServer,
) -> None:
    store = _store(moto_server)
    store.set_flag("new_revenue_model", True)
    parameter = moto_server.clients.client("ssm").get_parameter(
        Name=f"{store.prefix}/prod/new_revenue_model"
    )["Parameter"]
    assert (parameter["Type"], parameter["Value"]) == ("String", "true")


def test_parameters_below_a_flag_path_are_not_flags(moto_server: MotoServer) -> None:
    store = _store(moto_server)
    moto_server.clients.client("ssm").put_parameter(
        Name=f"{store.prefix}/prod/nested/thing", Value="maybe", Type="String"
    )
    store.set_flag("new_revenue_model", False)
    assert store.flags() == {"new_revenue_model": False}


def test_a_secure_string_under_the_path_is_refused_without_its_value(
    moto_server: MotoServer,
) -> None:
    store = _store(moto_server)
    name = f"{store.prefix}/prod/api_token"
    moto_server.clients.client("ssm").put_parameter(
        Name=name, Value="s3cr3t-value", Type="SecureString"
    )
    with pytest.raises(FlagParameterError) as info:
        store.flags()
    assert f"environment prod: feature flag parameter {name} is a SecureString" in str(info.value)
    assert "s3cr3t-value" not in str(info.value)


def test_a_flag_name_ssm_cannot_hold_is_refused(moto_server: MotoServer) -> None:
    with pytest.raises(FlagParameterError) as info:
        _store(moto_server).set_flag("new/revenue model", True)
    assert "environment prod: feature flag name 'new/revenue model'" in str(info.value)


def test_an_unreachable_endpoint_is_named(moto_server: MotoServer) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    store = _store(moto_server, endpoint_url=dead, max_attempts=1)
    with pytest.raises(FlagStoreError) as info:
        store.flags()
    message = str(info.value)
    assert message.startswith(f"environment prod: feature flags ssm:{store.path} (reading flags)")
    assert f"{dead} is unreachable" in message and "\n" not in message


def test_wrong_credentials_are_reported_as_refused(moto_server: MotoServer) -> None:
    store = _store(moto_server, max_attempts=1)
    with credentials_checked(moto_server), pytest.raises(FlagStoreError) as info:
        store.set_flag("new_revenue_model", True)
    message = str(info.value)
    assert message.startswith(
        f"environment prod: feature flags ssm:{store.path} (setting new_revenue_model)"
    )
    assert "the AWS credentials were rejected (InvalidClientTokenId)" in message
    assert moto_server.endpoint in message and "\n" not in message


def test_a_silent_endpoint_fails_after_the_clients_read_timeout(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bound comes from AwsClients (not botocore's 60 s); lowered so the test is quick.
    monkeypatch.setattr("release_assets.runtimes.aws.READ_TIMEOUT_S", 0.5)
    with silent_endpoint() as endpoint:
        store = _store(moto_server, endpoint_url=endpoint, max_attempts=1)
        with pytest.raises(FlagStoreError) as info:
            store.flags()
    message = str(info.value)
    assert message.startswith(f"environment prod: feature flags ssm:{store.path} (reading flags)")
    assert f"{endpoint} did not answer within 0.5s" in message and "\n" not in message
