"""`release-assets deploy iam-policies`: from a deployment file to one role per environment
plus the orchestrator's. Most AWS-shaped tests build the deployment from stand-ins with the
fields the AWS specs have (bypassing the file's validation); the local deployment and the
blue/green MWAA one go through a real file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest
from click.testing import CliRunner
from moto.iam.access_control import IAMPolicy, PermissionResult
from pydantic import BaseModel

from release_assets.cli.main import main
from release_assets.config.aws_specs import AwsConnectionSpec
from release_assets.config.deployment import Deployment, EnvironmentSpec
from tests.core.test_iam_blue_green import deployment_file
from tests.core.test_iam_policies import iam_wildcards
from tests.deployments import write_local_deployment

__all__ = ["iam_wildcards"]  # the fixture: IAM's wildcard and condition rules for moto

AWS = AwsConnectionSpec(region="eu-west-1")


class _S3Store(BaseModel):
    kind: Literal["s3"] = "s3"
    aws: AwsConnectionSpec = AWS
    bucket: str
    prefix: str


class _Dags(BaseModel):
    bucket: str
    prefix: str


class _Mwaa(BaseModel):
    kind: Literal["mwaa"] = "mwaa"
    aws: AwsConnectionSpec = AWS
    environment_name: str
    dags: _Dags


class _AwsSecret(BaseModel):
    aws_secret: str
    key: str | None = None


class _Snowflake(BaseModel):
    kind: Literal["snowflake"] = "snowflake"
    password: _AwsSecret


class _Ssm(BaseModel):
    kind: Literal["ssm"] = "ssm"
    aws: AwsConnectionSpec = AWS
    prefix: str = "/release-assets"


def _aws_deployment() -> Deployment:
    envs = [
        EnvironmentSpec.model_construct(
            name=name,
            airflow=_Mwaa(
                environment_name=f"northstar-{name}",
                dags=_Dags(bucket=f"ns-{name}-mwaa", prefix="dags"),
            ),
            warehouse=_Snowflake(
                password=_AwsSecret(aws_secret=f"northstar/{name}/snowflake", key="password")
            ),
            artifact_store=None,
            feature_flags=_Ssm(),
        )
        for name in ("staging", "prod")
    ]
    return Deployment.model_construct(
        version=1,
        production="prod",
        integration="staging",
        artifact_store=_S3Store(bucket="ns-artifacts", prefix="releases"),
        audit_store=_S3Store(bucket="ns-audit", prefix="audit"),
        environments=envs,
    )


def _run(tmp_path: Path, *args: str) -> Any:
    return CliRunner().invoke(
        main,
        [
            "deploy",
            "iam-policies",
            "--deployment",
            str(tmp_path / "deployment.yaml"),
            "--out",
            str(tmp_path / "iam"),
            *args,
        ],
    )


def test_a_local_deployment_has_no_role_to_write(tmp_path: Path) -> None:
    write_local_deployment(tmp_path / "deployment.yaml", {"staging": 18981, "prod": 18982})
    result = _run(tmp_path, "--account", "prod=222222222222")
    assert result.exit_code == 2
    assert "deployment.yaml" in result.output and "uses no AWS-backed runtime" in result.output


@pytest.fixture
def aws_deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "deployment.yaml").write_text("version: 1\n")
    monkeypatch.setattr(
        "release_assets.cli.deploy_iam.load_deployment", lambda _: _aws_deployment()
    )


@pytest.mark.usefixtures("aws_deployment")
def test_one_role_per_environment_in_its_own_account(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "--account",
        "staging=111111111111",
        "--account",
        "prod=222222222222",
        "--account",
        "orchestrator=333333333333",
        "--compute-logs-bucket",
        "ns-dagster-logs",
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "iam"
    roles = {r["role"]: r for r in json.loads((out / "roles.json").read_text())}
    assert (
        roles["release-assets-staging"]["arn"]
        == "arn:aws:iam::111111111111:role/release-assets-staging"
    )
    assert roles["release-assets-orchestrator"]["account_id"] == "333333333333"
    staging = json.loads((out / "release-assets-staging.policy.json").read_text())
    by_sid = {s["Sid"]: s for s in staging["Statement"]}
    assert by_sid["Secrets"]["Resource"] == [
        "arn:aws:secretsmanager:eu-west-1:111111111111:secret:northstar/staging/snowflake-??????"
    ]
    assert (
        by_sid["FeatureFlags"]["Resource"][0]
        == "arn:aws:ssm:eu-west-1:111111111111:parameter/release-assets/staging"
    )
    assert (
        "arn:aws:airflow:eu-west-1:111111111111:environment/northstar-staging"
        in by_sid["MwaaEnvironment"]["Resource"]
    )
    denied = by_sid["NeverTouchProduction"]["Resource"]
    assert "arn:aws:s3:::ns-prod-mwaa/dags/*" in denied
    assert not any("ns-artifacts" in arn for arn in denied)  # the shared store stays writable
    config = (out / "aws_config").read_text()
    assert (
        "[profile release-assets-prod]\n"
        "role_arn = arn:aws:iam::222222222222:role/release-assets-prod" in config
    )


@pytest.mark.usefixtures("aws_deployment")
def test_an_environment_without_an_account_is_named(tmp_path: Path) -> None:
    result = _run(tmp_path, "--account", "prod=222222222222")
    assert result.exit_code == 2
    assert "'staging'" in result.output and "--account staging=" in result.output


@pytest.mark.usefixtures("aws_deployment")
def test_an_account_id_that_is_not_twelve_digits_is_named(tmp_path: Path) -> None:
    result = _run(tmp_path, "--account", "staging=1111", "--account", "prod=222222222222")
    assert result.exit_code == 2 and "--account staging=1111" in result.output


@pytest.mark.usefixtures("aws_deployment")
def test_an_environment_given_two_accounts_is_refused_naming_both(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "--account", "staging=111111111111",
        "--account", "staging=444444444444",
        "--account", "prod=222222222222",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "staging is given twice (111111111111 and 444444444444)" in result.output
    assert not (tmp_path / "iam").exists(), "nothing is written"


@pytest.mark.usefixtures("aws_deployment", "iam_wildcards")
def test_the_written_roles_reach_what_the_runtimes_read_and_only_the_orchestrator_appends(
    tmp_path: Path,
) -> None:
    result = _run(
        tmp_path,
        "--account",
        "staging=111111111111",
        "--account",
        "prod=222222222222",
        "--account",
        "orchestrator=333333333333",
    )
    assert result.exit_code == 0, result.output

    def decide(role: str, action: str, resource: str, **context: str) -> PermissionResult:
        policy = IAMPolicy((tmp_path / "iam" / f"release-assets-{role}.policy.json").read_text())
        return policy.is_action_permitted(action, resource, incoming_condition_values=context)

    # MwaaAirflow.runtime_changes reads the running requirements/plugins at their versions
    for key in ("requirements.txt", "plugins.zip"):
        resource = f"arn:aws:s3:::ns-staging-mwaa/{key}"
        assert decide("staging", "s3:GetObjectVersion", resource) == PermissionResult.PERMITTED
    # the builds write the deployment-wide artifact store with the orchestrator's own role
    manifest = "arn:aws:s3:::ns-artifacts/releases/manifests/v1.json"
    assert decide("orchestrator", "s3:PutObject", manifest) == PermissionResult.PERMITTED
    record = "arn:aws:s3:::ns-audit/audit/00000002.json"
    once = {"s3:if-none-match": "*"}
    assert decide("orchestrator", "s3:PutObject", record, **once) == PermissionResult.PERMITTED
    assert decide("orchestrator", "s3:PutObject", record) != PermissionResult.PERMITTED
    for env in ("staging", "prod"):
        assert decide(env, "s3:PutObject", record, **once) == PermissionResult.DENIED, env


@pytest.mark.usefixtures("iam_wildcards")
def test_a_blue_green_mwaa_environment_gets_both_colors_and_their_updates(tmp_path: Path) -> None:
    deployment_file(tmp_path / "deployment.yaml")  # a real file: dev, staging, prod blue/green
    accounts = ("dev=444444444444", "staging=111111111111", "prod=222222222222")
    result = _run(tmp_path, *(arg for a in accounts for arg in ("--account", a)))
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines()]
    assert ["release-assets-prod", "arn:aws:iam::222222222222:role/release-assets-prod"] in lines
    policies = {
        env: IAMPolicy((tmp_path / "iam" / f"release-assets-{env}.policy.json").read_text())
        for env in ("staging", "prod")
    }
    for color in ("blue", "green"):
        env = f"arn:aws:airflow:eu-west-1:222222222222:environment/northstar-prod-{color}"
        requirements = f"arn:aws:s3:::ns-prod-{color}-mwaa/runtime/requirements.txt"
        for action, resource in (
            ("airflow:UpdateEnvironment", env),
            ("airflow:GetEnvironment", env),
            ("s3:PutObject", requirements),
        ):
            assert policies["prod"].is_action_permitted(action, resource) == (
                PermissionResult.PERMITTED
            ), (action, resource)
            assert policies["staging"].is_action_permitted(action, resource) == (
                PermissionResult.DENIED
            ), (action, resource)
    staging = "arn:aws:airflow:eu-west-1:111111111111:environment/northstar-staging"
    for env, policy in policies.items():
        assert policy.is_action_permitted("airflow:UpdateEnvironment", staging) != (
            PermissionResult.PERMITTED
        ), env
