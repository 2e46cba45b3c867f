"""Secret references in the deployment file: the Secrets Manager form beside the environment
variable one, the string a backend resolves, and refusals that never echo a value; the spec
blocks of the AWS secrets backend and SSM flag store."""

from __future__ import annotations

from typing import Literal

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from release_assets.config import SecretRef
from release_assets.config.aws_service_specs import AwsSecretsManagerSpec, SsmFlagsSpec
from release_assets.config.deployment import deployment_problems

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/warehouse-AbCdEf"


class _Warehouse(BaseModel):
    """Stands for a production kind with a credential field."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["future"]
    password: SecretRef


def _ref(block: str) -> SecretRef:
    return _Warehouse.model_validate(yaml.safe_load(f"kind: future\npassword: {block}\n")).password


def _problems(password: object) -> list[str]:
    raw = {"kind": "future", "password": password}
    with pytest.raises(ValidationError) as info:
        _Warehouse.model_validate(raw)
    return deployment_problems(info.value, raw)


@pytest.mark.parametrize(
    ("block", "kind", "reference"),
    [
        ("{env: WAREHOUSE_PASSWORD}", "env", "WAREHOUSE_PASSWORD"),
        ("{aws_secret: prod/warehouse}", "aws_secret", "prod/warehouse"),
        ("{aws_secret: prod/warehouse, key: password}", "aws_secret", "prod/warehouse#password"),
        (f"{{aws_secret: '{ARN}', key: private_key}}", "aws_secret", f"{ARN}#private_key"),
    ],
)
def test_each_form_gives_the_reference_its_backend_resolves(
    block: str, kind: str, reference: str
) -> None:
    ref = _ref(block)
    assert (ref.kind, ref.reference) == (kind, reference)


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        (
            {"env": "A_VAR", "aws_secret": "prod/warehouse"},
            "password: write exactly one of {env: VARIABLE_NAME} and {aws_secret: SECRET_ID} "
            "(optionally with key: FIELD)",
        ),
        (
            {},
            "password: write exactly one of {env: VARIABLE_NAME} and {aws_secret: SECRET_ID} "
            "(optionally with key: FIELD)",
        ),
        (
            {"env": "A_VAR", "key": "password"},
            "password: key names a field of an aws_secret; it cannot go with env",
        ),
        (
            {"aws_secret": "hunter2 value!"},
            "password.aws_secret: must be the NAME or ARN of a Secrets Manager secret (letters, "
            "digits and /_+=.@-, at most 512 characters), never the secret itself",
        ),
        (
            {"aws_secret": "prod/warehouse", "key": "hunter2 value!"},
            "password.key: must be the NAME of a field of the secret's JSON object (letters, "
            "digits and _.-, at most 128 characters), never the secret itself",
        ),
        (
            {"env": "hunter2 value!"},
            "password.env: must be the NAME of an environment variable (A-Z, 0-9 and _, not "
            "starting with a digit), never the secret itself",
        ),
        (
            "hunter2 value!",
            "password: secret values never go in the deployment file; write a reference to "
            "where the value is kept instead, e.g. {env: WAREHOUSE_PASSWORD}",
        ),
    ],
)
def test_a_malformed_reference_is_refused_without_echoing_it(
    password: object, expected: str
) -> None:
    problems = _problems(password)
    assert problems == [expected]
    assert not any("hunter2" in p for p in problems)


def test_an_unknown_field_of_a_reference_is_named_not_shown() -> None:
    problems = _problems({"aws_secret": "prod/warehouse", "value": "hunter2"})
    assert problems == ["password.value: Extra inputs are not permitted"]


def test_the_aws_secrets_backend_block_parses_with_its_defaults() -> None:
    spec = AwsSecretsManagerSpec.model_validate(
        yaml.safe_load("kind: aws_secrets_manager\naws: {region: eu-west-1}\n")
    )
    assert (spec.aws.region, spec.aws.endpoint_url, spec.cache_seconds) == ("eu-west-1", None, 300)


def test_the_ssm_flags_block_parses_with_its_default_prefix() -> None:
    spec = SsmFlagsSpec.model_validate(yaml.safe_load("kind: ssm\naws: {region: eu-west-1}\n"))
    assert spec.prefix == "/release-assets"


@pytest.mark.parametrize("prefix", ["release-assets", "/release assets", "/"])
def test_an_ssm_prefix_that_is_not_an_absolute_path_is_refused(prefix: str) -> None:
    with pytest.raises(ValidationError) as info:
        SsmFlagsSpec.model_validate(
            {"kind": "ssm", "aws": {"region": "eu-west-1"}, "prefix": prefix}
        )
    assert info.value.errors()[0]["loc"] == ("prefix",)


def test_a_cache_longer_than_an_hour_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        AwsSecretsManagerSpec.model_validate(
            {"kind": "aws_secrets_manager", "aws": {"region": "eu-west-1"}, "cache_seconds": 7200}
        )
    assert info.value.errors()[0]["loc"] == ("cache_seconds",)
