"""The auditor's view of the audit trail: one release's chain, and the records as JSON or CSV.

``release_trail`` follows one release from its pull requests and commits through each gate's
verdict, its approvals and the artifact digest(s) to every environment it reached, with times
and actors. ``to_json`` and ``to_csv`` export records for people and tools: one row per record;
an event's ``data`` is never exported as a whole (only an approval's signed statement, which
is what the approver signed; the signature stays in the stored record).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer

from release_assets.core.audit import AuditEvent, AuditRecord
from release_assets.runtimes.audit.types import format_time

SWITCHES = frozenset({"switch", "rollback", "redeploy"})
"""Actions that change what an environment runs; one that replaced a release is part of that
release's trail (the moment it stopped being live)."""

CSV_COLUMNS = (
    "seq", "time", "action", "step", "environment", "actor", "outcome", "digest", "approver",
    "pull_requests", "commit", "detail", "release", "live_release", "replaced_release", "gates",
    "run_id", "statement", "hash",
)  # fmt: skip
"""The CSV header: one row per record."""

T = TypeVar("T")

UtcTime = Annotated[datetime, PlainSerializer(format_time, return_type=str)]
"""A time exported as the trail stores it: ISO 8601 UTC with microseconds."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TrailAction(_Frozen):
    """One recorded action of the release: audit record ``seq`` at ``time`` (UTC)."""

    seq: int
    time: UtcTime
    action: str
    step: str | None
    outcome: str
    actor: str
    release: str | None
    live_release: str | None
    replaced_release: str | None
    digest: str | None
    approver: str | None
    detail: str


class GateVerdict(_Frozen):
    """The latest verdict of one gate (``passed``/``failed``/``skipped``), from record ``seq``."""

    gate: str
    verdict: str
    time: UtcTime
    seq: int


class TrailApproval(_Frozen):
    """A signed approval: ``approver`` (principal) for ``environment`` on artifact ``digest``,
    recorded at ``time`` as record ``seq``; ``statement`` the text that was signed."""

    approver: str
    environment: str | None
    time: UtcTime
    digest: str | None
    seq: int
    statement: str


class ReleaseTrail(_Frozen):
    """One release's chain: PR numbers -> commits -> gate verdicts -> approvals -> artifact
    digest(s) it ran with -> each environment's actions in order (``live_release`` on a
    switch, rollback or redeploy says which release it made live). ``steps`` are the actions
    recorded without an environment (the gates, the artifact build); ``environments`` maps
    each environment, in the order it was first acted on, to its actions."""

    release: str
    pull_requests: list[int]
    commits: list[str]
    gates: list[GateVerdict]
    approvals: list[TrailApproval]
    digests: list[str]
    steps: list[TrailAction]
    environments: dict[str, list[TrailAction]]


def _unique(values: Sequence[T | None]) -> list[T]:
    out: list[T] = []
    for value in values:
        if value is not None and value not in out:
            out.append(value)
    return out


def live_release(event: AuditEvent) -> str | None:
    """The release a switch, rollback or redeploy made live (a rollback records the release
    rolled back as ``release`` and the one live again as ``data["live_release"]``); None for
    other actions."""
    if event.action not in SWITCHES:
        return None
    return event.data.get("live_release") or event.release


def release_records(records: Sequence[AuditRecord], release: str) -> list[AuditRecord]:
    """The records of ``release`` in chain order: those naming it, and switches, rollbacks and
    redeploys that made it live or replaced it."""
    return sorted(
        (
            r
            for r in records
            if release in (r.event.release, live_release(r.event))
            or (r.event.action in SWITCHES and r.event.replaced_release == release)
        ),
        key=lambda r: r.seq,
    )


def known_releases(records: Sequence[AuditRecord]) -> list[str]:
    """Every release named in ``records``, in the order first recorded."""
    return _unique([r.event.release for r in sorted(records, key=lambda r: r.seq)])


def records_since(records: Sequence[AuditRecord], since: datetime) -> list[AuditRecord]:
    """The records at or after ``since`` (a time without zone is taken as UTC), in chain
    order."""
    start = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    return sorted((r for r in records if r.time >= start), key=lambda r: r.seq)


def _action(rec: AuditRecord) -> TrailAction:
    ev = rec.event
    return TrailAction(
        seq=rec.seq, time=rec.time, action=ev.action, step=ev.step, outcome=ev.outcome,
        actor=ev.actor, release=ev.release, live_release=live_release(ev),
        replaced_release=ev.replaced_release,
        digest=ev.digest, approver=ev.approver, detail=ev.detail,
    )  # fmt: skip


def release_trail(records: Sequence[AuditRecord], release: str) -> ReleaseTrail:
    """``release``'s chain from ``records`` (any order; see ``release_records`` for which
    records belong to it). Gate verdicts are the latest per gate: a gate recorded as its own
    ``gate`` record (its step name and outcome) or in a record's ``gates`` mapping."""
    mine = release_records(records, release)
    own = [r for r in mine if r.event.release == release]
    # the artifacts this release ran with: not the one a rollback of it made live again
    # (an approval's digest is what its signer claimed, not what ran)
    used = [
        r
        for r in mine
        if live_release(r.event) in (None, release)
        and r.event.action not in ("approval", "refusal")
    ]
    gates: dict[str, GateVerdict] = {}
    for rec in own:
        ev = rec.event
        verdicts = dict(ev.gates)
        if ev.action == "gate" and not ev.gates and ev.step:
            verdicts[ev.step] = ev.outcome
        for gate, verdict in verdicts.items():
            gates[gate] = GateVerdict(gate=gate, verdict=verdict, time=rec.time, seq=rec.seq)
    approvals = [
        TrailApproval(
            approver=rec.event.approver or rec.event.actor,
            environment=rec.event.environment,
            time=rec.time,
            digest=rec.event.digest,
            seq=rec.seq,
            statement=rec.event.data.get("statement", ""),
        )
        for rec in own
        if rec.event.action == "approval" and rec.event.outcome == "approved"
    ]
    environments: dict[str, list[TrailAction]] = {}
    for rec in mine:
        if rec.event.environment is not None:
            environments.setdefault(rec.event.environment, []).append(_action(rec))
    return ReleaseTrail(
        release=release,
        pull_requests=sorted({n for r in own for n in r.event.pull_requests}),
        commits=_unique(
            [c for r in own for c in r.event.data.get("commits", "").split()]
            + [r.event.commit for r in own]
        ),
        gates=sorted(gates.values(), key=lambda g: g.gate),
        approvals=approvals,
        digests=_unique([r.event.digest for r in used]),
        steps=[_action(r) for r in mine if r.event.environment is None],
        environments=environments,
    )


def _row(rec: AuditRecord) -> dict[str, object]:
    """One exported record: the CSV columns, typed (lists and mappings kept as such)."""
    ev = rec.event
    return {
        "seq": rec.seq, "time": format_time(rec.time), "action": ev.action, "step": ev.step,
        "environment": ev.environment, "actor": ev.actor, "outcome": ev.outcome,
        "digest": ev.digest, "approver": ev.approver, "pull_requests": list(ev.pull_requests),
        "commit": ev.commit, "detail": ev.detail, "release": ev.release,
        "live_release": live_release(ev), "replaced_release": ev.replaced_release,
        "gates": dict(ev.gates), "run_id": ev.run_id,
        "statement": ev.data.get("statement", "") if ev.action == "approval" else "",
        "hash": rec.hash, "prev_hash": rec.prev_hash,
    }  # fmt: skip


def to_json(
    records: Sequence[AuditRecord],
    trail: ReleaseTrail | None = None,
    chain: dict[str, object] | None = None,
) -> str:
    """An export as indented JSON: ``{"trail": <ReleaseTrail or null>, "chain": <what verify
    found, or null>, "records": [one object per record, the CSV columns plus prev_hash]}``.
    Times are ISO 8601 UTC."""
    body = {
        "trail": trail.model_dump(mode="json") if trail is not None else None,
        "chain": chain,
        "records": [_row(r) for r in sorted(records, key=lambda r: r.seq)],
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def _cell(value: object) -> str:
    """One CSV cell; text a spreadsheet would run as a formula (it starts with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return: OWASP "CSV injection") is prefixed with ``'``."""
    if value is None:
        return ""
    if isinstance(value, list):
        text = " ".join(f"#{v}" for v in value)
    elif isinstance(value, dict):
        text = "; ".join(f"{k}={v}" for k, v in sorted(value.items()))
    else:
        text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(records: Sequence[AuditRecord]) -> str:
    """An export as CSV (header ``CSV_COLUMNS``, fields quoted where needed, ``\n`` line
    ends): one row per record in chain order; pull requests as ``#41 #42``, gates as
    ``gate=verdict; ...``, empty cells for what a record does not have."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for rec in sorted(records, key=lambda r: r.seq):
        row = _row(rec)
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
    return out.getvalue()
