"""`release-assets approve` as an approver types it, against a real git repository of the
example: an approval by a team member who wrote nothing of the release is recorded and says
the release may now be promoted; the author's own approval is refused in one line and recorded
as a refusal; an unknown release or environment is one line listing the known ones."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from release_assets.cli.main import main
from release_assets.config.deployment import load_deployment
from release_assets.core.audit import AuditEvent
from release_assets.core.changes import ChangeSet
from release_assets.core.record import ReleaseRecord
from release_assets.defs.io_managers import ReleaseRecordStore
from release_assets.runtimes.artifacts.local import LocalArtifactStore
from release_assets.runtimes.audit.local import LocalAuditStore
from release_assets.settings import Settings, settings
from tests.deployments import write_local_deployment
from tests.pipelines_git import PipelinesGit

ANA, DANA = "ana@northstar.example", "dana@northstar.example"


@dataclass(frozen=True)
class Approvers:
    keys: dict[str, Path]
    audit: LocalAuditStore
    digest: str
    repo: PipelinesGit


def _key(folder: Path, principal: str) -> Path:
    key = folder / principal.split("@")[0]
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", str(key)],
        check=True,
        timeout=30,
    )
    return key


@pytest.fixture
def approvers(
    isolated_settings: Settings,
    pipelines_git: PipelinesGit,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Approvers:
    """v1 (Ana and Dana's keys in the allowed signers) is live; v2, Dana's change to the
    critical fct_orders, has its record and artifact; prod needs an approval when a critical
    table changes."""
    keys = {p: _key(tmp_path, p) for p in (ANA, DANA)}
    signers = "".join(
        f'{p} namespaces="release-assets-approval" '
        + " ".join(k.with_name(k.name + ".pub").read_text().split()[:2])
        + "\n"
        for p, k in keys.items()
    )
    repo = pipelines_git
    (repo.path / ".release" / "allowed_signers").write_text(signers)
    v1 = repo.commit("Approvers Ana and Dana")
    fct = repo.path / "dbt" / "models" / "marts" / "fct_orders.sql"
    fct.write_text(fct.read_text() + "\n-- one more comment\n")
    v2 = repo.commit("Merge pull request #8 from dana/orders")

    deployment = write_local_deployment(
        tmp_path / "approve-deployment.yaml",
        {"staging": 18081, "prod": 18082},
        promotion={
            "prod": {"approval": {"required": "when_changed", "when_changed": ["critical_tables"]}}
        },
    )
    monkeypatch.setenv("RELEASE_ASSETS_DEPLOYMENT", str(deployment))
    settings.cache_clear()
    s = settings()
    resolved = load_deployment(deployment).resolved(s.state_dir)

    change = ChangeSet(
        base_release="v1", files=["dbt/models/marts/fct_orders.sql"], dbt_models=["fct_orders"]
    )
    ReleaseRecordStore(root=str(s.state_dir / "records")).write(
        ReleaseRecord(
            release="v2", commit=v2, base_release="v1", base_commit=v1, change=change, dags={}
        )
    )
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    shutil.copyfile(repo.path / "release.yaml", bundle / "release.yaml")
    store = LocalArtifactStore(root=str(resolved.artifact_store.root))
    digest = store.put_bundle("v2", bundle).digest
    audit = LocalAuditStore(root=str(resolved.audit_store.root))
    return Approvers(keys, audit, digest, repo)


def _approve(*args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["approve", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output.strip().splitlines()


def test_an_approval_by_a_member_who_wrote_nothing_is_recorded(approvers: Approvers) -> None:
    approvers.audit.append(  # v2's approval step ended waiting, as the release run records it
        AuditEvent(
            action="step",
            outcome="waiting",
            actor="sensor:merged_tag_sensor",
            release="v2",
            step="approval",
            environment="prod",
        )
    )
    code, lines = _approve(
        "v2", "--environment", "prod", "--key", str(approvers.keys[ANA]), "--as", ANA
    )

    assert code == 0, lines
    assert lines == [
        "approved v2 for prod as ana@northstar.example (counts for data-engineering); v2 may "
        "now be promoted to prod (the approval sensor resumes it)"
    ]
    (_, record) = approvers.audit.records()
    event = record.event
    assert (event.action, event.outcome, event.release, event.environment) == (
        "approval",
        "approved",
        "v2",
        "prod",
    )
    assert (event.approver, event.digest) == (ANA, approvers.digest)
    assert f"digest: {approvers.digest}" in event.data["statement"]
    assert event.data["signature"].startswith("-----BEGIN SSH SIGNATURE-----")


def test_an_approval_for_a_release_that_is_not_waiting_promises_no_resume(
    approvers: Approvers,
) -> None:
    code, lines = _approve(
        "v2", "--environment", "prod", "--key", str(approvers.keys[ANA]), "--as", ANA
    )

    assert code == 0, lines
    assert lines == [
        "approved v2 for prod as ana@northstar.example (counts for data-engineering); v2 is not "
        "waiting for prod now (its approval step has not run, or the release stopped or went "
        "live): the approval counts if it gets there"
    ]


def test_the_authors_own_approval_is_refused_in_one_line_and_recorded(
    approvers: Approvers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --as the principal is the caller's `git config user.email` (Dana's, in her
    checkout of the pipelines repository)."""
    monkeypatch.chdir(approvers.repo.path)
    code, lines = _approve("v2", "--environment", "prod", "--key", str(approvers.keys[DANA]))

    assert code == 1
    assert lines == [
        "refused: approval of v2 for prod by dana@northstar.example: self-approval: the "
        "approver is an author or committer of a commit of the release (separation of duties)"
    ]
    (record,) = approvers.audit.records()
    assert (record.event.action, record.event.step, record.event.approver) == (
        "refusal",
        "approval",
        DANA,
    )
    assert "self-approval" in record.event.detail


def test_a_key_not_in_the_allowed_signers_is_refused(approvers: Approvers, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    stranger = _key(tmp_path / "elsewhere", "eve@elsewhere.example")
    code, lines = _approve("v2", "--environment", "prod", "--key", str(stranger), "--as", ANA)

    assert code == 1
    assert lines == [
        "refused: approval of v2 for prod by ana@northstar.example: bad signature: it is signed "
        "with a key that is not in the allowed signers file"
    ]


def test_an_unknown_release_lists_the_known_ones(approvers: Approvers) -> None:
    code, lines = _approve(
        "v99", "--environment", "prod", "--key", str(approvers.keys[ANA]), "--as", ANA
    )

    assert code == 2
    assert lines == ["error: unknown release 'v99'; known releases: v2"]
    assert approvers.audit.records() == []


def test_an_unknown_environment_lists_the_configured_ones(approvers: Approvers) -> None:
    code, lines = _approve(
        "v2", "--environment", "production", "--key", str(approvers.keys[ANA]), "--as", ANA
    )

    assert code == 2
    assert lines == [
        "error: unknown environment 'production'; configured environments: staging, prod"
    ]


def test_an_environment_that_needs_no_approval_records_nothing(approvers: Approvers) -> None:
    code, lines = _approve(
        "v2", "--environment", "staging", "--key", str(approvers.keys[ANA]), "--as", ANA
    )

    assert code == 0
    assert lines == [
        "v2 needs no approval for staging (its promotion policy: approval required never); "
        "nothing recorded"
    ]
    assert approvers.audit.records() == []
