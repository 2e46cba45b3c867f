"""Promotion of one artifact through every environment in the configured order (dev ->
staging -> prod): each receives exactly the digest built once, each only after the one before
it, and each environment's own policy (soak time) holds."""

from __future__ import annotations

import dagster as dg

from release_assets.config.promotion import PromotionPolicy
from release_assets.defs.assets.approval import approval
from release_assets.defs.assets.canary_publish import canary_publish
from release_assets.defs.assets.environment_deployment import build_environment_deployment
from release_assets.defs.assets.prod_swap import prod_swap
from release_assets.defs.assets.regression_check import regression_check
from release_assets.defs.assets.staging_deployment import build_staging_deployment
from release_assets.defs.assets.staging_integration_run import staging_integration_run
from release_assets.defs.promotion_inputs import PromotionPolicies
from tests.fakes import DEV, PROD, STAGING, FakeWorld, failure_of, materialize

DEPLOY_DEV = build_environment_deployment(DEV, "release_artifact")
STAGING_AFTER_DEV = build_staging_deployment("deploy_dev")
STEPS = [
    DEPLOY_DEV,
    STAGING_AFTER_DEV,
    staging_integration_run,
    canary_publish,
    regression_check,
    approval,
    prod_swap,
]


def _three_environments(world: FakeWorld, staging: PromotionPolicy | None = None) -> None:
    world.overrides.update(
        {
            f"env_{DEV}": world.environment(DEV),
            "promotion": PromotionPolicies.of(
                {STAGING: staging} if staging else {}, before_integration=[DEV]
            ),
        }
    )
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", {"marts.fct_orders": 120})
    for env in (STAGING, PROD):
        world.build_models_on_run(env, {"marts.fct_orders": 118})
    world.add_release("v2", base_release="v1", evidence_through="release_artifact")


def test_one_digest_goes_through_dev_staging_and_prod_in_order(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _three_environments(world)

    result = materialize(world, instance, STEPS, "v2")

    assert result.success, failure_of(result, "prod_swap")
    built = world.bundles().manifests["v2"].digest
    deployed = [
        (r.event.step, r.event.environment, r.event.outcome, r.event.digest)
        for r in world.audit.records()
        if r.event.release == "v2"
        and r.event.step in ("deploy_dev", "staging_deployment", "prod_swap")
    ]
    assert deployed == [
        ("deploy_dev", DEV, "passed", built),
        ("staging_deployment", STAGING, "passed", built),
        ("prod_swap", PROD, "started", built),  # the code pointer moves next
        ("prod_swap", PROD, "live", built),
    ]
    assert (
        world.airflow(DEV).live == world.airflow(STAGING).live == world.airflow(PROD).live == "v2"
    )


def test_staging_is_refused_a_release_dev_has_not_received(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _three_environments(world)

    result = materialize(world, instance, [STAGING_AFTER_DEV], "v2")

    assert failure_of(result, "staging_deployment") == (
        "staging_deployment refused for release v2: deploy_dev has not run for this release; "
        "nothing was changed"
    )
    assert world.airflow(STAGING).live is None


def test_an_environments_soak_time_holds_the_release_back(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _three_environments(world, staging=PromotionPolicy(soak_minutes=60))
    assert materialize(world, instance, [DEPLOY_DEV], "v2").success

    result = materialize(world, instance, [STAGING_AFTER_DEV], "v2")

    message = failure_of(result, "staging_deployment")
    assert message.startswith(
        "staging_deployment refused for release v2: staging still waits for its soak time ("
    )
    assert "of 60 min left)" in message
    assert world.airflow(DEV).live == "v2" and world.airflow(STAGING).live is None
