"""`canary_publish`: canary copies of the changed DAGs, run once in production, writing only
into the release's own schemas while reading production inputs."""

import dagster as dg

from release_assets.core.dag_runs import fail_on_failed_run, results_table, run_in_waves
from release_assets.core.deploy import SERVE_TIMEOUT_S, wait_until_serving
from release_assets.core.record import ReleaseRecord
from release_assets.core.release_schemas import release_suffix
from release_assets.defs.audit_log import artifact_digest, audited_step, check_evidence
from release_assets.defs.deployment_step import publish_or_refuse, refusal
from release_assets.defs.failures import step_failures
from release_assets.defs.partitions import releases
from release_assets.defs.promotion_inputs import PromotionPolicies
from release_assets.defs.resources import ReleasePlatform
from release_assets.runtimes.airflow.base import AirflowTarget
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.environment import Environment

STEP = "canary_publish"


@dg.asset(
    partitions_def=releases,
    deps=["staging_integration_run"],
    ins={"record": dg.AssetIn("release_candidate")},
    group_name="release",
    kinds={"airflow"},
)
def canary_publish(
    context: dg.AssetExecutionContext,
    record: ReleaseRecord,
    artifact_store: ArtifactStore,
    production: Environment,
    platform: ReleasePlatform,
    audit: AuditStore,
    promotion: PromotionPolicies,
) -> dg.MaterializeResult[None]:
    """Stage the release in production (not live), serve canary DAG copies, run them into the
    release's schemas, and check the live release did not change meanwhile. For a release that
    is already live, nothing runs (its schemas are the live data). Refused (nothing staged)
    unless the release's gates, artifact, staging deployment and integration run passed on
    the same digest, and refused (recorded as a refusal) when production would need an
    environment update for it (``AirflowTarget.runtime_changes``). The release's Spark jobs
    are staged in production's Spark runtime before its code is published."""
    tag = record.release
    target = production.airflow
    where = f"{production.name} (canary)"
    if target.live_release() == tag:
        # After the swap the release's schemas are the live data: re-running its canaries
        # would rebuild live tables. The canary ran before the swap; nothing is left to do.
        return dg.MaterializeResult(
            metadata={
                "environment": production.name,
                "canary_dags": "-",
                "skipped": f"release {tag} is already live in {production.name}",
            }
        )
    with audited_step(context, audit, record, STEP, production.name) as note:
        note.digest = artifact_digest(artifact_store, tag)
        check_evidence(audit, record, STEP, note.digest, early=promotion.early_steps)
        with step_failures(where):
            live_before = target.live_release()
            published = publish_or_refuse(note, artifact_store, production, tag)  # not live
            if published is not None:
                canary_ids, table = run_canaries(target, record, platform.integration_date, where)
        if published is not None and target.live_release() != live_before:
            raise dg.Failure(
                f"the live {production.name} release changed during the canary of {tag} "
                f"(was {live_before or 'nothing'})"
            )
    if published is None:
        raise refusal(note)
    return dg.MaterializeResult(
        metadata={
            "environment": production.name,
            "canary_dags": ", ".join(sorted(canary_ids.values())),
            "schema_suffix": release_suffix(tag),
            "spark_jobs": dg.MetadataValue.json(published.spark_jobs),
            "dag_runs": dg.MetadataValue.md(table),
            "live_release_untouched": live_before or "",
        }
    )


def run_canaries(
    target: AirflowTarget, record: ReleaseRecord, data_date: str, where: str
) -> tuple[dict[str, str], str]:
    """Serve canary copies of the release's DAGs (published, not live) and run them once, in
    dependency waves, into the release's schemas for ``data_date``. Returns live dag_id ->
    canary dag_id and the runs' markdown table; raises RunFailed naming ``where`` when a run
    fails, DeploymentError when the canaries are not served in time."""
    tag = record.release
    canary_ids = target.publish_canary(tag, record.run_order())
    wait_until_serving(target, tag, set(canary_ids.values()), SERVE_TIMEOUT_S)
    conf: dict[str, object] = {
        "data_date": data_date,
        "schema_suffix": release_suffix(tag),
        "release_id": tag,
    }
    results = run_in_waves(target, record.run_waves(), f"canary__{tag}", conf, canary_ids)
    table = results_table(results, target.url)
    fail_on_failed_run(results, table, where)
    return canary_ids, table
