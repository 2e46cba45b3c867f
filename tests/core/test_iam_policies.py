"""The generated IAM policies, EVALUATED: moto's IAM policy evaluator (the one moto enforces
requests with; Allow/Deny precedence, action and resource wildcards, conditions) decides each
request; parliament (AWS's action/ARN reference) lints every policy. moto does not implement
``simulate_custom_policy``, so requests are evaluated against the policy documents directly.

moto's matcher turns ``*`` into a regex and leaves the rest unescaped (``?`` breaks it, ``.``
matches any character); the tests give it IAM's wildcard rules instead (``*`` any run, ``?``
one character, everything else literal; actions case-insensitive). Its condition check skips
operators it does not know (``Null``), passes a ``StringEquals`` whose key the request lacks
and denies outright when a condition fails; the tests give it IAM's rules for the operators
the policies use instead (a statement whose condition fails does not apply)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult
from parliament import analyze_policy_string

from release_assets.core.iam_policies import (
    DeploymentResources,
    EnvironmentResources,
    RolePolicy,
    S3Location,
    deployment_policies,
)

STAGING_ACCOUNT, PROD_ACCOUNT, TOOLS_ACCOUNT = "111111111111", "222222222222", "333333333333"
REGION = "eu-west-1"


def iam_match(pattern: str, value: str) -> re.Match[str] | None:
    """IAM's wildcard match of ``value`` against ``pattern`` (resources are case-sensitive,
    actions are not)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = 0 if pattern.startswith("arn:") else re.IGNORECASE
    return re.fullmatch(regex, value, flags)


def iam_conditions(statement: dict[str, Any], incoming: dict[str, str] | None) -> bool:
    """IAM's evaluation of ``statement``'s ``Condition`` against the request's context keys
    (key names case-insensitive): ``Null`` true = the key is absent; ``StringEquals`` = the
    key is present with one of the values. Other operators raise (unused by the policies)."""
    given = {key.lower(): value for key, value in (incoming or {}).items()}
    conditions: dict[str, dict[str, Any]] = statement.get("Condition") or {}
    for operator, keys in conditions.items():
        for key, expected in keys.items():
            wanted = [expected] if isinstance(expected, str) else list(expected)
            actual = given.get(key.lower())
            if operator == "Null":
                holds = (actual is None) == (wanted == ["true"])
            elif operator == "StringEquals":
                holds = actual is not None and actual in wanted
            else:
                raise NotImplementedError(f"condition operator {operator}")
            if not holds:
                return False
    return True


_statement_decides = IAMPolicyStatement.is_action_permitted


def iam_statement(
    self: IAMPolicyStatement,
    action: str,
    resource: str = "*",
    principal: str | None = None,
    incoming_condition_values: dict[str, str] | None = None,
) -> PermissionResult:
    """A statement whose condition does not hold does not apply (moto answers DENIED then,
    even for an Allow on another resource); otherwise moto decides without the condition."""
    if not iam_conditions(self._statement, incoming_condition_values):
        return PermissionResult.NEUTRAL
    bare = IAMPolicyStatement({k: v for k, v in self._statement.items() if k != "Condition"})
    return _statement_decides(bare, action, resource, principal)


@pytest.fixture(autouse=True)
def iam_wildcards() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(IAMPolicyStatement, "_match", staticmethod(iam_match))
        mp.setattr(IAMPolicyStatement, "is_action_permitted", iam_statement)
        yield


def _env(name: str, account: str, artifacts: S3Location | None = None) -> EnvironmentResources:
    return EnvironmentResources(
        name=name,
        account_id=account,
        region=REGION,
        artifacts=(artifacts or S3Location(f"northstar-{name}-artifacts", "releases"),),
        dags=S3Location(f"northstar-{name}-mwaa", "dags"),
        spark=S3Location(f"northstar-{name}-spark", "spark"),
        secret_ids=(f"northstar/{name}/snowflake#private_key", f"northstar/{name}/airflow"),
        ssm_path=f"/release-assets/{name}",
        mwaa_environment=f"northstar-{name}",
        emr_application_id=f"00f{name}app",
        emr_execution_role_arn=f"arn:aws:iam::{account}:role/northstar-{name}-emr-jobs",
        mwaa_runtime_keys=("requirements.txt", "plugins.zip"),
    )


BUILD_STORE = S3Location("northstar-artifacts", "releases")
"""The deployment-wide artifact store (the builds'), shared by the environments or not."""


def _deployment(shared_store: bool = False) -> DeploymentResources:
    store = BUILD_STORE if shared_store else None
    return DeploymentResources(
        environments=(_env("staging", STAGING_ACCOUNT, store), _env("prod", PROD_ACCOUNT, store)),
        production="prod",
        orchestrator_account_id=TOOLS_ACCOUNT,
        audit=S3Location("northstar-audit", "audit"),
        compute_logs=S3Location("northstar-dagster-logs", "dagster-compute-logs"),
        artifacts=(BUILD_STORE,),
    )


def _roles(shared_store: bool = False) -> dict[str, RolePolicy]:
    return {r.role: r for r in deployment_policies(_deployment(shared_store))}


def decide(role: RolePolicy, action: str, resource: str, **context: str) -> PermissionResult:
    return IAMPolicy(json.dumps(role.policy)).is_action_permitted(
        action, resource, incoming_condition_values=context or None
    )


def requests(env: str, account: str) -> list[tuple[str, str, dict[str, str]]]:
    """What a role does on ``env``'s resources when it releases there."""
    secret = f"arn:aws:secretsmanager:{REGION}:{account}:secret:northstar/{env}/airflow-Ab12Cd"
    app = f"arn:aws:emr-serverless:{REGION}:{account}:/applications/00f{env}app"
    return [
        ("s3:PutObject", f"arn:aws:s3:::northstar-{env}-artifacts/releases/v1/manifest.json", {}),
        ("s3:GetObject", f"arn:aws:s3:::northstar-{env}-artifacts/releases/blobs/ab12", {}),
        ("s3:PutObject", f"arn:aws:s3:::northstar-{env}-mwaa/dags/current.json", {}),
        ("s3:DeleteObject", f"arn:aws:s3:::northstar-{env}-mwaa/dags/releases/v0/a.py", {}),
        ("s3:PutObject", f"arn:aws:s3:::northstar-{env}-spark/spark/releases/v1/job.py", {}),
        # MwaaAirflow.runtime_changes: the running requirements/plugins at their versions
        ("s3:GetObjectVersion", f"arn:aws:s3:::northstar-{env}-mwaa/requirements.txt", {}),
        ("s3:GetObjectVersion", f"arn:aws:s3:::northstar-{env}-mwaa/plugins.zip", {}),
        ("secretsmanager:GetSecretValue", secret, {}),
        (
            "ssm:PutParameter",
            f"arn:aws:ssm:{REGION}:{account}:parameter/release-assets/{env}/f",
            {},
        ),
        (
            "airflow:GetEnvironment",
            f"arn:aws:airflow:{REGION}:{account}:environment/northstar-{env}",
            {},
        ),
        (
            "airflow:InvokeRestApi",
            f"arn:aws:airflow:{REGION}:{account}:role/northstar-{env}/Op",
            {},
        ),
        ("emr-serverless:StartJobRun", app, {}),
        ("emr-serverless:GetJobRun", f"{app}/jobruns/00abc", {}),
        (
            "iam:PassRole",
            f"arn:aws:iam::{account}:role/northstar-{env}-emr-jobs",
            {"iam:PassedToService": "emr-serverless.amazonaws.com"},
        ),
    ]


@pytest.mark.parametrize("env,account", [("staging", STAGING_ACCOUNT), ("prod", PROD_ACCOUNT)])
def test_an_environment_role_may_do_what_a_release_does_there(env: str, account: str) -> None:
    role = _roles()[f"release-assets-{env}"]
    assert role.arn == f"arn:aws:iam::{account}:role/release-assets-{env}"
    for action, resource, context in requests(env, account):
        assert decide(role, action, resource, **context) == PermissionResult.PERMITTED, (
            action,
            resource,
        )


@pytest.mark.parametrize("shared_store", [False, True])
def test_the_staging_role_cannot_touch_any_production_resource(shared_store: bool) -> None:
    staging = _roles(shared_store)["release-assets-staging"]
    for action, resource, context in requests("prod", PROD_ACCOUNT):
        if shared_store and "-artifacts/" in resource:
            continue  # prod has no artifact store of its own then (the shared one is below)
        # Not merely unallowed: explicitly denied, whatever else is attached to the role.
        assert decide(staging, action, resource, **context) == PermissionResult.DENIED, (
            action,
            resource,
        )
    prod_role = f"arn:aws:iam::{PROD_ACCOUNT}:role/release-assets-prod"
    assert decide(staging, "sts:AssumeRole", prod_role) == PermissionResult.DENIED


def test_the_production_role_reaches_nothing_of_staging() -> None:
    prod = _roles()["release-assets-prod"]
    for action, resource, context in requests("staging", STAGING_ACCOUNT):
        assert decide(prod, action, resource, **context) != PermissionResult.PERMITTED, resource


def test_a_shared_artifact_store_stays_writable_by_every_environment() -> None:
    roles = _roles(shared_store=True)
    key = "arn:aws:s3:::northstar-artifacts/releases/v1/manifest.json"
    for name in ("release-assets-staging", "release-assets-prod"):
        assert decide(roles[name], "s3:PutObject", key) == PermissionResult.PERMITTED


AUDIT_RECORD = "arn:aws:s3:::northstar-audit/audit/000042.json"
AUDIT_HEAD = "arn:aws:s3:::northstar-audit/audit/HEAD"
IF_NONE_MATCH = {"s3:if-none-match": "*"}
IF_MATCH = {"s3:if-match": '"9b2cf535f27731c974343645a3985328"'}


def test_no_role_can_undo_a_locked_object() -> None:
    release = "arn:aws:s3:::northstar-prod-artifacts/releases/v1/manifest.json"
    build = "arn:aws:s3:::northstar-artifacts/releases/v1/manifest.json"
    for role in _roles().values():
        for resource in (AUDIT_RECORD, AUDIT_HEAD, release, build):
            for action in (
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
                "s3:BypassGovernanceRetention",
            ):
                assert decide(role, action, resource) == PermissionResult.DENIED, (
                    role.role,
                    action,
                )
        bucket = "arn:aws:s3:::northstar-audit"
        for action in ("s3:PutBucketObjectLockConfiguration", "s3:PutBucketVersioning"):
            assert decide(role, action, bucket) == PermissionResult.DENIED
        text = json.dumps(role.policy)
        assert '"Effect": "Allow", "Action": ["s3:BypassGovernanceRetention' not in text


def test_only_the_orchestrator_appends_to_the_audit_trail_and_only_conditionally() -> None:
    roles = _roles()
    orchestrator = roles["release-assets-orchestrator"]
    # S3AuditStore.append: a new record with If-None-Match: *, HEAD with If-Match on its ETag
    # (the first HEAD with If-None-Match), reading the trail back.
    for resource, context in (
        (AUDIT_RECORD, IF_NONE_MATCH),
        (AUDIT_HEAD, IF_MATCH),
        (AUDIT_HEAD, IF_NONE_MATCH),
    ):
        assert decide(orchestrator, "s3:PutObject", resource, **context) == (
            PermissionResult.PERMITTED
        ), (resource, context)
    for action in ("s3:GetObject", "s3:GetObjectVersion", "s3:PutObjectRetention"):
        assert decide(orchestrator, action, AUDIT_RECORD) == PermissionResult.PERMITTED
    bucket = "arn:aws:s3:::northstar-audit"
    assert decide(orchestrator, "s3:ListBucketVersions", bucket) == PermissionResult.PERMITTED
    # A plain PutObject would overwrite a record (a new version, even of the same bytes:
    # the trail is then broken for the retention); If-Match on a record would replace it.
    assert decide(orchestrator, "s3:PutObject", AUDIT_RECORD) != PermissionResult.PERMITTED
    assert (
        decide(orchestrator, "s3:PutObject", AUDIT_RECORD, **IF_MATCH) != PermissionResult.PERMITTED
    )
    assert decide(orchestrator, "s3:PutObject", AUDIT_HEAD) != PermissionResult.PERMITTED
    # An environment role cannot forge record N+1 or move HEAD, whatever is attached to it.
    for name in ("release-assets-staging", "release-assets-prod"):
        for resource, context in ((AUDIT_RECORD, IF_NONE_MATCH), (AUDIT_HEAD, IF_MATCH)):
            for action in ("s3:PutObject", "s3:PutObjectRetention"):
                assert decide(roles[name], action, resource, **context) == (
                    PermissionResult.DENIED
                ), (name, action, resource)


def test_the_orchestrator_uses_the_deployment_artifact_store() -> None:
    orchestrator = _roles()["release-assets-orchestrator"]
    manifest = "arn:aws:s3:::northstar-artifacts/releases/manifests/v1.json"
    for action in ("s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"):
        assert decide(orchestrator, action, manifest) == PermissionResult.PERMITTED, action
    bucket = "arn:aws:s3:::northstar-artifacts"
    assert decide(orchestrator, "s3:ListBucket", bucket) == PermissionResult.PERMITTED
    outside = "arn:aws:s3:::northstar-artifacts/other/x.json"
    assert decide(orchestrator, "s3:PutObject", outside) != PermissionResult.PERMITTED


def test_an_mwaa_role_reads_only_the_requirements_and_plugins_of_its_bucket() -> None:
    staging = _roles()["release-assets-staging"]
    bucket = "arn:aws:s3:::northstar-staging-mwaa"
    for key in ("requirements.txt", "plugins.zip"):
        for action in ("s3:GetObject", "s3:GetObjectVersion"):
            assert decide(staging, action, f"{bucket}/{key}") == PermissionResult.PERMITTED
        assert decide(staging, "s3:PutObject", f"{bucket}/{key}") != PermissionResult.PERMITTED
    assert decide(staging, "s3:GetObject", f"{bucket}/startup.sh") != PermissionResult.PERMITTED


def test_the_orchestrator_only_assumes_the_environment_roles() -> None:
    orchestrator = _roles()["release-assets-orchestrator"]
    assert orchestrator.arn == f"arn:aws:iam::{TOOLS_ACCOUNT}:role/release-assets-orchestrator"
    for account, env in ((STAGING_ACCOUNT, "staging"), (PROD_ACCOUNT, "prod")):
        role = f"arn:aws:iam::{account}:role/release-assets-{env}"
        assert decide(orchestrator, "sts:AssumeRole", role) == PermissionResult.PERMITTED
    for action, resource, context in requests("prod", PROD_ACCOUNT):
        assert decide(orchestrator, action, resource, **context) != PermissionResult.PERMITTED
    logs = "arn:aws:s3:::northstar-dagster-logs/dagster-compute-logs/run/step.out"
    assert decide(orchestrator, "s3:PutObject", logs) == PermissionResult.PERMITTED
    trust = orchestrator.trust["Statement"][0]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}


def test_an_environment_role_trusts_only_the_orchestrator_role() -> None:
    staging = _roles()["release-assets-staging"]
    (statement,) = staging.trust["Statement"]
    assert statement["Principal"] == {
        "AWS": f"arn:aws:iam::{TOOLS_ACCOUNT}:role/release-assets-orchestrator"
    }


def _findings(policy: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f.issue, str(f.detail)) for f in analyze_policy_string(json.dumps(policy)).findings]


def test_parliament_finds_nothing_wrong_in_any_policy() -> None:
    for role in _roles().values():
        assert _findings(role.policy) == [], role.role


def test_parliament_would_name_a_wrong_resource_format() -> None:
    bad = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "airflow:InvokeRestApi",
                "Resource": f"arn:aws:airflow:{REGION}:{PROD_ACCOUNT}:environment/northstar-prod",
            }
        ],
    }
    assert [issue for issue, _ in _findings(bad)] == ["RESOURCE_MISMATCH"]
