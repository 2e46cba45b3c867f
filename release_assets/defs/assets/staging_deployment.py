"""`staging_deployment`: the release's artifact, live in the staging Airflow."""

import dagster as dg

from release_assets.core.deploy import DeploymentError, publish_from_store, wait_until_serving
from release_assets.core.release_meta import recorded
from release_assets.defs.assets.release_artifact import release_artifact
from release_assets.defs.partitions import releases
from release_assets.defs.resources import AirflowEnvironment, ArtifactStoreResource

SERVE_TIMEOUT_S = 240.0


@dg.asset(partitions_def=releases, deps=[release_artifact], group_name="release", kinds={"airflow"})
def staging_deployment(
    context: dg.AssetExecutionContext,
    artifact_store: ArtifactStoreResource,
    airflow_staging: AirflowEnvironment,
) -> dg.MaterializeResult[None]:
    tag = context.partition_key
    dag_ids = set(recorded(context, "release_candidate", tag)["dag_graph"])
    target = airflow_staging.target()
    manifest = publish_from_store(artifact_store.store(), target, tag)
    previous = target.activate(tag)
    try:
        wait_until_serving(target, tag, dag_ids, SERVE_TIMEOUT_S)
    except DeploymentError as exc:
        raise dg.Failure(str(exc), metadata={"environment": "staging"}) from None
    return dg.MaterializeResult(
        metadata={
            "environment": "staging",
            "airflow": dg.MetadataValue.url(target.url),
            "digest": manifest.digest,
            "replaced_release": previous or "",
            "dags_served": len(dag_ids),
        }
    )
