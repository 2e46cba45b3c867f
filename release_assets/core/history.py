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


def _is_deployment(step: str | None) -> bool:
    """`staging_deployment`, or `deploy_<name>` of an environment before integration."""
    return step is not None and (step == "staging_deployment" or step.startswith("deploy_"))


def _entry(rec: AuditRecord) -> HistoryEntry | None:
    ev = rec.event
    if ev.environment is None or ev.release is None:
        return None
    if ev.action in ("switch", "redeploy") and ev.outcome == "live":
        live, replaced = ev.release, ev.replaced_release
    elif ev.action == "rollback" and ev.outcome == "live":
        live, replaced = ev.data.get("live_release", ""), ev.release
    elif ev.action == "step" and ev.outcome == "passed" and _is_deployment(ev.step):
        if ev.replaced_release == ev.release:
            return None  # a re-run of a deployment already live
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


def was_live(records: list[AuditRecord], release: str, environment: str) -> AuditRecord | None:
    """The latest audit record that made ``release`` live in ``environment`` (a swap, a
    redeploy, or a rollback back to it), or None if it never was."""
    found = None
    for rec in records:
        ev = rec.event
        if ev.environment != environment or ev.outcome != "live":
            continue
        if (ev.action in ("switch", "redeploy") and ev.release == release) or (
            ev.action == "rollback" and ev.data.get("live_release") == release
        ):
            found = rec
    return found


STARTED = "started"
"""The outcome of the ``switch`` (prod_swap) or ``redeploy`` event appended just before the
code pointer moves: a switch killed before its outcome (``live``) is recorded still leaves when
the release's code may have started running."""


def live_since(
    records: Sequence[AuditRecord], entries: Sequence[HistoryEntry], entry: HistoryEntry
) -> datetime:
    """From when ``entry``'s release (one of ``entries``, an environment's history) may have
    run in its environment: the earliest ``STARTED`` switch of that release there after the
    history entry before ``entry`` (a switch killed after moving the code, then run again,
    ran the release before its recorded switch), else ``entry.time``."""
    index = next(i for i, e in enumerate(entries) if e.seq == entry.seq)
    after = entries[index - 1].seq if index > 0 else -1
    started = [
        rec.time
        for rec in records
        if after < rec.seq < entry.seq
        and rec.event.action in ("switch", "redeploy")
        and rec.event.outcome == STARTED
        and rec.event.release == entry.live
        and rec.event.environment == entry.environment
    ]
    return min([*started, entry.time])
