"""The demo's approvals: its people's SSH keys and allowed-signers lines, approving with the
`release-assets approve` command, approvals that must not count (expired, another digest),
and waiting for `approval_sensor` to take the release live."""

from __future__ import annotations

import subprocess
from pathlib import Path

import dagster as dg

from release_assets.cli.demo_controls import Say, cli
from release_assets.settings import Settings

APPROVERS = {
    "dana@northstar.example": "dana",  # the author of every demo commit (data-engineering)
    "ana@northstar.example": "ana",  # data-engineering
    "pat@northstar.example": "pat",  # platform
}
"""The demo's people: principal -> key name under ``<state>/demo/keys``."""


def demo_keys(settings: Settings) -> dict[str, Path]:
    """An ed25519 key per demo person (created once): principal -> private key path."""
    folder = settings.state_dir / "demo" / "keys"
    folder.mkdir(parents=True, exist_ok=True)
    keys = {}
    for principal, name in APPROVERS.items():
        key = folder / name
        if not key.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", str(key)],
                check=True,
                capture_output=True,
                timeout=30,
            )
        keys[principal] = key
    return keys


def allowed_signers(keys: dict[str, Path]) -> str:
    """The allowed-signers lines (OpenSSH format) for the demo's people."""
    lines = []
    for principal, key in keys.items():
        public = key.with_name(key.name + ".pub").read_text().split()
        lines.append(f'{principal} namespaces="release-assets-approval" {public[0]} {public[1]}')
    return "\n".join(lines) + "\n"


def approve(settings: Settings, say: Say, tag: str, principal: str) -> int:
    """`release-assets approve <tag> --environment prod` as ``principal`` with their key."""
    key = demo_keys(settings)[principal]
    return cli(
        settings,
        say,
        "approve",
        tag,
        "--environment",
        "prod",
        "--key",
        str(key),
        "--as",
        principal,
        actor=APPROVERS[principal],
    )


def forged_approvals(settings: Settings, say: Say, tag: str, wrong_digest: str) -> None:
    """Append two approvals by ana that must not count: one signed 30 hours ago (expired),
    one for another artifact digest (void). Both are really signed; the trail records them
    as submitted; the approval step and sensor refuse to count them."""
    from datetime import UTC, datetime, timedelta

    from release_assets.cli.audit import audit_store
    from release_assets.core.approvals import ApprovalStatement, sign_statement
    from release_assets.core.audit import AuditEvent
    from release_assets.defs.audit_log import artifact_digest
    from release_assets.defs.definitions import bound_resources

    store = audit_store()
    digest = artifact_digest(bound_resources()["artifact_store"], tag) or ""
    key = demo_keys(settings)["ana@northstar.example"]
    for signed_at, with_digest, why in (
        (datetime.now(UTC) - timedelta(hours=30), digest, "signed 30 hours ago"),
        (datetime.now(UTC), wrong_digest, "for another artifact digest"),
    ):
        statement = ApprovalStatement(
            project="northstar",
            release=tag,
            digest=with_digest,
            environment="prod",
            approver="ana@northstar.example",
            signed_at=signed_at,
        )
        store.append(
            AuditEvent(
                action="approval",
                outcome="approved",
                actor="ana",
                release=tag,
                environment="prod",
                digest=with_digest,
                approver="ana@northstar.example",
                data={"statement": statement.text(), "signature": sign_statement(statement, key)},
                detail=f"demo: an approval {why}",
            )
        )
        say(f"  recorded an approval of {tag} by ana@northstar.example {why}")


def wait_live(instance: dg.DagsterInstance, tag: str, say: Say, timeout_s: float = 300.0) -> None:
    """Wait until ``tag``'s `promote` run (launched by approval_sensor) made it live, saying
    what the runs of the release do meanwhile; raises TimeoutExpired naming the release."""
    from release_assets.cli.demo_outcome import release_outcome, release_runs
    from release_assets.runtimes.processes import watch

    def observe() -> tuple[bool, str]:
        outcome = release_outcome(instance, tag)
        runs = release_runs(instance, tag)
        if not runs:
            return False, "no run"
        latest = runs[0]
        if latest.is_finished and not latest.is_success:
            raise RuntimeError(f"the {latest.job_name} run of {tag} failed: {outcome.describe()}")
        seen = f"{len(runs)} run(s); latest {latest.job_name} {latest.status.value}"
        return outcome.went_live and outcome.finished, seen

    watch(observe, timeout_s, f"approval_sensor to take {tag} live", say)


def approval_story(settings: Settings, say: Say, instance: dg.DagsterInstance, tag: str) -> None:
    """``tag`` waits for prod's approval: v1 is approved by both owning teams; for v2 the
    refusals come first (its author approving herself, an expired approval, one for another
    digest), then a member of the owning team approves. Then the sensor takes it live."""
    say(f"  {tag} needs approval for prod; approvers sign with `ssh-keygen -Y sign` keys")
    if tag == "v2":
        approve(settings, say, tag, "dana@northstar.example")  # the author: refused
        from release_assets.defs.audit_log import artifact_digest
        from release_assets.defs.definitions import bound_resources

        store = bound_resources()["artifact_store"]
        forged_approvals(settings, say, tag, artifact_digest(store, "v1") or "sha256:")
        approve(settings, say, tag, "ana@northstar.example")
        show_refused(say, tag)
    else:
        approve(settings, say, tag, "ana@northstar.example")
        approve(settings, say, tag, "pat@northstar.example")
    wait_live(instance, tag, say)


def show_refused(say: Say, tag: str) -> None:
    """Say which recorded approvals of ``tag`` do not count for prod and why, as the
    `approval` step and `approval_sensor` decide (the same function)."""
    from release_assets.defs.audit_log import artifact_digest
    from release_assets.defs.definitions import bound_resources
    from release_assets.defs.promotion_inputs import readiness

    res = bound_resources()
    prod = res["production"]
    state = readiness(
        res["records"].read(tag),
        prod.name,
        res["promotion"].for_environment(prod.name),
        res["pipelines_repo"].repo,
        res["artifact_store"],
        res["audit"],
        artifact_digest(res["artifact_store"], tag) or "",
    )
    for line in state.refused:
        say(f"  does not count: {line}")
    say(f"  {state.summary()}")
