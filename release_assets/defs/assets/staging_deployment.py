"""`staging_deployment`: the release's artifact, live in the integration environment."""

import dagster as dg

from release_assets.core.deploy import SERVE_TIMEOUT_S, publish_from_store, wait_until_serving
from release_assets.core.record import ReleaseRecord
from release_assets.defs.failures import step_failures
from release_assets.defs.partitions import releases
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.environment import Environment


@dg.asset(
    partitions_def=releases,
    deps=["release_artifact"],
    ins={"record": dg.AssetIn("release_candidate")},
    group_name="release",
    kinds={"airflow"},
)
def staging_deployment(
    context: dg.AssetExecutionContext,
    record: ReleaseRecord,
    artifact_store: ArtifactStore,
    integration: Environment,
) -> dg.MaterializeResult[None]:
    """Publish the verified bundle to the integration environment, activate it, and wait until
    every DAG of the release is served from it; if they are not, the release that was live
    before is activated again and the failure names the files that do not import."""
    tag = record.release
    target = integration.airflow
    with step_failures(integration.name):
        manifest = publish_from_store(artifact_store, integration.artifacts, target, tag)
        previous = target.activate(tag)
        try:
            wait_until_serving(target, tag, record.dag_ids, SERVE_TIMEOUT_S)
        except Exception:
            # A release whose DAGs do not load never stays live: the previous one comes back.
            if previous is not None and previous != tag:
                target.activate(previous)
            raise
    return dg.MaterializeResult(
        metadata={
            "environment": integration.name,
            "airflow": dg.MetadataValue.url(target.url),
            "digest": manifest.digest,
            "replaced_release": previous or "",
            "dags_served": len(record.dag_ids),
        }
    )
