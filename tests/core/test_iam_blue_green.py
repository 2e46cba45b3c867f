"""The IAM role of a blue/green MWAA environment, from a real deployment file: both colors are
driven and updated, the state object is written only conditionally, a plain MWAA
environment gets no update, and the production separation holds for both colors. Requests
are evaluated by moto's IAM evaluator with IAM's wildcard and condition rules
(``tests/core/test_iam_policies.py``); parliament lints every policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from moto.iam.access_control import PermissionResult
from parliament import analyze_policy_string

from release_assets.config.deployment import load_deployment
from release_assets.core.iam_policies import RolePolicy, deployment_policies
from release_assets.core.iam_resources import deployment_resources
from tests.core.test_iam_policies import decide, iam_wildcards

__all__ = ["iam_wildcards"]  # autouse: IAM's wildcard and condition rules for moto

REGION = "eu-west-1"
ACCOUNTS = {"dev": "444444444444", "staging": "111111111111", "prod": "222222222222"}
LOCK = {"mode": "COMPLIANCE", "retention_days": 30}
IF_NONE_MATCH = {"s3:if-none-match": "*"}
IF_MATCH = {"s3:if-match": '"9b2cf535f27731c974343645a3985328"'}


def _mwaa(name: str) -> dict[str, Any]:
    return {
        "kind": "mwaa",
        "environment_name": f"northstar-{name}",
        "aws": {"region": REGION, "profile": "release-assets-x"},
        "dags": {"bucket": f"ns-{name}-mwaa", "prefix": "dags"},
    }


def deployment_file(path: Path, state: dict[str, str] | None = None) -> Path:
    """dev and staging on one MWAA environment each, prod blue/green on two (its runtime
    objects under ``runtime/``; its state at the default place unless ``state``)."""
    prod: dict[str, Any] = {
        "kind": "blue_green",
        "blue": _mwaa("prod-blue"),
        "green": _mwaa("prod-green"),
        "requirements_key": "runtime/requirements.txt",
        "plugins_key": "runtime/plugins.zip",
    }
    if state:
        prod["state"] = state
    store = {"kind": "s3", "aws": {"region": REGION}, "object_lock": LOCK}
    config = {
        "version": 1,
        "production": "prod",
        "integration": "staging",
        "artifact_store": {**store, "bucket": "ns-artifacts", "prefix": "releases"},
        "audit_store": {**store, "bucket": "ns-audit", "prefix": "audit"},
        "environments": [
            {"name": name, "airflow": airflow, "warehouse": {"kind": "duckdb"}}
            for name, airflow in (
                ("dev", _mwaa("dev")),
                ("staging", _mwaa("staging")),
                ("prod", prod),
            )
        ],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _roles(tmp_path: Path, state: dict[str, str] | None = None) -> dict[str, RolePolicy]:
    deployment = load_deployment(deployment_file(tmp_path / "deployment.yaml", state))
    resources = deployment_resources(deployment, ACCOUNTS)
    return {r.role.removeprefix("release-assets-"): r for r in deployment_policies(resources)}


def mwaa_requests(name: str, account: str) -> list[tuple[str, str, dict[str, str]]]:
    """What a role does to the MWAA environment ``northstar-<name>`` as a plain ``kind: mwaa``
    environment: DAGs, canaries, REST, reading the runtime objects it runs."""
    env = f"arn:aws:airflow:{REGION}:{account}:environment/northstar-{name}"
    bucket = f"arn:aws:s3:::ns-{name}-mwaa"
    return [
        ("airflow:GetEnvironment", env, {}),
        (
            "airflow:InvokeRestApi",
            f"arn:aws:airflow:{REGION}:{account}:role/northstar-{name}/Op",
            {},
        ),
        ("s3:PutObject", f"{bucket}/dags/current.json", {}),
        ("s3:DeleteObject", f"{bucket}/dags/canary__v2.py", {}),
        ("s3:GetObjectVersion", f"{bucket}/requirements.txt", {}),
        ("s3:GetObjectVersion", f"{bucket}/plugins.zip", {}),
        ("s3:ListBucket", bucket, {}),
    ]


def color_requests(color: str) -> list[tuple[str, str, dict[str, str]]]:
    """What MwaaColorRuntime does to a color on top of the plain requests: upload the
    release's requirements and plugins, read them back, update the environment."""
    account = ACCOUNTS["prod"]
    bucket = f"arn:aws:s3:::ns-prod-{color}-mwaa"
    return [
        *mwaa_requests(f"prod-{color}", account),
        (
            "airflow:UpdateEnvironment",
            f"arn:aws:airflow:{REGION}:{account}:environment/northstar-prod-{color}",
            {},
        ),
        ("s3:PutObject", f"{bucket}/runtime/requirements.txt", {}),
        ("s3:PutObject", f"{bucket}/runtime/plugins.zip", {}),
        ("s3:GetObject", f"{bucket}/runtime/requirements.txt", {}),
        ("s3:GetObjectVersion", f"{bucket}/runtime/plugins.zip", {}),
    ]


STATE = "arn:aws:s3:::ns-prod-blue-mwaa/release-assets/blue-green/prod.json"
LEASE = f"{STATE}.lock"


def state_requests() -> list[tuple[str, str, dict[str, str]]]:
    """What S3StateObject does: read the state and its lease, create or replace them only
    conditionally, release the lease."""
    return [
        ("s3:GetObject", STATE, {}),
        ("s3:GetObject", LEASE, {}),
        ("s3:PutObject", LEASE, IF_NONE_MATCH),
        ("s3:PutObject", LEASE, IF_MATCH),
        ("s3:PutObject", STATE, IF_NONE_MATCH),
        ("s3:PutObject", STATE, IF_MATCH),
        ("s3:DeleteObject", LEASE, {}),
    ]


def _allowed(role: RolePolicy, requests: list[tuple[str, str, dict[str, str]]]) -> None:
    for action, resource, context in requests:
        assert decide(role, action, resource, **context) == PermissionResult.PERMITTED, (
            role.role,
            action,
            resource,
        )


def test_the_blue_green_role_drives_and_updates_both_colors(tmp_path: Path) -> None:
    prod = _roles(tmp_path)["prod"]
    _allowed(prod, color_requests("blue") + color_requests("green") + state_requests())
    # the state's bucket is listable, so that a state not written yet reads as missing
    bucket = "arn:aws:s3:::ns-prod-blue-mwaa"
    assert decide(prod, "s3:ListBucket", bucket) == PermissionResult.PERMITTED


def test_the_state_is_never_overwritten_unconditionally_nor_deleted(tmp_path: Path) -> None:
    prod = _roles(tmp_path)["prod"]
    for resource in (STATE, LEASE):
        assert decide(prod, "s3:PutObject", resource) != PermissionResult.PERMITTED, resource
    assert decide(prod, "s3:DeleteObject", STATE) != PermissionResult.PERMITTED
    # no write anywhere else in the source bucket outside the DAGs prefix and the two keys
    other = "arn:aws:s3:::ns-prod-green-mwaa/startup.sh"
    for action in ("s3:PutObject", "s3:GetObject"):
        assert decide(prod, action, other) != PermissionResult.PERMITTED, action


def test_a_state_in_a_bucket_of_its_own_is_reached_there(tmp_path: Path) -> None:
    prod = _roles(tmp_path, {"bucket": "ns-release-state", "key": "blue-green/prod.json"})["prod"]
    state = "arn:aws:s3:::ns-release-state/blue-green/prod.json"
    _allowed(
        prod,
        [
            ("s3:GetObject", state, {}),
            ("s3:PutObject", state, IF_MATCH),
            ("s3:PutObject", f"{state}.lock", IF_NONE_MATCH),
            ("s3:DeleteObject", f"{state}.lock", {}),
            ("s3:ListBucket", "arn:aws:s3:::ns-release-state", {}),
        ],
    )
    assert decide(prod, "s3:GetObject", STATE) != PermissionResult.PERMITTED  # default unused


def test_a_plain_mwaa_environment_gets_no_environment_update(tmp_path: Path) -> None:
    roles = _roles(tmp_path)
    for name in ("dev", "staging"):
        role, account = roles[name], ACCOUNTS[name]
        _allowed(role, mwaa_requests(name, account))
        env = f"arn:aws:airflow:{REGION}:{account}:environment/northstar-{name}"
        assert decide(role, "airflow:UpdateEnvironment", env) != PermissionResult.PERMITTED
        requirements = f"arn:aws:s3:::ns-{name}-mwaa/requirements.txt"
        assert decide(role, "s3:PutObject", requirements) != PermissionResult.PERMITTED
        assert "airflow:UpdateEnvironment" not in json.dumps(role.policy), name


def test_the_blue_green_role_reaches_nothing_of_the_other_environments(tmp_path: Path) -> None:
    prod = _roles(tmp_path)["prod"]
    for name in ("dev", "staging"):
        account = ACCOUNTS[name]
        env = f"arn:aws:airflow:{REGION}:{account}:environment/northstar-{name}"
        others = [*mwaa_requests(name, account), ("airflow:UpdateEnvironment", env, {})]
        for action, resource, context in others:
            assert decide(prod, action, resource, **context) != PermissionResult.PERMITTED, (
                action,
                resource,
            )


def test_other_roles_are_denied_both_colors_and_the_state(tmp_path: Path) -> None:
    roles = _roles(tmp_path)
    prod_requests = color_requests("blue") + color_requests("green") + state_requests()
    for name in ("dev", "staging"):
        for action, resource, context in prod_requests:
            if action == "s3:ListBucket":
                continue  # buckets are not in the production deny (a bucket may be shared)
            # explicitly denied: whatever else is attached to the role
            assert decide(roles[name], action, resource, **context) == PermissionResult.DENIED, (
                name,
                action,
                resource,
            )


@pytest.mark.parametrize("state", [None, {"bucket": "ns-release-state", "key": "bg/prod.json"}])
def test_parliament_finds_nothing_wrong_in_any_policy(
    tmp_path: Path, state: dict[str, str] | None
) -> None:
    for role in _roles(tmp_path, state).values():
        findings = analyze_policy_string(json.dumps(role.policy)).findings
        assert [(f.issue, str(f.detail)) for f in findings] == [], role.role
