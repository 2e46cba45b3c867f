"""`staging_integration_run`: the changed DAGs and everything downstream, run in the
integration environment in Dataset order."""

import dagster as dg

from release_assets.core.dag_runs import (
    dbt_summary,
    fail_on_failed_run,
    results_table,
    run_in_waves,
)
from release_assets.core.record import ReleaseRecord
from release_assets.defs.audit_log import artifact_digest, audited_step, check_evidence
from release_assets.defs.failures import step_failures
from release_assets.defs.partitions import releases
from release_assets.defs.promotion_inputs import PromotionPolicies
from release_assets.defs.resources import ReleasePlatform
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.environment import Environment

STEP = "staging_integration_run"


@dg.asset(
    partitions_def=releases,
    deps=["staging_deployment"],
    ins={"record": dg.AssetIn("release_candidate")},
    group_name="release",
    kinds={"airflow"},
)
def staging_integration_run(
    context: dg.AssetExecutionContext,
    record: ReleaseRecord,
    integration: Environment,
    platform: ReleasePlatform,
    artifact_store: ArtifactStore,
    audit: AuditStore,
    promotion: PromotionPolicies,
) -> dg.MaterializeResult[None]:
    """One run per affected DAG (run id ``release__<tag>``: a re-run reuses it and retries only
    failed tasks), in waves of DAGs that do not depend on each other; a failed run stops the
    later waves and the failure names the DAG and its failed tasks. Refused unless the
    release's gates, artifact and staging deployment passed on the same digest."""
    tag = record.release
    target = integration.airflow
    conf: dict[str, object] = {"data_date": platform.integration_date, "release_id": tag}
    with audited_step(context, audit, record, STEP, integration.name) as note:
        note.digest = artifact_digest(artifact_store, tag)
        check_evidence(audit, record, STEP, note.digest, early=promotion.early_steps)
        with step_failures(integration.name):
            results = run_in_waves(target, record.run_waves(), f"release__{tag}", conf)
            table = results_table(results, target.url)
            fail_on_failed_run(results, table, integration.name)
            dbt = dbt_summary(target, results)
    return dg.MaterializeResult(
        metadata={
            "environment": integration.name,
            "dag_runs": dg.MetadataValue.md(table),
            "dags_run": len(results),
            "data_date": platform.integration_date,
            **{f"dbt_{k}": v for k, v in dbt.items()},
        }
    )
