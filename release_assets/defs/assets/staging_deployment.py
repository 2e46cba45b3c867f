"""`staging_deployment`: the release's artifact, live in the integration environment."""

import dagster as dg

from release_assets.core.record import ReleaseRecord
from release_assets.defs.deployment_step import deploy_release
from release_assets.defs.partitions import releases
from release_assets.defs.promotion_inputs import PromotionPolicies
from release_assets.defs.resources import PipelinesRepoResource
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.environment import Environment

STEP = "staging_deployment"


def build_staging_deployment(after: str = "release_artifact") -> dg.AssetsDefinition:
    """The step, depending on ``after``: the artifact, or the deployment to the last
    environment before integration when the deployment configuration lists some."""

    @dg.asset(
        name=STEP,
        partitions_def=releases,
        deps=[after],
        ins={"record": dg.AssetIn("release_candidate")},
        group_name="release",
        kinds={"airflow"},
    )
    def staging_deployment(
        context: dg.AssetExecutionContext,
        record: ReleaseRecord,
        artifact_store: ArtifactStore,
        integration: Environment,
        audit: AuditStore,
        promotion: PromotionPolicies,
        pipelines_repo: PipelinesRepoResource,
    ) -> dg.MaterializeResult[None]:
        """Publish the verified bundle to the integration environment, activate it, and wait
        until every DAG of the release is served from it; if they are not, the release that
        was live before is activated again and the failure names the files that do not import.

        Refused (nothing published) unless the release's validation gates passed on its commit,
        its artifact was built with the digest about to be deployed (and deployed to every
        environment before this one), and the environment's promotion policy is met."""
        done = deploy_release(
            context, STEP, record, artifact_store, integration, audit, promotion, pipelines_repo
        )
        return dg.MaterializeResult(metadata=done.metadata(integration, record))

    return staging_deployment


staging_deployment = build_staging_deployment()
