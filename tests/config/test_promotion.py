"""Each environment's `promotion:` policy in the deployment configuration: none by default,
the embedded local configuration holds prod for approval when critical tables, contracts,
Terraform or requirements change, and each wrong setting is one line naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from release_assets.config.deployment import (
    LOCAL_DEPLOYMENT,
    DeploymentConfigError,
    load_deployment,
    parse_deployment,
)
from release_assets.config.promotion import ApprovalPolicy, PromotionPolicy

BASE = {
    "version": 1,
    "production": "prod",
    "artifact_store": {"kind": "local"},
    "environments": [
        {"name": n, "airflow": {"kind": "local", "port": p}, "warehouse": {"kind": "duckdb"}}
        for n, p in (("staging", 18081), ("prod", 18082))
    ],
}


def _with_prod_promotion(promotion: object) -> str:
    body = yaml.safe_load(yaml.safe_dump(BASE))
    body["environments"][1]["promotion"] = promotion
    return yaml.safe_dump(body)


def _problems(promotion: object) -> list[str]:
    with pytest.raises(DeploymentConfigError) as info:
        parse_deployment(_with_prod_promotion(promotion), Path("deploy.yaml"))
    return list(info.value.problems)


def test_an_environment_without_promotion_needs_nothing() -> None:
    deployment = parse_deployment(yaml.safe_dump(BASE), Path("deploy.yaml"))

    assert deployment.environment("prod").promotion == PromotionPolicy(
        soak_minutes=0, approval=ApprovalPolicy(required="never", when_changed=[], valid_hours=24)
    )


def test_the_embedded_local_configuration_holds_prod_for_approvals_only() -> None:
    deployment = load_deployment(LOCAL_DEPLOYMENT)

    assert deployment.environment("prod").promotion.approval == ApprovalPolicy(
        required="when_changed",
        when_changed=["critical_tables", "contracts", "terraform", "requirements"],
        valid_hours=24,
    )
    assert deployment.environment("staging").promotion == PromotionPolicy()


def test_a_policy_is_read_field_by_field_and_survives_resolving(tmp_path: Path) -> None:
    text = _with_prod_promotion(
        {"soak_minutes": 30, "approval": {"required": "always", "valid_hours": 4.5}}
    )
    prod = parse_deployment(text, Path("d.yaml")).resolved(tmp_path).environment("prod")

    assert prod.promotion == PromotionPolicy(
        soak_minutes=30, approval=ApprovalPolicy(required="always", valid_hours=4.5)
    )


def test_when_changed_needs_kinds_to_watch() -> None:
    (problem,) = _problems({"approval": {"required": "when_changed"}})

    assert problem.startswith("environments[1].promotion.approval:")
    assert "when_changed lists nothing" in problem


def test_kinds_without_when_changed_are_refused() -> None:
    (problem,) = _problems({"approval": {"required": "always", "when_changed": ["dags"]}})

    assert "when_changed is only read when required is when_changed (it is always)" in problem


def test_unknown_kind_mode_and_bad_numbers_are_each_named() -> None:
    problems = _problems(
        {
            "soak_minutes": -1,
            "approval": {"required": "sometimes", "when_changed": ["tables"], "valid_hours": 0},
        }
    )

    fields = sorted(p.split(":")[0] for p in problems)
    assert fields == [
        "environments[1].promotion.approval.required",
        "environments[1].promotion.approval.valid_hours",
        "environments[1].promotion.approval.when_changed[0]",
        "environments[1].promotion.soak_minutes",
    ]
