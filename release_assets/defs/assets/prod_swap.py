"""`prod_swap`: make the release live in production, code and warehouse together, one release
at a time (the switch itself is ``release_assets.core.switch.switch_environment``).

Before anything moves, the step checks the release's own evidence in the audit trail (gates,
artifact, staging deployment and integration run, canary, regression check, approval, all on
the digest about to go live) and that the release is newer than the one live: an older
release goes live again only through `rollback` or `redeploy`, which are recorded as such."""

import dagster as dg

from release_assets.core.audit import AuditRecord
from release_assets.core.deploy import publish_from_store
from release_assets.core.evidence import EvidenceMissing
from release_assets.core.record import ReleaseRecord
from release_assets.core.release_schemas import dbt_relations, release_sources
from release_assets.core.switch import switch_environment
from release_assets.defs.audit_log import artifact_digest, audited_step, check_evidence
from release_assets.defs.environment_history import record_history
from release_assets.defs.failures import step_failures
from release_assets.defs.io_managers import ReleaseRecordStore
from release_assets.defs.partitions import SWAP_POOL, releases
from release_assets.defs.promotion_inputs import PromotionPolicies
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.environment import Environment

STEP = "prod_swap"


def refuse_older(
    record: ReleaseRecord, live: str | None, records: ReleaseRecordStore, environment: str
) -> None:
    """Raise ``EvidenceMissing`` unless ``live`` is nothing, the release itself, or one of its
    bases (the release it was compared with, that one's base, and so on): a swap only moves
    forward; an older release goes live again through `rollback` or `redeploy`."""
    if live is None or live == record.release:
        return
    seen: set[str] = set()
    base = record.base_release
    while base is not None and base not in seen:
        if base == live:
            return
        seen.add(base)
        base = records.read(base).base_release
    raise EvidenceMissing(
        STEP,
        record.release,
        [
            f"the live {environment} release {live} is not one of its bases, so {record.release} "
            f"is not newer: a swap only moves forward (use `release-assets rollback {live}` "
            f"or `release-assets redeploy {record.release} --reason ...`)"
        ],
    )


def refuse_rolled_back(
    records: list[AuditRecord], release: str, live: str | None, environment: str
) -> None:
    """Raise ``EvidenceMissing`` when ``release`` was rolled back in ``environment`` (and is
    not live): it goes live again only through a recorded redeploy with a reason."""
    if live == release:
        return  # a re-run of a completed swap (or of a redeploy) converges
    back = [
        r
        for r in records
        if r.event.action == "rollback"
        and r.event.outcome == "live"
        and r.event.release == release
        and r.event.environment == environment
    ]
    if back:
        when = back[-1].time.strftime("%Y-%m-%d %H:%M:%S UTC")
        raise EvidenceMissing(
            STEP,
            release,
            [
                f"{release} was rolled back in {environment} at {when} by {back[-1].event.actor}; "
                f"make it live again with `release-assets redeploy {release} --reason ...`"
            ],
        )


@dg.asset(
    partitions_def=releases,
    deps=["approval"],
    ins={"record": dg.AssetIn("release_candidate")},
    group_name="release",
    kinds={"airflow", "duckdb"},
    pool=SWAP_POOL,
)
def prod_swap(
    context: dg.AssetExecutionContext,
    record: ReleaseRecord,
    artifact_store: ArtifactStore,
    production: Environment,
    audit: AuditStore,
    records: ReleaseRecordStore,
    promotion: PromotionPolicies,
) -> dg.MaterializeResult[None]:
    """Switch production's code pointer and the stable table names the canary rebuilt to this
    release; models the canary did not rebuild keep their live pointer. Refused, with
    production untouched, unless the evidence above holds."""
    tag = record.release
    target = production.airflow
    warehouse = production.warehouse
    with audited_step(context, audit, record, STEP, production.name) as note:
        note.action = "switch"
        note.digest = artifact_digest(artifact_store, tag)
        evidence = check_evidence(audit, record, STEP, note.digest, early=promotion.early_steps)
        approved = evidence.latest.get("approval")
        note.approver = approved.event.approver if approved else None
        live = target.live_release()
        refuse_rolled_back(audit.records(), tag, live, production.name)
        refuse_older(record, live, records, production.name)
        with step_failures(production.name):
            manifest = publish_from_store(artifact_store, production.artifacts, target, tag)
            existing = set(warehouse.tables())
            wanted = release_sources(dbt_relations(artifact_store, tag), tag)
            sources = {name: src for name, src in wanted.items() if src in existing}
            replaced = switch_environment(
                target, warehouse, tag, record.dag_ids, sources, production.switch_lock
            )
            removed = target.remove_canary(tag)
        note.replaced_release = replaced
        note.outcome = "live"
    record_history(context, production.name, "swap", note.appended)
    return dg.MaterializeResult(
        metadata={
            "environment": production.name,
            "live_release": tag,
            "replaced_release": replaced or "",
            "digest": manifest.digest,
            "airflow": dg.MetadataValue.url(target.url),
            "tables_switched": len(sources),
            "tables_kept": dg.MetadataValue.json(sorted(set(wanted) - set(sources))),
            "canary_dags_removed": ", ".join(removed) or "-",
        }
    )
