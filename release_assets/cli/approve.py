"""`release-assets approve RELEASE --environment prod --key KEY`: sign an approval of a
release's artifact for one environment and record it in the audit trail (docs/approvals.md).

The statement (project, release, the artifact digest in the artifact store, environment,
principal, now) is signed with ``ssh-keygen -Y sign`` and checked at once exactly as the
`approval` step and the approval sensor check it (``core.approvals``, with the rules read at
the release's base commit by ``defs.promotion_inputs.approval_inputs``). An accepted approval
is appended as an ``approval`` audit event; a refused one as a ``refusal`` event. One line per
outcome; exit 0 accepted (or not needed), 1 refused or failed, 2 unknown release or
environment or a usage error. No traceback unless ``--verbose``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from release_assets.settings import settings


def _fail(message: str, code: int) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def git_email() -> str | None:
    """The caller's ``git config user.email`` (None when git or the setting is missing)."""
    try:
        done = subprocess.run(
            ["git", "config", "user.email"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def _resources() -> tuple[Any, dict[str, Any]]:
    from release_assets.config.deployment import load_deployment
    from release_assets.defs.resources import build_resources

    s = settings()
    deployment = load_deployment(s.deployment_file).resolved(s.state_dir)
    return deployment, build_resources(deployment, s)


def known_releases(records_root: str) -> list[str]:
    """The releases with a release record (``<root>/<release>.json``), sorted."""
    return sorted(p.stem for p in Path(records_root).glob("*.json"))


def approve_release(
    release: str, environment: str, key: Path, principal: str, echo: Callable[[str], None]
) -> int:
    """Sign, check and record ``principal``'s approval of ``release`` for ``environment``;
    print one line with ``echo`` (refusals and errors go to stderr). Returns the exit code."""
    from release_assets.config.release_config import parse_release_config
    from release_assets.core.approvals import (
        ApprovalNeed,
        ApprovalRefused,
        ApprovalStatement,
        approval_teams,
        evaluate_approvals,
        sign_statement,
    )
    from release_assets.core.audit import AuditEvent
    from release_assets.core.promotion import approvals_for
    from release_assets.defs.approval_sensor import waiting_releases
    from release_assets.defs.promotion_inputs import approval_inputs

    deployment, resources = _resources()
    if environment not in deployment.names:
        _fail(
            f"error: unknown environment {environment!r}; configured environments: "
            f"{', '.join(deployment.names)}",
            2,
        )
    records = resources["records"]
    known = known_releases(records.root)
    if release not in known:
        _fail(
            f"error: unknown release {release!r}; known releases: {', '.join(known) or 'none'}", 2
        )
    record = records.read(release)
    store, audit = resources["artifact_store"], resources["audit"]
    manifest = store.manifest(release)
    if manifest is None:
        _fail(
            f"refused: {release} has no artifact yet; an approval names the artifact digest, "
            "so approve once release_artifact has run",
            1,
        )
    digest = manifest.digest
    policy = deployment.environment(environment).promotion
    inputs = approval_inputs(record, policy, resources["pipelines_repo"].repo, store)
    need = inputs.need if inputs is not None else ApprovalNeed(required=False)
    if inputs is None or not need.required:
        echo(
            f"{release} needs no approval for {environment} (its promotion policy: approval "
            f"required {policy.approval.required}); nothing recorded"
        )
        return 0
    own = parse_release_config(
        store.read_file(release, "release.yaml").decode(), Path(f"{release}/release.yaml")
    )
    now = datetime.now(UTC)
    statement = ApprovalStatement(
        project=own.project,
        release=release,
        digest=digest,
        environment=environment,
        approver=principal,
        signed_at=now,
    )
    signature = sign_statement(statement, key)
    event = AuditEvent(
        action="approval",
        outcome="approved",
        actor=principal,
        release=release,
        environment=environment,
        commit=record.commit,
        digest=digest,
        approver=principal,
        data={"statement": statement.text(), "signature": signature},
    )
    rules: dict[str, Any] = {
        "release": release,
        "digest": digest,
        "environment": environment,
        "identities": inputs.identities,
        "members": inputs.members,
        "allowed_signers": inputs.allowed_signers,
        "valid_hours": policy.approval.valid_hours,
    }
    try:
        teams = approval_teams(event, now, need, now=now, project=own.project, **rules)
    except ApprovalRefused as exc:
        refusal = event.model_copy(
            update={
                "action": "refusal",
                "outcome": "refused",
                "step": "approval",
                "detail": str(exc),
            }
        )
        audit.append(refusal)
        _fail(f"refused: approval of {release} for {environment} by {principal}: {exc}", 1)
    audit.append(event.model_copy(update={"detail": "counts for " + ", ".join(teams)}))
    decision = evaluate_approvals(
        need, approvals_for(audit.records(), release, environment), now=datetime.now(UTC), **rules
    )
    counted = f"approved {release} for {environment} as {principal} (counts for {', '.join(teams)})"
    if decision.satisfied and release in waiting_releases(audit.records(), environment):
        echo(
            f"{counted}; {release} may now be promoted to {environment} (the approval sensor "
            "resumes it)"
        )
    elif decision.satisfied:
        echo(
            f"{counted}; {release} is not waiting for {environment} now (its approval step has "
            "not run, or the release stopped or went live): the approval counts if it gets there"
        )
    else:
        echo(f"{counted}; still missing an approval by {', '.join(decision.missing)}")
    return 0


@click.command("approve")
@click.argument("release")
@click.option(
    "--environment", "environment", required=True, help="The environment approved for (prod)."
)
@click.option(
    "--key",
    type=click.Path(path_type=Path),
    required=True,
    help="Your SSH private key (or its .pub when ssh-agent holds it); its public key must be "
    "in the pipelines repository's allowed signers file.",
)
@click.option(
    "--as",
    "principal",
    default=None,
    help="Your principal in the allowed signers file (default: your `git config user.email`).",
)
@click.option("--verbose", is_flag=True, help="Show any stack trace.")
def approve(
    release: str, environment: str, key: Path, principal: str | None, verbose: bool
) -> None:
    """Approve RELEASE's artifact for an environment with your SSH signature.

    The approval counts for each team you are a member of (release.yaml approvals.members)
    among those owning the release's change (CODEOWNERS), unless you wrote or committed any
    of its commits, and expires after the environment's valid_hours.
    """
    who = principal or git_email()
    if not who:
        _fail("error: no principal: pass --as EMAIL or set `git config user.email`", 2)
    try:
        code = approve_release(release, environment, key, who, click.echo)
    except Exception as exc:
        if verbose:
            raise
        _fail(f"error: approval of {release} for {environment} failed: {exc}", 1)
    sys.exit(code)
