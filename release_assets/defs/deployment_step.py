"""Deploying a release's artifact to one environment and making it live there: what
`staging_deployment` (the integration environment) and each `deploy_<name>` step (an
environment before integration) do, with the same checks and records."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from release_assets.core.deploy import SERVE_TIMEOUT_S, publish_from_store, wait_until_serving
from release_assets.core.record import ReleaseRecord
from release_assets.defs.audit_log import artifact_digest, audited_step, check_evidence
from release_assets.defs.environment_history import record_history
from release_assets.defs.failures import step_failures
from release_assets.defs.promotion_inputs import (
    RULE_ERRORS,
    PromotionPolicies,
    require_policy,
    soak_start,
)
from release_assets.defs.resources import PipelinesRepoResource
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.environment import Environment


@dataclass(frozen=True)
class Deployed:
    """What a deployment step did: the digest made live and the release it replaced."""

    digest: str
    replaced: str | None


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
    """Publish the verified bundle to ``env``, activate it and wait until every DAG of the
    release is served from it; if they are not, the release live before comes back and the
    failure names the files that do not import.

    Refused (nothing published) unless the release's evidence holds (``needs``: default every
    step before ``step``) and ``env``'s promotion policy is met (approvals, soak time)."""
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
            manifest = publish_from_store(artifact_store, env.artifacts, target, tag)
            previous = target.activate(tag)
            try:
                wait_until_serving(target, tag, record.dag_ids, SERVE_TIMEOUT_S)
            except Exception:
                # A release whose DAGs do not load never stays live: the previous one comes back.
                if previous is not None and previous != tag:
                    target.activate(previous)
                raise
        note.replaced_release = previous
        if previous == tag:
            note.detail = f"{tag} was already live in {env.name}"
    if previous != tag:  # a re-run of a deployment already live changes no history
        record_history(context, env.name, "deployment", note.appended)
    return Deployed(manifest.digest, previous)
