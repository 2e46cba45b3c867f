"""`canary_publish`: canary copies of the changed DAGs, run once in production, writing only
into the release's own schemas while reading production inputs; beside them, the live release's
code re-run on the same inputs into the baseline schemas the judge compares with
(``release_assets.core.canary_runs``)."""

import dagster as dg

from release_assets.core.canary_runs import baseline_suffix, run_canary_and_baseline
from release_assets.core.record import ReleaseRecord
from release_assets.core.release_schemas import release_suffix
from release_assets.defs.audit_log import artifact_digest, audited_step, check_evidence
from release_assets.defs.deployment_step import publish_or_refuse, refusal
from release_assets.defs.failures import step_failures
from release_assets.defs.partitions import releases
from release_assets.defs.promotion_inputs import PromotionPolicies
from release_assets.defs.resources import ReleasePlatform
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
    """Stage the release in production (not live), run the live release's DAGs (canary
    copies) into the baseline schemas and then the release's into its own schemas, both on
    the integration day from the same inputs, and check the live release did not change
    meanwhile. For a release that is already live, nothing runs (its schemas are the live
    data). Refused (nothing staged) unless the release's gates, artifact, staging deployment
    and integration run passed on the same digest, and refused (recorded as a refusal) when
    production would need an environment update for it (``AirflowTarget.runtime_changes``).
    The release's Spark jobs are staged in production's Spark runtime before its code is
    published. Fails naming the table when a source table changed between the two sides."""
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
                runs = run_canary_and_baseline(
                    target,
                    production.warehouse,
                    artifact_store,
                    record,
                    live_before,
                    platform.integration_date,
                    where,
                )
                if runs.baseline_release is not None:
                    target.remove_canary(runs.baseline_release)
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
            "canary_dags": ", ".join(sorted(runs.canary_ids.values())),
            "schema_suffix": release_suffix(tag),
            "baseline_release": runs.baseline_release or "none (nothing live)",
            "baseline_dags": ", ".join(sorted(runs.baseline_ids.values())) or "-",
            "baseline_schema_suffix": baseline_suffix(tag) if runs.baseline_ids else "-",
            "input_rows": dg.MetadataValue.json(runs.inputs),
            "spark_jobs": dg.MetadataValue.json(published.spark_jobs),
            "dag_runs": dg.MetadataValue.md(runs.table),
            "live_release_untouched": live_before or "",
        }
    )
