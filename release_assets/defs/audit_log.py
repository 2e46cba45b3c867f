"""Recording release steps in the audit trail, and the evidence check every environment-changing
step makes before it acts (``release_assets.core.evidence``).

``audited_step`` wraps a step's body: it appends the step's outcome (passed, failed, refused)
with the release's commit, pull requests, artifact digest and the actor who launched the run.
A refusal for missing evidence is recorded as a ``refusal`` and raised as one ``dg.Failure``
line; no traceback, no secret (messages carry names, digests and times only).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dagster as dg

from release_assets.core.audit import AuditEvent, AuditRecord, verify_chain
from release_assets.core.evidence import RECORD_KEY, Evidence, EvidenceMissing, require_evidence
from release_assets.core.history import STARTED
from release_assets.core.record import ReleaseRecord
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.audit.base import AuditStore

ACTOR_TAG = "release_assets/actor"
"""Run tag naming the person a run acts for (set by the CLI; the sensors name themselves)."""

REASON_TAG = "release_assets/reason"
"""Run tag carrying the reason an on-call action was taken (redeploy, rollback)."""


def actor_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> str:
    """Who a run acts for, from its tags: ``release_assets/actor`` (the CLI), Dagster's user
    tag where the deployment sets one, ``sensor:<name>`` for a sensor's run, else the UI or
    API launch without a user (Dagster OSS has no login)."""
    tags = context.run.tags
    for key in (ACTOR_TAG, "dagster/user", "user"):
        if tags.get(key):
            return str(tags[key])
    if tags.get("dagster/sensor_name"):
        return f"sensor:{tags['dagster/sensor_name']}"
    if tags.get("dagster/from_ui"):
        return "dagster-ui (no user)"
    return "unattributed run"


@dataclass
class StepNote:
    """What a step fills in while it runs; appended when it ends. ``outcome`` stays "passed"
    unless the step sets it (a regression found is ``failed`` without an exception)."""

    digest: str | None = None
    environment: str | None = None
    outcome: str = "passed"
    detail: str = ""
    replaced_release: str | None = None
    approver: str | None = None
    gates: dict[str, str] = field(default_factory=dict)
    action: str = "step"
    data: dict[str, str] = field(default_factory=dict)
    appended: AuditRecord | None = None


def append_event(
    audit: AuditStore,
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
    record: ReleaseRecord | None,
    step: str,
    note: StepNote,
) -> AuditRecord:
    """Append one event for ``step`` of ``record``'s release (the partition's release when
    ``record`` is None)."""
    release = (
        record.release if record else (context.partition_key if context.has_partition_key else None)
    )
    event = AuditEvent(
        action=note.action,  # type: ignore[arg-type]
        outcome=note.outcome,
        actor=actor_of(context),
        release=release,
        step=step,
        environment=note.environment,
        commit=record.commit if record else None,
        pull_requests=list(record.pull_requests) if record else [],
        digest=note.digest,
        gates=dict(note.gates),
        approver=note.approver,
        replaced_release=note.replaced_release,
        run_id=context.run.run_id,
        detail=one_line(note.detail)[:1000],
        data={**({RECORD_KEY: record.fingerprint()} if record else {}), **note.data},
    )
    return audit.append(event)


def one_line(text: str) -> str:
    """``text`` on one line (newlines and runs of blanks become one space)."""
    return " ".join(text.split())


def _first_line(exc: BaseException) -> str:
    text = exc.description if isinstance(exc, dg.Failure) else str(exc)
    return (text or type(exc).__name__).strip().splitlines()[0] if text else type(exc).__name__


@contextmanager
def audited_step(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
    audit: AuditStore,
    record: ReleaseRecord,
    step: str,
    environment: str | None = None,
) -> Iterator[StepNote]:
    """Run a step's body and append its outcome: ``passed`` (or what the body set) on a normal
    end, ``refused`` for missing evidence (raised again as a one-line ``dg.Failure``),
    ``failed`` with the failure's first line otherwise (raised again unchanged)."""
    note = StepNote(environment=environment)
    try:
        yield note
    except EvidenceMissing as exc:
        note.action, note.outcome, note.detail = "refusal", "refused", str(exc)
        append_event(audit, context, record, step, note)
        raise dg.Failure(
            str(exc), metadata={"refused": True, "missing_evidence": "; ".join(exc.problems)}
        ) from None
    except BaseException as exc:
        note.outcome, note.detail = "failed", _first_line(exc)
        append_event(audit, context, record, step, note)
        raise
    note.appended = append_event(audit, context, record, step, note)


def check_evidence(
    audit: AuditStore,
    record: ReleaseRecord,
    step: str,
    digest: str | None,
    needs: tuple[str, ...] | None = None,
    early: tuple[str, ...] = (),
) -> Evidence:
    """Raise ``EvidenceMissing`` unless every step ``step`` needs passed for ``record`` on
    ``digest`` (see ``release_assets.core.evidence.require_evidence``). Evidence from a trail
    that does not verify (an edited, removed or reordered record) is refused as a whole."""
    broken = verify_chain(audit.entries())
    if broken:
        raise EvidenceMissing(
            step,
            record.release,
            [
                f"the audit trail at {audit.location} is not intact ({broken[0]}); "
                "run `release-assets audit verify`"
            ],
        )
    return require_evidence(
        audit.records(),
        record.release,
        record.commit,
        digest,
        step,
        needs,
        early,
        record.fingerprint(),
    )


def artifact_digest(store: ArtifactStore, release: str) -> str | None:
    """The digest of ``release``'s bundle in ``store`` (None when nothing is stored)."""
    manifest = store.manifest(release)
    return manifest.digest if manifest is not None else None


def refuse(
    context: dg.AssetExecutionContext, audit: AuditStore, step: str, environment: str, why: str
) -> None:
    """Record a refused on-call request (audit trail, log, an observation on the partition)."""
    note = StepNote(environment=environment, action="refusal", outcome="refused", detail=why)
    append_event(audit, context, None, step, note)
    context.log.error(f"{step} refused: {why}")
    context.log_event(
        dg.AssetObservation(
            asset_key=context.asset_key,
            partition=context.partition_key,
            description=f"refused: {why}",
            metadata={"status": "refused", "refused": why, "environment": environment},
        )
    )


def record_switch_start(
    audit: AuditStore,
    context: dg.AssetExecutionContext,
    record: ReleaseRecord,
    step: str,
    environment: str,
    digest: str | None,
) -> None:
    """Append that ``record``'s code (artifact ``digest``) is about to go live in
    ``environment`` (action ``switch`` for prod_swap, ``redeploy`` for a redeploy; outcome
    ``started``), before the code pointer moves: if the step is killed after that, the trail
    still says from when the release may have run (a rollback re-loads what it loaded from
    then on: ``core.history.live_since``)."""
    action = "redeploy" if step == "redeploy" else "switch"
    note = StepNote(environment=environment, action=action, outcome=STARTED, digest=digest)
    note.detail = f"{record.release}'s code goes live in {environment} next"
    append_event(audit, context, record, step, note)
