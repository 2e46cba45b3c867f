"""`deploy_<name>`: the release's artifact, live in an environment that comes before the
integration environment in the deployment configuration's promotion order (say, `dev`)."""

import dagster as dg

from release_assets.core.record import ReleaseRecord
from release_assets.defs.deployment_step import deploy_release
from release_assets.defs.partitions import releases
from release_assets.defs.promotion_inputs import PromotionPolicies, deploy_step
from release_assets.defs.resources import PipelinesRepoResource
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.audit.base import AuditStore


def build_environment_deployment(environment: str, after: str) -> dg.AssetsDefinition:
    """The deployment step of ``environment`` (resource ``env_<environment>``), after the
    step ``after`` (the artifact, or the environment before it)."""
    step = deploy_step(environment)

    @dg.asset(
        name=step,
        partitions_def=releases,
        deps=[after],
        ins={"record": dg.AssetIn("release_candidate")},
        group_name="release",
        kinds={"airflow"},
        required_resource_keys={
            f"env_{environment}",
            "artifact_store",
            "audit",
            "promotion",
            "pipelines_repo",
        },
        description=(
            f"The release's artifact, live in {environment} (before the integration "
            "environment); refused unless the gates and the artifact (and every environment "
            f"before {environment}) passed on the same digest and {environment}'s promotion "
            "policy is met."
        ),
    )
    def deploy(
        context: dg.AssetExecutionContext, record: ReleaseRecord
    ) -> dg.MaterializeResult[None]:
        res = context.resources
        env = getattr(res, f"env_{environment}")
        artifact_store: ArtifactStore = res.artifact_store
        audit: AuditStore = res.audit
        promotion: PromotionPolicies = res.promotion
        pipelines_repo: PipelinesRepoResource = res.pipelines_repo
        order = promotion.before_integration
        needs = (
            "validation_gates",
            "release_artifact",
            *promotion.early_steps[: order.index(environment)],
        )
        done = deploy_release(
            context, step, record, artifact_store, env, audit, promotion, pipelines_repo, needs
        )
        return dg.MaterializeResult(metadata=done.metadata(env, record))

    return deploy
