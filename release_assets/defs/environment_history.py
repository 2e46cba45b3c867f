"""One unpartitioned asset per environment whose materializations are its deployment history.

Every step that changes what an environment runs (a deployment, a swap, a rollback, a
redeploy) records a materialization of ``environments/<name>`` with the live release, the
release it replaced, who, the artifact digest, the approvals and the audit record's number.
The asset's page in the UI then answers "what is live in prod, since when, and what happened
before"; the audit trail stays the authoritative record (a materialization reported by hand in
the UI is not evidence of anything).
"""

from __future__ import annotations

import dagster as dg

from release_assets.core.audit import AuditRecord

GROUP = "environments"


def history_key(environment: str) -> dg.AssetKey:
    """``environments/<name>``."""
    return dg.AssetKey(["environments", environment])


def history_specs(environments: list[str]) -> list[dg.AssetSpec]:
    """The history asset of each environment (declared, not computed: the release steps
    record its materializations)."""
    return [
        dg.AssetSpec(
            history_key(name),
            group_name=GROUP,
            kinds={"airflow"},
            description=(
                f"What is live in {name}: each materialization is one deployment, swap, "
                "rollback or redeploy (live release, replaced release, who, digest, approvals)."
            ),
        )
        for name in environments
    ]


def record_history(
    context: dg.AssetExecutionContext,
    environment: str,
    how: str,
    appended: AuditRecord | None,
    **extra: str,
) -> None:
    """Log a materialization of ``environment``'s history asset for the switch the audit
    record ``appended`` describes (``how``: deployment | swap | rollback | redeploy)."""
    meta: dict[str, dg.RawMetadataValue] = {"how": how}
    if appended is not None:
        ev = appended.event
        meta.update(
            {
                "live_release": ev.release or "",
                "replaced_release": ev.replaced_release or "",
                "actor": ev.actor,
                "digest": ev.digest or "",
                "approved_by": ev.approver or "",
                "since": appended.time.isoformat(),
                "audit_record": appended.seq,
                "run_id": ev.run_id or "",
            }
        )
    meta.update(extra)  # what the step knows better (a rollback's live release)
    context.log_event(
        dg.AssetMaterialization(
            asset_key=history_key(environment),
            description=f"{how}: {meta.get('live_release', '')} live in {environment}",
            metadata=meta,
        )
    )
