"""What each environment ran and when, read from the audit trail: the deployment history the
`status` command prints and the environments' history assets show in the UI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from release_assets.core.audit import AuditRecord

HOW = {"switch": "swap", "rollback": "rollback", "redeploy": "redeploy", "step": "deployment"}


@dataclass(frozen=True)
class HistoryEntry:
    """One change of what ``environment`` runs: ``live`` went live at ``time`` by ``how``
    (deployment | swap | rollback | redeploy), replacing ``replaced``; ``actor`` launched it,
    ``approver`` approved it (swaps), ``digest`` is the artifact, ``seq`` the audit record."""

    environment: str
    time: datetime
    how: str
    live: str
    replaced: str | None
    actor: str
    approver: str | None
    digest: str | None
    detail: str
    seq: int


def _entry(rec: AuditRecord) -> HistoryEntry | None:
    ev = rec.event
    if ev.environment is None or ev.release is None:
        return None
    if ev.action in ("switch", "redeploy") and ev.outcome == "live":
        live, replaced = ev.release, ev.replaced_release
    elif ev.action == "rollback" and ev.outcome == "live":
        live, replaced = ev.data.get("live_release", ""), ev.release
    elif ev.action == "step" and ev.step == "staging_deployment" and ev.outcome == "passed":
        live, replaced = ev.release, ev.replaced_release
    else:
        return None
    return HistoryEntry(
        environment=ev.environment,
        time=rec.time,
        how=HOW[ev.action],
        live=live,
        replaced=replaced,
        actor=ev.actor,
        approver=ev.approver,
        digest=ev.digest,
        detail=ev.detail,
        seq=rec.seq,
    )


def environment_history(records: Sequence[AuditRecord]) -> dict[str, list[HistoryEntry]]:
    """Environment name -> its history, oldest first."""
    out: dict[str, list[HistoryEntry]] = {}
    for rec in records:
        entry = _entry(rec)
        if entry is not None:
            out.setdefault(entry.environment, []).append(entry)
    return out
