"""Deploying a release's artifact to one environment and making it live there: what
`staging_deployment` (the integration environment) and each `deploy_<name>` step (an
environment before integration) do, with the same checks and records."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from release_assets.core.deploy import (
    SERVE_TIMEOUT_S,
    DeploymentRefused,
    Published,
    publish_release,
    wait_until_serving,
)
from release_assets.core.record import ReleaseRecord
from release_assets.defs.audit_log import (
    StepNote,
    artifact_digest,
    audited_step,
    check_evidence,
)
from release_assets.defs.environment_history import record_history
from release_assets.defs.failures import step_failures
from release_assets.defs.promotion_inputs import (
    RULE_ERRORS,
    PromotionPolicies,
    require_policy,
    soak_start,
)
from release_assets.defs.resources import PipelinesRepoResource
from release_assets.runtimes.airflow.base import AirflowTarget
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.environment import Environment


@dataclass(frozen=True)
class Deployed:
    """What a deployment step did: the digest made live, the release it replaced and where
    the release's Spark jobs were staged (job -> ``{"entry_point": ..., "py_files": ...}``)."""

    digest: str
    replaced: str | None
    spark_jobs: dict[str, dict[str, str]]

    def metadata(self, env: Environment, record: ReleaseRecord) -> dict[str, dg.RawMetadataValue]:
        """The step's materialization metadata."""
        return {
            "environment": env.name,
            "airflow": dg.MetadataValue.url(env.airflow.url),
            "digest": self.digest,
            "replaced_release": self.replaced or "",
            "dags_served": len(record.dag_ids),
            "spark_jobs": dg.MetadataValue.json(self.spark_jobs),
        }


def publish_or_refuse(
    note: StepNote, build_store: ArtifactStore, env: Environment, release_id: str
) -> Published | None:
    """``publish_release`` to ``env`` (its Airflow target and Spark runtime); None after
    marking ``note`` as a refusal when the environment refuses the release as it stands
    (``DeploymentRefused``: nothing was published); raise ``refusal(note)`` after the
    audited block, so the refusal is recorded as such."""
    try:
        return publish_release(build_store, env.artifacts, env.airflow, release_id, env.spark)
    except DeploymentRefused as exc:
        note.action, note.outcome, note.detail = "refusal", "refused", str(exc)
        return None


def refusal(note: StepNote) -> dg.Failure:
    """The one-line ``dg.Failure`` (metadata ``refused``) of a step ``note`` records as
    refused (``publish_or_refuse``)."""
    return dg.Failure(
        note.detail, metadata={"refused": True, "environment": note.environment or ""}
    )


def deploy_release(
    context: dg.AssetExecutionContext,
    step: str,
    record: ReleaseRecord,
    artifact_store: ArtifactStore,
    env: Environment,
    audit: AuditStore,
    promotion: PromotionPolicies,
    pipelines_repo: PipelinesRepoResource,
    needs: tuple[str, ...] | None = None,
) -> Deployed:
    """Publish the verified bundle to ``env`` (its Spark jobs staged there first), activate
    it and wait until every DAG of the release is served from it; if they are not, the
    release live before comes back and the failure names the files that do not import.

    Refused (nothing published) unless the release's evidence holds (``needs``: default every
    step before ``step``) and ``env``'s promotion policy is met (approvals, soak time), and
    refused, recorded as a refusal, when ``env`` would need an environment update for it
    (``AirflowTarget.runtime_changes``)."""
    tag = record.release
    target = env.airflow
    with audited_step(context, audit, record, step, env.name) as note:
        note.digest = artifact_digest(artifact_store, tag)
        check_evidence(audit, record, step, note.digest, needs, early=promotion.early_steps)
        try:
            require_policy(
                step,
                record,
                env.name,
                promotion,
                pipelines_repo.repo,
                artifact_store,
                audit,
                note.digest or "",
                soak_start(env.name, promotion),
            )
        except RULE_ERRORS as exc:
            raise dg.Failure(f"cannot read the approval rules of {tag}: {exc}") from None
        with step_failures(env.name):
            published = publish_or_refuse(note, artifact_store, env, tag)
            if published is not None:
                previous = activate_serving(target, tag, record.dag_ids)
                note.replaced_release = previous
                if previous == tag:
                    note.detail = f"{tag} was already live in {env.name}"
    if published is None:
        raise refusal(note)
    if previous != tag:  # a re-run of a deployment already live changes no history
        record_history(context, env.name, "deployment", note.appended)
    return Deployed(published.manifest.digest, previous, published.spark_jobs)


def activate_serving(target: AirflowTarget, tag: str, dag_ids: set[str]) -> str | None:
    """Activate the published release ``tag`` and wait until every DAG of ``dag_ids`` is
    served from it; returns the release it replaced. When they are not served, the release
    live before comes back and the error (``DeploymentError``) is raised again."""
    previous = target.activate(tag)
    try:
        wait_until_serving(target, tag, dag_ids, SERVE_TIMEOUT_S)
    except Exception:
        # A release whose DAGs do not load never stays live: the previous one comes back.
        if previous is not None and previous != tag:
            target.activate(previous)
        raise
    return previous
