"""Gathering what a promotion decision reads: the environment's policy (deployment
configuration), the approval rules of the pipelines repository at the release's base commit,
the identities of the release's authors and committers, and the audit trail."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from release_assets.config.promotion import PromotionPolicy
from release_assets.config.release_config import parse_release_config
from release_assets.core.approvals import ANY_TEAM, ApprovalNeed, SigningError, approval_need
from release_assets.core.evidence import EvidenceMissing
from release_assets.core.git_repo import GitError, GitRepo
from release_assets.core.ownership import OwnershipError, parse_codeowners
from release_assets.core.promotion import SOAK_FROM, ApprovalInputs, Readiness, assess
from release_assets.core.record import ReleaseRecord
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.audit.base import AuditStore

RULE_ERRORS: tuple[type[Exception], ...] = (GitError, OwnershipError, SigningError, ValueError)
"""What reading and applying the approval rules can raise; each names what is at fault."""


class PromotionPolicies(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Each environment's promotion policy from the deployment configuration: ``policies``
    maps environment name -> the policy as JSON (``release_assets.config.promotion``);
    ``before_integration`` lists, in promotion order, the environments a release is deployed
    to before the integration environment (each by its step ``deploy_<name>``)."""

    policies: dict[str, str]
    before_integration: list[str] = []  # noqa: RUF012 - a pydantic field, copied per instance

    @property
    def early_steps(self) -> tuple[str, ...]:
        """The deployment steps of the environments before integration, in order: evidence
        every later step needs too."""
        return tuple(deploy_step(name) for name in self.before_integration)

    def for_environment(self, name: str) -> PromotionPolicy:
        """The policy of ``name`` (the default policy for an environment not listed)."""
        raw = self.policies.get(name)
        return PromotionPolicy.model_validate(json.loads(raw)) if raw else PromotionPolicy()

    @classmethod
    def of(
        cls, policies: dict[str, PromotionPolicy], before_integration: list[str] | None = None
    ) -> PromotionPolicies:
        """The resource for ``policies`` (environment name -> policy)."""
        return cls(
            policies={k: v.model_dump_json() for k, v in policies.items()},
            before_integration=list(before_integration or []),
        )


def deploy_step(environment: str) -> str:
    """The asset key of the deployment step of an environment before integration."""
    return f"deploy_{environment}"


def _read(repo: GitRepo, ref: str, path: str) -> str:
    try:
        return repo.read(ref, path)
    except GitError:
        return ""  # no file: nobody is an allowed signer / no path has an owner


def approval_inputs(
    record: ReleaseRecord,
    policy: PromotionPolicy,
    repo_of: Callable[[], GitRepo],
    artifact_store: ArtifactStore,
) -> ApprovalInputs | None:
    """The approval rules for ``record`` under ``policy`` (None when the policy needs no
    approval). Rules (allowed signers, CODEOWNERS, team members) are read at the release's
    base commit, or at its own commit for a first release; the critical tables are those of
    the base and of the release together (a release cannot drop a table from the list to
    avoid an approval). A release that changes the rules themselves (release.yaml, the
    allowed signers, CODEOWNERS) always needs an approval by their owners, whatever the
    policy's ``when_changed`` says, unless the policy needs none at all."""
    if policy.approval.required == "never":
        return None
    repo = repo_of()
    ref = record.base_commit or record.commit
    rules = parse_release_config(_read(repo, ref, "release.yaml"), Path(f"{ref[:10]}/release.yaml"))
    own = parse_release_config(
        artifact_store.read_file(record.release, "release.yaml").decode(),
        Path(f"{record.release}/release.yaml"),
    )
    critical = sorted({t.table for t in [*own.critical_tables, *rules.critical_tables]})
    codeowners = _read(repo, ref, rules.approvals.codeowners)
    source = f"{rules.approvals.codeowners} at {ref[:10]}"
    files = list(record.change.files)
    need = approval_need(
        policy.approval,
        record.change,
        critical,
        codeowners,
        files,
        known_teams=list(rules.owners.teams),
        codeowners_source=source,
    )
    rule_files = {"release.yaml", rules.approvals.allowed_signers, rules.approvals.codeowners}
    touched = sorted(f for f in files if f in rule_files)
    if touched:
        owners = parse_codeowners(codeowners, list(rules.owners.teams), source)
        teams = sorted({*need.teams, *owners.teams_for(touched)} - {ANY_TEAM}) or [ANY_TEAM]
        need = ApprovalNeed(
            required=True,
            reasons=[*need.reasons, f"the release rules changed: {', '.join(touched)}"],
            teams=teams,
        )
    return ApprovalInputs(
        need=need,
        allowed_signers=_read(repo, ref, rules.approvals.allowed_signers),
        members={k: list(v) for k, v in rules.approvals.members.items()},
        identities=repo.identities(record.base_commit, record.commit),
    )


def readiness(
    record: ReleaseRecord,
    environment: str,
    policy: PromotionPolicy,
    repo_of: Callable[[], GitRepo],
    artifact_store: ArtifactStore,
    audit: AuditStore,
    digest: str,
    soak_from: str = SOAK_FROM,
) -> Readiness:
    """Whether ``environment`` may receive ``record``'s release now (see ``core.promotion``).
    ``repo_of`` opens the pipelines repository, only when the policy needs approvals. Raises
    one of ``RULE_ERRORS`` when the rules cannot be read (the repository, a CODEOWNERS line,
    ssh-keygen)."""
    return assess(
        audit.records(),
        record.release,
        digest,
        environment,
        policy,
        approval_inputs(record, policy, repo_of, artifact_store),
        datetime.now(UTC),
        soak_from,
    )


def require_policy(
    step: str,
    record: ReleaseRecord,
    environment: str,
    promotion: PromotionPolicies,
    repo_of: Callable[[], GitRepo],
    artifact_store: ArtifactStore,
    audit: AuditStore,
    digest: str,
    soak_from: str,
) -> Readiness:
    """For an environment other than production (which waits in its `approval` step instead):
    raise ``EvidenceMissing`` naming what the environment's policy still waits for (approvals,
    soak time); re-materialize the step once it is met."""
    policy = promotion.for_environment(environment)
    state = readiness(
        record, environment, policy, repo_of, artifact_store, audit, digest, soak_from
    )
    if not state.ready:
        raise EvidenceMissing(
            step, record.release, [f"{environment} still waits for " + "; ".join(state.waiting_for)]
        )
    return state


def soak_start(environment: str, promotion: PromotionPolicies) -> str:
    """The step whose pass starts ``environment``'s soak time: the deployment to the
    environment before it, or the artifact for the first one."""
    order = promotion.before_integration
    if environment in order:
        i = order.index(environment)
        return deploy_step(order[i - 1]) if i > 0 else "release_artifact"
    return promotion.early_steps[-1] if promotion.early_steps else "release_artifact"
