"""`canary_publish`: canary copies of the changed DAGs, run once in prod, writing only into the
release's own schemas while reading prod inputs."""

import dagster as dg

from release_assets.core.changes import ChangeSet, topological_order
from release_assets.core.dag_runs import (
    dag_summaries,
    fail_on_failed_run,
    results_table,
    run_in_order,
)
from release_assets.core.deploy import DeploymentError, publish_from_store, wait_until_serving
from release_assets.core.release_meta import recorded
from release_assets.core.release_schemas import release_suffix
from release_assets.defs.assets.staging_deployment import SERVE_TIMEOUT_S
from release_assets.defs.assets.staging_integration_run import staging_integration_run
from release_assets.defs.partitions import releases
from release_assets.defs.resources import AirflowEnvironment, ArtifactStoreResource
from release_assets.settings import settings


@dg.asset(
    partitions_def=releases,
    deps=[staging_integration_run],
    group_name="release",
    kinds={"airflow"},
)
def canary_publish(
    context: dg.AssetExecutionContext,
    artifact_store: ArtifactStoreResource,
    airflow_prod: AirflowEnvironment,
) -> dg.MaterializeResult[None]:
    tag = context.partition_key
    candidate = recorded(context, "release_candidate", tag)
    change = ChangeSet.from_dict(candidate["change_set"])
    order = topological_order(change.affected_dag_ids, dag_summaries(candidate["dag_graph"]))
    target = airflow_prod.target()
    live_before = target.live_release()
    publish_from_store(artifact_store.store(), target, tag)  # staged only, not live
    canary_ids = target.publish_canary(tag, order)
    try:
        wait_until_serving(target, tag, set(canary_ids.values()), SERVE_TIMEOUT_S)
    except DeploymentError as exc:
        raise dg.Failure(str(exc), metadata={"environment": "prod (canary)"}) from None
    suffix = release_suffix(tag)
    conf: dict[str, object] = {
        "data_date": settings().integration_date,
        "schema_suffix": suffix,
        "release_id": tag,
    }
    results = run_in_order(target, order, f"canary__{tag}", conf, canary_ids)
    table = results_table(results, target.url)
    fail_on_failed_run(results, table, "prod canary")
    if target.live_release() != live_before:
        raise dg.Failure(f"the live prod release changed during the canary ({live_before})")
    return dg.MaterializeResult(
        metadata={
            "canary_dags": ", ".join(sorted(canary_ids.values())),
            "schema_suffix": suffix,
            "dag_runs": dg.MetadataValue.md(table),
            "live_release_untouched": live_before or "",
        }
    )
