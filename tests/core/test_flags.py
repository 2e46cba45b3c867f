"""The flag rules read from audit records built here: the flag canary lookup the `feature_flag`
asset relies on (the record shape the flag canary appends), and each decision."""

from __future__ import annotations

from pathlib import Path

import pytest

from release_assets.core.audit import AuditEvent, AuditRecord
from release_assets.core.flags import (
    FLAG_CANARY_STEP,
    FlagRequest,
    canary_state,
    decide,
    flag_canary_passed,
)
from release_assets.runtimes.audit.local import LocalAuditStore

DIGEST = "a" * 64
OTHER = "b" * 64


def canary(outcome: str, **over: str) -> AuditEvent:
    """A record as the flag canary appends it (``core.flags`` module docstring)."""
    fields = {"environment": "prod", "release": "v3", "digest": DIGEST, "flag": "size_band"}
    fields.update(over)
    return AuditEvent(
        action="step",
        outcome=outcome,
        actor="sensor:flag_canary",
        step=FLAG_CANARY_STEP,
        environment=fields["environment"],
        release=fields["release"],
        digest=fields["digest"],
        data={"flag": fields["flag"]},
    )


def trail(tmp_path: Path, *events: AuditEvent) -> list[AuditRecord]:
    store = LocalAuditStore(root=str(tmp_path / "audit"))
    for event in events:
        store.append(event)
    return store.records()


def test_a_passed_canary_for_the_flag_environment_release_and_digest_counts(
    tmp_path: Path,
) -> None:
    records = trail(tmp_path, canary("passed"))

    assert flag_canary_passed(records, "size_band", "prod", "v3", DIGEST)
    assert canary_state(records, "size_band", "prod", "v3", DIGEST) == "passed"


@pytest.mark.parametrize(
    ("over", "why"),
    [
        ({"flag": "other_flag"}, "another flag"),
        ({"environment": "staging"}, "another environment"),
        ({"release": "v2"}, "another release"),
        ({"digest": OTHER}, "another artifact"),
    ],
)
def test_a_pass_for_anything_else_does_not_count(
    tmp_path: Path, over: dict[str, str], why: str
) -> None:
    records = trail(tmp_path, canary("passed", **over))

    assert not flag_canary_passed(records, "size_band", "prod", "v3", DIGEST), why


def test_the_latest_canary_wins_a_failure_after_a_pass_takes_it_back(tmp_path: Path) -> None:
    records = trail(tmp_path, canary("passed"), canary("failed"))

    assert not flag_canary_passed(records, "size_band", "prod", "v3", DIGEST)
    assert canary_state(records, "size_band", "prod", "v3", DIGEST) == "failed"
    again = trail(tmp_path / "again", canary("failed"), canary("passed"))
    assert flag_canary_passed(again, "size_band", "prod", "v3", DIGEST)


def test_no_digest_never_passes_and_a_pass_on_another_artifact_says_so(tmp_path: Path) -> None:
    records = trail(tmp_path, canary("passed", digest=OTHER))

    assert not flag_canary_passed(records, "size_band", "prod", "v3", None)
    assert canary_state(records, "size_band", "prod", "v3", DIGEST) == (
        "passed on bbbbbbbbbbbb (not the live artifact)"
    )
    assert canary_state([], "size_band", "prod", "v3", DIGEST) == "not run"


def request(**over: object) -> FlagRequest:
    fields: dict[str, object] = {
        "flag": "size_band",
        "environment": "prod",
        "enabled": True,
        "reason": "canary passed, enabling",
        "declared": ("size_band",),
        "live_release": "v3",
        "digest": DIGEST,
        "current": False,
        "judged": True,
    }
    fields.update(over)
    return FlagRequest(**fields)  # type: ignore[arg-type]


def test_decisions_each_name_the_flag_and_the_environment(tmp_path: Path) -> None:
    passed = trail(tmp_path, canary("passed"))

    assert decide(request(), passed) == ("set", "size_band in prod: off -> on")
    assert decide(request(enabled=False, current=True), []) == (
        "set",
        "size_band in prod: on -> off",
    )
    assert decide(request(current=True), passed) == (
        "unchanged",
        "size_band in prod is already on; nothing changed",
    )
    assert decide(request(judged=False), []) == ("set", "size_band in prod: off -> on")


def test_refusals_each_say_why(tmp_path: Path) -> None:
    assert decide(request(), []) == (
        "refuse",
        "turning size_band in prod on needs a passed flag canary for release v3 "
        "(artifact aaaaaaaaaaaa) in prod; its canary: not run",
    )
    assert decide(request(declared=("other",)), []) == (
        "refuse",
        "flag size_band is not declared by release v3, live in prod "
        "(its release.yaml feature_flags: other)",
    )
    assert decide(request(live_release=None), []) == (
        "refuse",
        "nothing is live in prod: flag size_band is declared by no release there",
    )
    assert decide(request(reason=""), []) == (
        "refuse",
        "setting size_band in prod needs a reason (it goes into the audit trail)",
    )


def test_off_is_allowed_for_a_stored_flag_the_live_release_no_longer_declares() -> None:
    gone = request(enabled=False, current=True, stored=True, declared=())

    assert decide(gone, []) == ("set", "size_band in prod: on -> off")
    assert decide(request(enabled=True, stored=True, declared=()), [])[0] == "refuse"
