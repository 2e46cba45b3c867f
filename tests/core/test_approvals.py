"""Signed approvals as the `approval` step and the approval sensor judge them: a valid one
satisfies the need; self-approval (author or committer), expired, future-dated, another digest,
a key not in the allowed signers, a statement edited after signing, another environment and a
non-member are each refused with one line naming the approver and why; what an environment
needs follows its policy and CODEOWNERS."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from release_assets.config.promotion import ApprovalPolicy
from release_assets.core.approvals import (
    ANY_TEAM,
    ApprovalDecision,
    ApprovalNeed,
    ApprovalRefused,
    ApprovalStatement,
    SigningError,
    approval_need,
    evaluate_approvals,
    sign_statement,
)
from release_assets.core.audit import AuditEvent, AuditRecord
from release_assets.core.changes import ChangeSet
from release_assets.core.git_repo import GitRepo
from release_assets.core.ownership import OwnershipError
from release_assets.runtimes.audit.fake import FakeAuditStore, drop_world

DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PEOPLE = ("ana@northstar.example", "dana@northstar.example", "pat@northstar.example")
MEMBERS = {
    "data-engineering": ["ana@northstar.example", "dana@northstar.example"],
    "platform": ["pat@northstar.example", "ana@northstar.example"],
}
CODEOWNERS = "/dags/ @data-engineering\n/dbt/ @data-engineering\n/terraform/ @platform\n"


def _keygen(path: Path, comment: str) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        timeout=30,
    )
    return path


@dataclass(frozen=True)
class Keys:
    private: dict[str, Path]  # principal -> private key
    stranger: Path  # a key nobody listed
    allowed_signers: str


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    folder = tmp_path_factory.mktemp("keys")
    private = {p: _keygen(folder / p.split("@")[0], p) for p in PEOPLE}
    signers = "".join(
        f'{p} namespaces="release-assets-approval" '
        + " ".join(k.with_name(k.name + ".pub").read_text().split()[:2])
        + "\n"
        for p, k in private.items()
    )
    return Keys(private, _keygen(folder / "stranger", "eve@elsewhere.example"), signers)


@pytest.fixture
def trail() -> Iterator[FakeAuditStore]:
    world = f"approvals-{uuid.uuid4().hex[:8]}"
    yield FakeAuditStore(world=world)
    drop_world(world)


def _statement(principal: str, **changes: object) -> ApprovalStatement:
    fields: dict[str, object] = {
        "project": "northstar",
        "release": "v2",
        "digest": DIGEST,
        "environment": "prod",
        "approver": principal,
        "signed_at": NOW - timedelta(minutes=10),
    }
    return ApprovalStatement.model_validate({**fields, **changes})


def _record(
    trail: FakeAuditStore,
    statement: ApprovalStatement,
    key: Path,
    *,
    recorded_at: datetime = NOW - timedelta(minutes=9),
    text: str | None = None,
) -> AuditRecord:
    trail.state.clock = lambda: recorded_at
    return trail.append(
        AuditEvent(
            action="approval",
            outcome="approved",
            actor=statement.approver,
            release=statement.release,
            environment=statement.environment,
            digest=statement.digest,
            approver=statement.approver,
            data={
                "statement": text if text is not None else statement.text(),
                "signature": sign_statement(statement, key),
            },
        )
    )


def _decide(
    keys: Keys,
    records: list[AuditRecord],
    teams: list[str] | None = None,
    identities: set[str] | None = None,
) -> ApprovalDecision:
    need = ApprovalNeed(required=True, reasons=["fct_orders"], teams=teams or ["data-engineering"])
    return evaluate_approvals(
        need,
        records,
        release="v2",
        digest=DIGEST,
        environment="prod",
        identities=identities if identities is not None else {"dana@northstar.example"},
        members=MEMBERS,
        allowed_signers=keys.allowed_signers,
        valid_hours=24,
        now=NOW,
    )


def _one_refusal(decision: ApprovalDecision) -> str:
    assert not decision.satisfied and not decision.approved_by
    (line,) = decision.refused
    return line


def test_a_valid_approval_by_a_member_who_wrote_nothing_satisfies(
    keys: Keys, trail: FakeAuditStore
) -> None:
    ana = "ana@northstar.example"
    decision = _decide(keys, [_record(trail, _statement(ana), keys.private[ana])])

    assert decision == ApprovalDecision(
        satisfied=True, approved_by={"data-engineering": ana}, missing=[], refused=[]
    )


def test_self_approval_by_an_author_is_refused(keys: Keys, trail: FakeAuditStore) -> None:
    dana = "dana@northstar.example"
    decision = _decide(keys, [_record(trail, _statement(dana), keys.private[dana])])

    line = _one_refusal(decision)
    assert line.startswith("dana@northstar.example (audit record 1): self-approval")
    assert "separation of duties" in line
    assert decision.missing == ["data-engineering"]


def test_self_approval_by_a_committer_is_refused(
    keys: Keys, trail: FakeAuditStore, tmp_path: Path
) -> None:
    """Ana committed (did not author) one commit of the release: git says so, and her approval
    is refused."""
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str, committer: str = "dana@northstar.example") -> str:
        env = {
            "GIT_AUTHOR_NAME": "Dana",
            "GIT_AUTHOR_EMAIL": "dana@northstar.example",
            "GIT_COMMITTER_NAME": "C",
            "GIT_COMMITTER_EMAIL": committer,
            "HOME": str(tmp_path),
            "PATH": "/usr/bin:/bin",
        }
        done = subprocess.run(
            ["git", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    git("init", "-q", "-b", "main")
    git("commit", "-q", "--allow-empty", "-m", "base")
    base = git("rev-parse", "HEAD")
    git("commit", "-q", "--allow-empty", "-m", "change", committer="Ana@Northstar.example")
    identities = GitRepo(str(repo), tmp_path / "mirrors").identities(base, "HEAD")
    assert identities == {"dana@northstar.example", "ana@northstar.example"}

    ana = "ana@northstar.example"
    decision = _decide(keys, [_record(trail, _statement(ana), keys.private[ana])], None, identities)

    assert "ana@northstar.example (audit record 1): self-approval" in _one_refusal(decision)


def test_an_approval_older_than_valid_hours_is_expired(keys: Keys, trail: FakeAuditStore) -> None:
    ana = "ana@northstar.example"
    statement = _statement(ana, signed_at=NOW - timedelta(hours=25))
    decision = _decide(
        keys, [_record(trail, statement, keys.private[ana], recorded_at=NOW - timedelta(hours=1))]
    )

    line = _one_refusal(decision)
    assert line.startswith("ana@northstar.example (audit record 1): expired at 2026-11-30 11:00")
    assert "valid 24 h from 2026-11-29 11:00:00 UTC" in line


def test_an_old_record_expires_even_when_its_statement_claims_a_recent_time(
    keys: Keys, trail: FakeAuditStore
) -> None:
    ana = "ana@northstar.example"
    statement = _statement(ana, signed_at=NOW - timedelta(minutes=1))
    record = _record(trail, statement, keys.private[ana], recorded_at=NOW - timedelta(hours=30))

    assert "expired" in _one_refusal(_decide(keys, [record]))


def test_a_statement_signed_in_the_future_is_refused(keys: Keys, trail: FakeAuditStore) -> None:
    ana = "ana@northstar.example"
    statement = _statement(ana, signed_at=NOW + timedelta(minutes=6))
    line = _one_refusal(_decide(keys, [_record(trail, statement, keys.private[ana])]))

    assert "signed_at 2026-11-30 12:06:00 UTC is in the future" in line


def test_an_approval_of_another_digest_is_void(keys: Keys, trail: FakeAuditStore) -> None:
    ana = "ana@northstar.example"
    statement = _statement(ana, digest=OTHER)
    line = _one_refusal(_decide(keys, [_record(trail, statement, keys.private[ana])]))

    assert line == (
        "ana@northstar.example (audit record 1): void: approved digest sha256:cdcdcdcdcdcd.. "
        "but the artifact is sha256:abababababab.."
    )


def test_a_signature_by_a_key_not_in_allowed_signers_is_refused(
    keys: Keys, trail: FakeAuditStore
) -> None:
    statement = _statement("ana@northstar.example")
    line = _one_refusal(_decide(keys, [_record(trail, statement, keys.stranger)]))

    assert line == (
        "ana@northstar.example (audit record 1): bad signature: it is signed with a key that "
        "is not in the allowed signers file"
    )


def test_a_signature_with_someone_elses_key_is_refused(keys: Keys, trail: FakeAuditStore) -> None:
    statement = _statement("ana@northstar.example")
    line = _one_refusal(_decide(keys, [_record(trail, statement, keys.private[PEOPLE[2]])]))

    assert "signed with the key of pat@northstar.example" in line


def test_a_statement_edited_after_signing_is_refused(keys: Keys, trail: FakeAuditStore) -> None:
    ana = "ana@northstar.example"
    signed = _statement(ana, digest=OTHER)
    edited = signed.model_copy(update={"digest": DIGEST})
    record = _record(trail, signed, keys.private[ana], text=edited.text())
    line = _one_refusal(_decide(keys, [record]))

    assert line.startswith("ana@northstar.example (audit record 1): bad signature: the signature")
    assert "does not verify against the signed text" in line


def test_an_approval_for_another_environment_does_not_count(
    keys: Keys, trail: FakeAuditStore
) -> None:
    ana = "ana@northstar.example"
    statement = _statement(ana, environment="staging")
    line = _one_refusal(_decide(keys, [_record(trail, statement, keys.private[ana])]))

    assert "it approves staging, not prod" in line


def test_a_principal_outside_every_needed_team_is_refused(
    keys: Keys, trail: FakeAuditStore
) -> None:
    pat = "pat@northstar.example"
    line = _one_refusal(_decide(keys, [_record(trail, _statement(pat), keys.private[pat])]))

    assert line == (
        "pat@northstar.example (audit record 1): not a member of a team that must approve "
        "(data-engineering; approvals.members in release.yaml)"
    )


def test_two_teams_needed_one_approved_names_the_other_missing(
    keys: Keys, trail: FakeAuditStore
) -> None:
    pat = "pat@northstar.example"
    records = [_record(trail, _statement(pat), keys.private[pat])]
    decision = _decide(keys, records, teams=["data-engineering", "platform"])

    assert not decision.satisfied
    assert decision.approved_by == {"platform": pat}
    assert decision.missing == ["data-engineering"]


def test_one_approval_counts_for_each_team_its_signer_is_a_member_of(
    keys: Keys, trail: FakeAuditStore
) -> None:
    ana = "ana@northstar.example"
    records = [_record(trail, _statement(ana), keys.private[ana])]
    decision = _decide(keys, records, teams=["data-engineering", "platform"])

    assert decision.satisfied
    assert decision.approved_by == {"data-engineering": ana, "platform": ana}


def test_the_statement_text_is_canonical_and_parses_back() -> None:
    statement = _statement("ana@northstar.example")
    text = statement.text()

    assert text.splitlines()[1:] == [
        "project: northstar",
        "release: v2",
        f"digest: {DIGEST}",
        "environment: prod",
        "approver: ana@northstar.example",
        "signed_at: 2026-11-30T11:50:00Z",
    ]
    assert ApprovalStatement.parse(text) == statement
    with pytest.raises(ApprovalRefused, match="where release belongs"):
        ApprovalStatement.parse(text.replace("release: v2", "relase: v2"))


def test_signing_without_ssh_keygen_says_what_to_install(
    keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("release_assets.core.ssh_signatures.shutil.which", lambda _: None)

    with pytest.raises(SigningError, match=r"ssh-keygen .* is not on PATH.*openssh-client"):
        sign_statement(_statement(PEOPLE[0]), keys.private[PEOPLE[0]])


def test_signing_with_a_missing_key_names_it(tmp_path: Path) -> None:
    with pytest.raises(SigningError, match=r"key .*nokey does not exist"):
        sign_statement(_statement(PEOPLE[0]), tmp_path / "nokey")


# -- what an environment needs ---------------------------------------------------------------
WHEN_CRITICAL = ApprovalPolicy(required="when_changed", when_changed=["critical_tables"])
CRITICAL = ["marts.fct_orders", "marts.dim_customers"]


def _change(**fields: object) -> ChangeSet:
    return ChangeSet(**{"base_release": "v1", "files": [], **fields})  # type: ignore[arg-type]


def test_a_changed_critical_model_needs_its_owners_approval() -> None:
    change = _change(files=["dbt/models/marts/fct_orders.sql"], dbt_models=["fct_orders"])

    need = approval_need(WHEN_CRITICAL, change, CRITICAL, CODEOWNERS, change.files)

    assert need == ApprovalNeed(
        required=True,
        reasons=["fct_orders is a critical table (marts.fct_orders) and its dbt model changed"],
        teams=["data-engineering"],
    )


def test_a_change_touching_nothing_the_policy_names_needs_no_approval() -> None:
    change = _change(files=["dags/orders.py"], dag_ids=["orders"], dbt_models=["stg_orders"])

    assert approval_need(WHEN_CRITICAL, change, CRITICAL, CODEOWNERS, change.files) == (
        ApprovalNeed(required=False)
    )


def test_each_owning_team_must_approve_and_each_trigger_is_a_reason() -> None:
    policy = ApprovalPolicy(required="when_changed", when_changed=["terraform", "requirements"])
    files = ["terraform/modules/landing_bucket/main.tf", "dags/orders.py", "requirements.txt"]
    change = _change(
        files=files,
        terraform_modules=["terraform/modules/landing_bucket"],
        requirements_changed=True,
    )

    need = approval_need(policy, change, CRITICAL, CODEOWNERS, files)

    assert need.reasons == [
        "Terraform changed: terraform/modules/landing_bucket",
        "the runtime requirements changed",
    ]
    assert need.teams == ["data-engineering", "platform"]  # requirements.txt has no owner


def test_never_and_always() -> None:
    change = _change(files=["dags/orders.py"])

    assert not approval_need(ApprovalPolicy(), change, [], CODEOWNERS, change.files).required
    need = approval_need(ApprovalPolicy(required="always"), change, [], CODEOWNERS, change.files)
    assert need.required and need.teams == ["data-engineering"]


def test_without_any_owned_file_any_team_member_may_approve(
    keys: Keys, trail: FakeAuditStore
) -> None:
    change = _change(files=["README.md"])
    need = approval_need(ApprovalPolicy(required="always"), change, [], "", change.files)
    assert need.teams == [ANY_TEAM]

    pat = "pat@northstar.example"
    decision = evaluate_approvals(
        need,
        [_record(trail, _statement(pat), keys.private[pat])],
        release="v2",
        digest=DIGEST,
        environment="prod",
        identities=set(),
        members=MEMBERS,
        allowed_signers=keys.allowed_signers,
        valid_hours=24,
        now=NOW,
    )
    assert decision.satisfied and decision.approved_by == {ANY_TEAM: pat}


def test_a_codeowners_team_unknown_to_release_yaml_names_the_line() -> None:
    change = _change(files=["dags/orders.py"])
    with pytest.raises(OwnershipError) as err:
        approval_need(
            ApprovalPolicy(required="always"),
            change,
            [],
            "# owners\n/dags/ @data-engineering @analytics\n",
            change.files,
            known_teams=["data-engineering", "platform"],
        )

    assert str(err.value) == (
        ".release/CODEOWNERS:2: @analytics (owner of '/dags/') is not a team in release.yaml "
        "owners.teams (data-engineering, platform)"
    )
