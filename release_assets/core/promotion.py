"""Whether an environment may receive a release now: its promotion policy (soak time, approvals)
against what the audit trail holds. Used by the `approval` step (inside the release run) and
by the approval sensor (which resumes a waiting release), so both decide the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from release_assets.config.promotion import PromotionPolicy
from release_assets.core.approvals import ApprovalDecision, ApprovalNeed, evaluate_approvals
from release_assets.core.audit import AuditRecord
from release_assets.core.evidence import release_evidence

SOAK_FROM = "staging_integration_run"
"""The step whose pass starts a release's soak time (docs/configuration.md, ``soak_minutes``)."""


@dataclass(frozen=True)
class ApprovalInputs:
    """What the pipelines repository says about approvals, read at the release's base commit
    (so a release cannot approve itself by editing them): the allowed-signers file's text,
    team members (team -> principals), and the need computed from CODEOWNERS and the change."""

    need: ApprovalNeed
    allowed_signers: str
    members: dict[str, list[str]]
    identities: set[str]


@dataclass(frozen=True)
class Readiness:
    """The answer for one release and environment.

    ``ready``: it may be promoted now. ``waiting_for``: one line per thing still missing
    (teams to approve, soak time left). ``approved_by``: team -> principal. ``refused``: one
    line per recorded approval that does not count, and why. ``soak_until``: when the soak
    time ends (None without one).
    """

    release: str
    environment: str
    ready: bool
    waiting_for: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    approved_by: dict[str, str] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    soak_until: datetime | None = None

    def summary(self) -> str:
        """One line for people: ready, or what it waits for."""
        if self.ready:
            who = ", ".join(f"{t}: {p}" for t, p in sorted(self.approved_by.items()))
            return f"{self.release} may go to {self.environment}" + (
                f" (approved by {who})" if who else ""
            )
        return f"{self.release} waits for {self.environment}: " + "; ".join(self.waiting_for)


def approvals_for(
    records: Sequence[AuditRecord], release: str, environment: str
) -> list[AuditRecord]:
    """The approval records of ``release`` for ``environment``, in chain order."""
    return [
        r
        for r in records
        if r.event.action == "approval"
        and r.event.release == release
        and r.event.environment == environment
    ]


def assess(
    records: Sequence[AuditRecord],
    release: str,
    digest: str,
    environment: str,
    policy: PromotionPolicy,
    approvals: ApprovalInputs | None,
    now: datetime,
    soak_from: str = SOAK_FROM,
) -> Readiness:
    """Decide whether ``environment`` may receive ``release`` (artifact ``digest``) at ``now``.

    ``approvals`` is None when the policy needs none. The soak time runs from the latest
    pass of ``soak_from`` in the audit trail (production: the integration run; another
    environment: the deployment to the environment before it).
    """
    waiting: list[str] = []
    soak_until = None
    if policy.soak_minutes > 0:
        passed = release_evidence(records, release).latest.get(soak_from)
        if passed is None or passed.event.outcome != "passed":
            waiting.append(f"its soak time of {policy.soak_minutes:g} min (no passed {soak_from})")
        else:
            soak_until = passed.time + timedelta(minutes=policy.soak_minutes)
            if now < soak_until:
                left = (soak_until - now).total_seconds() / 60
                waiting.append(f"its soak time ({left:.1f} of {policy.soak_minutes:g} min left)")
    decision: ApprovalDecision | None = None
    reasons: list[str] = []
    if approvals is not None and approvals.need.required:
        reasons = list(approvals.need.reasons)
        decision = evaluate_approvals(
            approvals.need,
            approvals_for(records, release, environment),
            release=release,
            digest=digest,
            environment=environment,
            identities=approvals.identities,
            members=approvals.members,
            allowed_signers=approvals.allowed_signers,
            valid_hours=policy.approval.valid_hours,
            now=now,
        )
        if not decision.satisfied:
            waiting.append("an approval by " + ", ".join(decision.missing))
    return Readiness(
        release=release,
        environment=environment,
        ready=not waiting,
        waiting_for=waiting,
        reasons=reasons,
        approved_by=dict(decision.approved_by) if decision else {},
        refused=list(decision.refused) if decision else [],
        soak_until=soak_until,
    )
