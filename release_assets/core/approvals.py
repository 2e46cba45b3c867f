"""Signed approvals with separation of duties (docs/approvals.md). No Dagster.

An approval is an :class:`ApprovalStatement` (project, release, artifact digest, environment,
approver, time) signed with the approver's SSH key (``ssh-keygen -Y sign``, namespace
:data:`SIGNATURE_NAMESPACE`) and recorded in the audit trail as an ``approval`` event whose
``data`` holds ``statement`` (the signed text) and ``signature``. Whether a release needs
approvals comes from the environment's policy over the change set (:func:`approval_need`);
whether the recorded approvals satisfy it is decided anew each time, from the signed text
alone (:func:`evaluate_approvals`): signatures are verified against the allowed-signers file,
and an approval counts only if its signer is no author or committer of the release, it names
the artifact digest the environment would receive, it is not expired, and its signer is a
member of a team that must approve.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from release_assets.core.approval_statement import (
    SIGNATURE_NAMESPACE,
    ApprovalRefused,
    ApprovalStatement,
    sign_statement,
    verify_signature,
)
from release_assets.core.audit import AuditEvent, AuditRecord
from release_assets.core.changes import ChangeSet
from release_assets.core.ownership import parse_codeowners
from release_assets.core.ssh_signatures import SigningError

FUTURE_TOLERANCE = timedelta(minutes=5)
"""How far a statement's ``signed_at`` may lie ahead of the clock (clock skew)."""

ANY_TEAM = "any team"
"""The team an approval is needed from when the policy requires one and no CODEOWNERS line owns
a changed file: an approval by a member of any team of ``approvals.members`` counts."""

__all__ = [
    "ANY_TEAM",
    "SIGNATURE_NAMESPACE",
    "ApprovalDecision",
    "ApprovalNeed",
    "ApprovalPolicyView",
    "ApprovalRefused",
    "ApprovalStatement",
    "SigningError",
    "approval_need",
    "approval_teams",
    "evaluate_approvals",
    "sign_statement",
    "verify_signature",
]


class ApprovalPolicyView(Protocol):
    """What :func:`approval_need` reads of a policy (``config.promotion.ApprovalPolicy``)."""

    @property
    def required(self) -> str: ...  # "always" | "never" | "when_changed"

    @property
    def when_changed(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class ApprovalNeed:
    """What an environment needs before it may receive a release: ``required``; ``reasons``,
    one line per thing that made it required; ``teams`` that must each approve (the owners of
    the changed files, or :data:`ANY_TEAM`)."""

    required: bool
    reasons: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ApprovalDecision:
    """The recorded approvals against an :class:`ApprovalNeed`: ``satisfied``;
    ``approved_by`` team -> principal (the first approval that counts for the team);
    ``missing`` teams still to approve; ``refused`` one line per approval that does not count,
    naming its approver, its audit record and why."""

    satisfied: bool
    approved_by: dict[str, str]
    missing: list[str]
    refused: list[str]


def _listing(names: Sequence[str], most: int = 3) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _triggers(change: ChangeSet, critical_tables: Sequence[str]) -> dict[str, list[str]]:
    """Kind of change -> one reason per thing of that kind the change touches."""
    every_model = "*" in change.dbt_models
    critical = [
        f"{table.rsplit('.', 1)[-1]} is a critical table ({table}) and its dbt model changed"
        for table in critical_tables
        if every_model or table.rsplit(".", 1)[-1] in change.dbt_models
    ]
    models = ["every dbt model"] if every_model else sorted(change.dbt_models)
    pairs = {
        "critical_tables": critical,
        "contracts": [f"contracts changed: {_listing(change.contracts)}"]
        if change.contracts
        else [],
        "terraform": [f"Terraform changed: {_listing(change.terraform_modules)}"]
        if change.terraform_modules
        else [],
        "requirements": ["the runtime requirements changed"] if change.requirements_changed else [],
        "dags": [f"DAGs changed: {_listing(sorted(change.dag_ids))}"] if change.dag_ids else [],
        "dbt": [f"dbt models changed: {_listing(models)}"] if change.dbt_models else [],
        "spark": [f"Spark jobs changed: {_listing(change.spark_jobs)}"]
        if change.spark_jobs
        else [],
    }
    return pairs


def approval_need(
    policy: ApprovalPolicyView,
    change: ChangeSet,
    critical_tables: list[str],
    codeowners: str,
    files: list[str],
    *,
    known_teams: Collection[str] | None = None,
    codeowners_source: str = ".release/CODEOWNERS",
) -> ApprovalNeed:
    """What ``policy`` needs for a release whose change set is ``change``.

    ``critical_tables``: release.yaml ``critical_tables[].table`` (``marts.fct_orders``; it
    counts as changed when ``change.dbt_models`` holds its model, ``fct_orders``);
    ``codeowners``: the CODEOWNERS text ("" when there is none); ``files``: the changed paths.
    The teams are the owners of ``files`` (last matching line); a file no line owns adds no
    team, and when no changed file has an owner the need is :data:`ANY_TEAM`, so an unowned
    file never makes approval impossible nor lets a release through unapproved. Raises
    ``OwnershipError`` naming the CODEOWNERS line at fault (an owner not written ``@team``,
    a team not in ``known_teams`` when given).
    """
    if policy.required == "never":
        return ApprovalNeed(required=False)
    if policy.required == "always":
        reasons = ["the environment's policy always requires an approval"]
    else:
        triggers = _triggers(change, critical_tables)
        reasons = [reason for kind in policy.when_changed for reason in triggers.get(kind, [])]
        if not reasons:
            return ApprovalNeed(required=False)
    ownership = parse_codeowners(codeowners, known_teams, codeowners_source)
    teams = list(ownership.teams_for(files)) or [ANY_TEAM]
    return ApprovalNeed(required=True, reasons=reasons, teams=teams)


def _short(digest: str | None) -> str:
    if not digest:
        return "(none)"
    algo, _, hexa = digest.partition(":")
    return f"{algo}:{hexa[:12]}.." if hexa else digest[:19]


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def approval_teams(
    event: AuditEvent,
    recorded_at: datetime,
    need: ApprovalNeed,
    *,
    release: str,
    digest: str,
    environment: str,
    identities: set[str],
    members: dict[str, list[str]],
    allowed_signers: str,
    valid_hours: float,
    now: datetime,
    project: str | None = None,
) -> list[str]:
    """The teams of ``need`` one approval ``event`` (recorded at ``recorded_at``) counts for.

    Raises :class:`ApprovalRefused` with the reason when it counts for none: no signed
    statement, a bad signature, a record that disagrees with its statement, another
    project/release/environment, a digest other than ``digest`` ("void"), expired (older
    than ``valid_hours`` from the earlier of ``signed_at`` and ``recorded_at``), signed in the
    future (by more than 5 minutes), a signer in ``identities`` (an author or committer of the
    release), a signer in no team of ``need`` (``members``: team -> principals).
    """
    text, signature = event.data.get("statement"), event.data.get("signature")
    if not text or not signature or not event.approver:
        raise ApprovalRefused("the record holds no signed statement and approver")
    statement = ApprovalStatement.parse(text)
    who = statement.approver
    verify_signature(text, signature, allowed_signers, who)
    recorded = {"approver": event.approver, "release": event.release}
    recorded |= {"environment": event.environment, "digest": event.digest}
    for name, value in recorded.items():
        if value is not None and value != getattr(statement, name):
            raise ApprovalRefused(
                f"the audit record's {name} {value} is not the signed statement's "
                f"{getattr(statement, name)}"
            )
    if project is not None and statement.project != project:
        raise ApprovalRefused(f"it approves project {statement.project}, not {project}")
    if statement.release != release:
        raise ApprovalRefused(f"it approves release {statement.release}, not {release}")
    if statement.environment != environment:
        raise ApprovalRefused(
            f"it approves {statement.environment}, not {environment}: an approval counts for "
            "its own environment only"
        )
    if statement.digest != digest:
        raise ApprovalRefused(
            f"void: approved digest {_short(statement.digest)} but the artifact is {_short(digest)}"
        )
    if statement.signed_at > now + FUTURE_TOLERANCE:
        raise ApprovalRefused(
            f"signed_at {_when(statement.signed_at)} is in the future (now {_when(now)})"
        )
    start = min(statement.signed_at, recorded_at)
    until = start + timedelta(hours=valid_hours)
    if now >= until:
        raise ApprovalRefused(
            f"expired at {_when(until)}: approvals are valid {valid_hours:g} h from {_when(start)}"
        )
    if who.lower() in {i.lower() for i in identities}:
        raise ApprovalRefused(
            "self-approval: the approver is an author or committer of a commit of the release "
            "(separation of duties)"
        )
    teams = [t for t in need.teams if t != ANY_TEAM and _member(who, members.get(t, []))]
    if ANY_TEAM in need.teams and any(_member(who, people) for people in members.values()):
        teams.append(ANY_TEAM)
    if not teams:
        needed = [t for t in need.teams if t != ANY_TEAM] or sorted(members) or ["(none)"]
        raise ApprovalRefused(
            f"not a member of {'any team' if ANY_TEAM in need.teams else 'a team'} that must "
            f"approve ({', '.join(needed)}; approvals.members in release.yaml)"
        )
    return teams


def _member(principal: str, people: Sequence[str]) -> bool:
    return principal.lower() in {p.lower() for p in people}


def evaluate_approvals(
    need: ApprovalNeed,
    approvals: Sequence[AuditRecord],
    *,
    release: str,
    digest: str,
    environment: str,
    identities: set[str],
    members: dict[str, list[str]],
    allowed_signers: str,
    valid_hours: float,
    now: datetime,
    project: str | None = None,
) -> ApprovalDecision:
    """Decide whether the recorded ``approvals`` (``approval`` audit records, in chain order)
    satisfy ``need`` for ``release`` with artifact ``digest`` in ``environment`` at ``now``.

    Each approval is re-verified from its signed statement (:func:`approval_teams` lists the
    rules); one that does not count is a ``refused`` line ``<approver> (audit record <seq>):
    <reason>``. One approval counts for every team of ``need`` its signer is a member of.
    A need that is not required is satisfied. Raises ``SigningError`` when ssh-keygen cannot
    run."""
    approved: dict[str, str] = {}
    refused: list[str] = []
    teams = need.teams or ([ANY_TEAM] if need.required else [])
    for record in approvals:
        event = record.event
        try:
            counts = approval_teams(
                event,
                record.time,
                ApprovalNeed(need.required, need.reasons, teams),
                release=release,
                digest=digest,
                environment=environment,
                identities=identities,
                members=members,
                allowed_signers=allowed_signers,
                valid_hours=valid_hours,
                now=now,
                project=project,
            )
        except ApprovalRefused as exc:
            who = event.approver or event.actor
            refused.append(f"{who} (audit record {record.seq}): {exc}")
            continue
        for team in counts:
            approved.setdefault(team, str(event.approver))
    missing = [t for t in teams if t not in approved] if need.required else []
    return ApprovalDecision(
        satisfied=not missing, approved_by=approved, missing=missing, refused=refused
    )
