"""AwsSecretsManager against moto in server mode: references, caching and rotation, and
every failure as one line naming the environment and the reference, never the value."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from release_assets.config.aws_service_specs import AwsSecretsManagerSpec
from release_assets.config.aws_specs import AwsConnectionSpec
from release_assets.runtimes.secrets.aws import (
    AwsSecretNotFound,
    AwsSecretsManager,
    SecretsBackendError,
    clear_cache,
)
from release_assets.runtimes.secrets.base import SecretNotFound
from tests.aws_server import REGION, MotoServer, free_port
from tests.runtimes.secrets.moto_auth import credentials_checked, iam_user_without_policies
from tests.runtimes.silent_endpoint import silent_endpoint

PASSWORD = "pw-7f3c9e1d-planted"  # a value no message may contain


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


def _backend(server: MotoServer, cache_seconds: int = 300, **aws: object) -> AwsSecretsManager:
    spec = AwsSecretsManagerSpec(
        kind="aws_secrets_manager",
        aws=AwsConnectionSpec.model_validate(
            {"region": REGION, "endpoint_url": server.endpoint, **aws}
        ),
        cache_seconds=cache_seconds,
    )
    return AwsSecretsManager.of(spec, "prod")


def _secret(server: MotoServer, value: str) -> str:
    name = f"prod/{server.unique('warehouse')}"
    server.clients.client("secretsmanager").create_secret(Name=name, SecretString=value)
    return name


def _assert_one_line_without_value(message: str, reference: str) -> None:
    assert "\n" not in message
    assert "environment prod" in message and repr(reference) in message
    assert PASSWORD not in message and PASSWORD[:8] not in message


def test_a_reference_reads_the_whole_secret_or_one_json_field(moto_server: MotoServer) -> None:
    plain = _secret(moto_server, PASSWORD)
    doc = _secret(moto_server, json.dumps({"user": "svc", "password": PASSWORD, "port": 5432}))
    backend = _backend(moto_server)

    assert backend.resolve(plain) == PASSWORD
    assert backend.resolve(f"{doc}#password") == PASSWORD
    assert backend.resolve(f"{doc}#user") == "svc"
    assert backend.resolve(f"{doc}#port") == "5432"


def test_values_are_reused_until_forgotten_then_the_rotated_value_is_read(
    moto_server: MotoServer,
) -> None:
    name = _secret(moto_server, "before-rotation")
    backend = _backend(moto_server)
    assert backend.resolve(name) == "before-rotation"

    moto_server.clients.client("secretsmanager").put_secret_value(
        SecretId=name, SecretString="after-rotation"
    )

    assert backend.resolve(name) == "before-rotation"  # served from the process cache
    backend.forget(name)
    assert backend.resolve(name) == "after-rotation"


def test_without_a_cache_every_resolve_reads_awscurrent(moto_server: MotoServer) -> None:
    name = _secret(moto_server, "before-rotation")
    backend = _backend(moto_server, cache_seconds=0)
    assert backend.resolve(name) == "before-rotation"
    moto_server.clients.client("secretsmanager").put_secret_value(
        SecretId=name, SecretString="after-rotation"
    )
    assert backend.resolve(name) == "after-rotation"


def test_a_missing_secret_is_secret_not_found_naming_it(moto_server: MotoServer) -> None:
    reference = f"prod/{moto_server.unique('absent')}#password"
    with pytest.raises(SecretNotFound) as info:
        _backend(moto_server).resolve(reference)
    assert isinstance(info.value, AwsSecretNotFound)
    _assert_one_line_without_value(str(info.value), reference)
    assert "ResourceNotFoundException" in str(info.value)
    assert moto_server.endpoint in str(info.value)


def test_a_missing_field_names_the_field_but_no_other_part_of_the_secret(
    moto_server: MotoServer,
) -> None:
    doc = _secret(moto_server, json.dumps({"password": PASSWORD}))
    with pytest.raises(AwsSecretNotFound) as info:
        _backend(moto_server).resolve(f"{doc}#passwrd")
    _assert_one_line_without_value(str(info.value), f"{doc}#passwrd")
    assert "has no field 'passwrd'" in str(info.value)
    assert "'password'" not in str(info.value)  # the secret's own keys are not listed


def test_a_field_of_a_secret_that_is_not_json_is_refused_without_showing_it(
    moto_server: MotoServer,
) -> None:
    plain = _secret(moto_server, PASSWORD)
    with pytest.raises(SecretsBackendError) as info:
        _backend(moto_server).resolve(f"{plain}#password")
    _assert_one_line_without_value(str(info.value), f"{plain}#password")
    assert "is not JSON" in str(info.value)


def test_a_field_of_a_json_array_is_refused(moto_server: MotoServer) -> None:
    doc = _secret(moto_server, json.dumps([PASSWORD]))
    with pytest.raises(SecretsBackendError) as info:
        _backend(moto_server).resolve(f"{doc}#password")
    _assert_one_line_without_value(str(info.value), f"{doc}#password")
    assert "a JSON list, not an object" in str(info.value)


def test_an_unreachable_endpoint_is_named(moto_server: MotoServer) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    backend = _backend(moto_server, endpoint_url=dead, max_attempts=1)
    with pytest.raises(SecretsBackendError) as info:
        backend.resolve("prod/warehouse#password")
    _assert_one_line_without_value(str(info.value), "prod/warehouse#password")
    assert f"{dead} is unreachable" in str(info.value)


def test_wrong_credentials_are_reported_as_refused(moto_server: MotoServer) -> None:
    name = _secret(moto_server, PASSWORD)
    backend = _backend(moto_server, max_attempts=1)
    with credentials_checked(moto_server), pytest.raises(SecretsBackendError) as info:
        backend.resolve(name)  # the session's credentials are no IAM user's
    _assert_one_line_without_value(str(info.value), name)
    assert "the AWS credentials were rejected (InvalidClientTokenId)" in str(info.value)


def test_access_denied_is_reported(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _secret(moto_server, PASSWORD)
    key_id, key_secret = iam_user_without_policies(moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key_secret)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    backend = _backend(moto_server, max_attempts=1)
    with credentials_checked(moto_server), pytest.raises(SecretsBackendError) as info:
        backend.resolve(name)
    _assert_one_line_without_value(str(info.value), name)
    assert "AccessDenied" in str(info.value)
    assert key_secret not in str(info.value)


def test_a_silent_endpoint_fails_after_the_clients_read_timeout(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bound comes from AwsClients (not botocore's 60 s); lowered so the test is quick.
    monkeypatch.setattr("release_assets.runtimes.aws.READ_TIMEOUT_S", 0.5)
    with silent_endpoint() as endpoint:
        backend = _backend(moto_server, endpoint_url=endpoint, max_attempts=1)
        with pytest.raises(SecretsBackendError) as info:
            backend.resolve("prod/warehouse#password")
    _assert_one_line_without_value(str(info.value), "prod/warehouse#password")
    assert f"{endpoint} did not answer within 0.5s" in str(info.value)


def test_a_missing_aws_profile_is_named_without_a_traceback(moto_server: MotoServer) -> None:
    backend = _backend(moto_server, profile="no-such-profile-x1")
    with pytest.raises(SecretsBackendError) as info:
        backend.resolve("prod/warehouse#password")
    _assert_one_line_without_value(str(info.value), "prod/warehouse#password")
    assert "no-such-profile-x1" in str(info.value) and "aws.profile" in str(info.value)
