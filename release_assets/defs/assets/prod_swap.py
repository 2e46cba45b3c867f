"""`prod_swap`: make the release live in production, code and warehouse together, one release
at a time (the switch itself is ``release_assets.core.switch.switch_environment``).

Before anything moves, the step checks the release's own evidence in the audit trail (gates,
artifact, staging deployment and integration run, canary, regression check, approval, all on
the digest about to go live) and that the release is newer than the one live: an older
release goes live again only through `rollback` or `redeploy`, which are recorded as such."""

import time

import dagster as dg

from release_assets.core.audit import AuditRecord
from release_assets.core.canary_runs import baseline_suffix, input_suffix
from release_assets.core.data_rollback import RebuildFailed
from release_assets.core.deploy import publish_from_store
from release_assets.core.evidence import EvidenceMissing
from release_assets.core.history import was_live
from release_assets.core.promotion import SOAK_FROM
from release_assets.core.record import ReleaseRecord
from release_assets.core.release_schemas import dbt_relations, release_sources
from release_assets.core.swap_refresh import refresh_before_switch
from release_assets.core.switch import switch_environment
from release_assets.defs.audit_log import (
    artifact_digest,
    audited_step,
    check_evidence,
    record_switch_start,
)
from release_assets.defs.environment_history import record_history
from release_assets.defs.failures import step_failures
from release_assets.defs.io_managers import ReleaseRecordStore
from release_assets.defs.partitions import SWAP_POOL, releases
from release_assets.defs.promotion_inputs import RULE_ERRORS, PromotionPolicies, require_policy
from release_assets.defs.resources import PipelinesRepoResource
from release_assets.runtimes.airflow.base import AirflowTarget
from release_assets.runtimes.airflow.blue_green import BlueGreenAirflow
from release_assets.runtimes.airflow.blue_green_status import describe
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


def refuse_was_live(
    records: list[AuditRecord], release: str, live: str | None, environment: str
) -> None:
    """Raise ``EvidenceMissing`` when ``release`` was live in ``environment`` before and is
    not now (it was rolled back, or replaced by a redeploy of another release): it goes live
    again only through a recorded redeploy with a reason."""
    if live == release:
        return  # a re-run of a completed swap (or of a redeploy) converges
    before = was_live(records, release, environment)
    if before is not None:
        when = before.time.strftime("%Y-%m-%d %H:%M:%S UTC")
        raise EvidenceMissing(
            STEP,
            release,
            [
                f"{release} was live in {environment} before (since {when}) and was replaced "
                f"(live now: {live or 'nothing'}); make it live again with "
                f"`release-assets redeploy {release} --reason ...`"
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
    pipelines_repo: PipelinesRepoResource,
) -> dg.MaterializeResult[None]:
    """Switch production's code pointer and the stable table names the canary rebuilt to this
    release, after rebuilding those relations with the release's code from the raw data as it
    is now (``core.swap_refresh``); models the canary did not rebuild keep their live pointer.
    Refused, with production untouched, unless the evidence above holds."""
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
        refuse_was_live(audit.records(), tag, live, production.name)
        refuse_older(record, live, records, production.name)
        try:  # approvals and soak time again, now: an approval may have expired since
            require_policy(
                STEP,
                record,
                production.name,
                promotion,
                pipelines_repo.repo,
                artifact_store,
                audit,
                note.digest or "",
                SOAK_FROM,
            )
        except RULE_ERRORS as exc:
            raise dg.Failure(f"cannot read the approval rules of {tag}: {exc}") from None
        already = live == tag and warehouse.last_switched() == tag
        with step_failures(production.name):
            manifest = publish_from_store(
                artifact_store, production.artifacts, target, tag, production.spark
            )
            existing = set(warehouse.tables())
            wanted = release_sources(dbt_relations(artifact_store, tag), tag)
            sources = {name: src for name, src in wanted.items() if src in existing}
            refreshed = _refresh(context, target, record, live, sources, already)
            if not already:
                record_switch_start(audit, context, record, STEP, production.name, note.digest)
            replaced = switch_environment(
                target,
                warehouse,
                tag,
                record.dag_ids,
                sources,
                production.switch_lock,
                expected_live=live,
            )
            removed = target.remove_canary(tag)
            # The canary's input snapshot and baseline served its verdict (recorded): dropped.
            dropped = warehouse.drop_schemas([input_suffix(tag), baseline_suffix(tag)])
        note.replaced_release = replaced
        note.outcome = "live"
        if already:  # a re-run of a completed swap: converged, nothing went live anew
            note.action, note.outcome = "step", "passed"
            note.detail = f"{tag} was already live in {production.name}"
    if not already:
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
            "canary_schemas_dropped": ", ".join(dropped) or "-",
            "relations_refreshed": refreshed,
            **color_metadata(target, tag),
        }
    )


def _refresh(
    context: dg.AssetExecutionContext,
    target: AirflowTarget,
    record: ReleaseRecord,
    live: str | None,
    sources: dict[str, str],
    already: bool,
) -> str:
    """Rebuild the release's relations from the current raw data before the switch
    (``core.swap_refresh``), unless there are none to switch to or the swap is complete; what
    was done, for the metadata. A failed rebuild is a ``dg.Failure`` saying nothing was
    switched, with the runs' table."""
    if already or not sources:
        return "-"
    began = time.monotonic()
    run_id = f"swap_{record.release}__refresh_{context.run_id[:8]}_{context.retry_number}"
    try:
        results = refresh_before_switch(target, record, live, run_id, context.log.info)
    except RebuildFailed as exc:
        raise dg.Failure(
            f"{record.release}'s relations were not refreshed before the switch: {exc}",
            metadata={"environment": target.environment},
            allow_retries=False,
        ) from None
    dags = ", ".join(r.dag_id for r in results) or "-"
    return f"{dags} (full refresh on current raw data, {time.monotonic() - began:.0f} s)"


def color_metadata(target: AirflowTarget, tag: str) -> "dict[str, dg.RawMetadataValue]":
    """For a blue/green environment: the color now serving (``airflow_color``) and, when this
    swap was a cutover, its colors and timings (``cutover``); nothing otherwise."""
    if not isinstance(target, BlueGreenAirflow):
        return {}
    described = describe(target)
    last = described["last_cutover"]
    cutover: dg.RawMetadataValue = "in place (same runtime)"
    if last is not None and last["release"] == tag:
        cutover = dg.MetadataValue.json(last)
    return {"airflow_color": described["active"], "cutover": cutover}
