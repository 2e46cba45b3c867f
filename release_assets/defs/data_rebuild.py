"""The data half of a switch back (rollback, redeploy): run after the code and the stable
names switched, recorded beside the switch, and shown on the step's materialization.

The switch is already done and recorded when the rebuild starts, so a rebuild that fails does
not undo it: the step materializes (the partition shows what is live) with ``data`` saying
"NOT rebuilt", appends a ``data_failed`` event, and then fails the run with the reason, so the
run is red and on-call reads what to do (docs/runbook.md, "The rebuild after a rollback
failed")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg

from release_assets.core.data_rollback import RebuildFailed
from release_assets.core.record import ReleaseRecord
from release_assets.defs.audit_log import StepNote, append_event
from release_assets.defs.failures import step_failures
from release_assets.runtimes.audit.base import AuditStore

Rebuild = Callable[[], tuple[str, dict[str, Any]]]
"""Does the rebuild; returns its one-line summary and the metadata to show."""


def switched_then_rebuilt(
    context: dg.AssetExecutionContext,
    audit: AuditStore,
    record: ReleaseRecord,
    step: str,
    environment: str,
    live_release: str,
    replaced: str,
    metadata: dict[str, Any],
    rebuild: Rebuild,
) -> Iterator[dg.MaterializeResult[None]]:
    """Run ``rebuild`` (errors of ``STEP_ERRORS`` and ``RebuildFailed`` are reported), append
    an audit event (action ``step``'s, outcome ``data_rebuilt`` or ``data_failed``, the
    summary or the first line of the failure as detail, ``live_release``), then yield the
    step's materialization (``metadata`` plus ``data``). Raises ``dg.Failure`` after yielding
    when the rebuild failed, saying ``live_release`` is live in place of ``replaced``."""
    action = "rollback" if step == "rollback" else "redeploy"
    try:
        with step_failures(environment):
            summary, shown = rebuild()
    except (RebuildFailed, dg.Failure) as exc:
        text = (exc.description if isinstance(exc, dg.Failure) else str(exc)) or ""
        first = text.splitlines()[0] if text else "(no reason given)"
        _record(
            context, audit, record, step, action, environment, live_release, "data_failed", first
        )
        yield dg.MaterializeResult(metadata={**metadata, "data": f"NOT rebuilt: {first}"})
        raise dg.Failure(
            description=f"{live_release} is live again in {environment} in place of "
            f"{replaced}, but its data was not rebuilt: {text}",
            allow_retries=False,
        ) from None
    _record(
        context, audit, record, step, action, environment, live_release, "data_rebuilt", summary
    )
    yield dg.MaterializeResult(metadata={**metadata, "data": summary, **shown})


def _record(
    context: dg.AssetExecutionContext,
    audit: AuditStore,
    record: ReleaseRecord,
    step: str,
    action: str,
    environment: str,
    live_release: str,
    outcome: str,
    detail: str,
) -> None:
    note = StepNote(environment=environment, action=action, outcome=outcome, detail=detail)
    note.data = {"live_release": live_release}
    append_event(audit, context, record, step, note)
