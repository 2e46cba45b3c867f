"""The auditor's export of one release: from a realistic trail (gates, steps, a refused
self-approval, a signed approval, the swap, a rollback) the JSON and CSV carry the chain
PR -> commits -> gates -> approver -> digest -> environments with times; `since` keeps the
later records only; an approval's signature and other data are never exported."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from release_assets.core.audit import AuditEvent, AuditRecord
from release_assets.core.audit_export import (
    CSV_COLUMNS,
    known_releases,
    records_since,
    release_records,
    release_trail,
    to_csv,
    to_json,
)
from release_assets.runtimes.audit.fake import FakeAuditStore, drop_world

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
COMMIT = "9f2c" * 10
DIGEST = "sha256:" + "d1" * 32
OTHER = "sha256:" + "e2" * 32
STATEMENT = "project: northstar\nrelease: v2\ndigest: " + DIGEST + "\nenvironment: prod\n"


def _events() -> list[AuditEvent]:
    v2: dict[str, Any] = {"release": "v2", "commit": COMMIT, "pull_requests": [41, 42]}
    return [
        AuditEvent(action="step", outcome="passed", actor="sensor:merged_tag_sensor",
                   release="v1", step="prod_swap", environment="prod", digest=OTHER),
        AuditEvent(action="gate", outcome="passed", actor="sensor:merged_tag_sensor",
                   step="validation_gates", gates={"dbt_build": "passed", "secrets": "passed",
                                                   "terraform": "skipped"}, **v2),
        AuditEvent(action="step", outcome="passed", actor="sensor:merged_tag_sensor",
                   step="release_artifact", digest=DIGEST, **v2),
        AuditEvent(action="step", outcome="passed", actor="sensor:merged_tag_sensor",
                   step="staging_deployment", environment="staging", digest=DIGEST, **v2),
        AuditEvent(action="step", outcome="passed", actor="sensor:merged_tag_sensor",
                   step="staging_integration_run", environment="staging", digest=DIGEST, **v2),
        AuditEvent(action="step", outcome="passed", actor="sensor:merged_tag_sensor",
                   step="canary_publish", environment="prod", digest=DIGEST, **v2),
        AuditEvent(action="refusal", outcome="refused", actor="ana@example.com",
                   step="approval", environment="prod", digest=DIGEST,
                   detail="ana@example.com authored commit 9f2c9f2c9f in this release", **v2),
        AuditEvent(action="approval", outcome="approved", actor="bo@example.com",
                   environment="prod", digest=DIGEST, approver="bo@example.com",
                   data={"statement": STATEMENT, "signature": "-----BEGIN SSH SIGNATURE-----"},
                   **v2),
        AuditEvent(action="switch", outcome="live", actor="sensor:approval_sensor",
                   step="prod_swap", environment="prod", digest=DIGEST, approver="bo@example.com",
                   replaced_release="v1", run_id="run-7", **v2),
        AuditEvent(action="rollback", outcome="live", actor="cy@example.com",
                   step="rollback", environment="prod", digest=OTHER, replaced_release="v2",
                   detail="v1 live again in place of v2", data={"live_release": "v1"}, **v2),
        AuditEvent(action="refusal", outcome="refused", actor="dagster-ui (no user)",
                   step="prod_swap", environment="prod", detail="prod_swap refused for "
                   "release v3: validation_gates failed", release="v3"),
    ]  # fmt: skip


@pytest.fixture
def records() -> Iterator[list[AuditRecord]]:
    """The trail as a store appends it, one record every ten minutes from T0."""
    store = FakeAuditStore(world="export-test")
    times = iter(T0 + timedelta(minutes=10 * i) for i in range(100))
    store.state.clock = lambda: next(times)
    try:
        for event in _events():
            store.append(event)
        yield store.records()
    finally:
        drop_world("export-test")


def test_the_trail_of_a_release_is_its_chain_from_pull_requests_to_environments(
    records: list[AuditRecord],
) -> None:
    trail = release_trail(records, "v2")

    assert trail.pull_requests == [41, 42]
    assert trail.commits == [COMMIT]
    assert [(g.gate, g.verdict) for g in trail.gates] == [
        ("dbt_build", "passed"), ("secrets", "passed"), ("terraform", "skipped")
    ]  # fmt: skip
    (approval,) = trail.approvals
    assert (approval.approver, approval.environment, approval.digest) == (
        "bo@example.com", "prod", DIGEST
    )  # fmt: skip
    assert approval.time == T0 + timedelta(minutes=70)
    assert approval.statement == STATEMENT
    assert trail.digests == [DIGEST]
    assert [a.step for a in trail.steps] == ["validation_gates", "release_artifact"]
    assert list(trail.environments) == ["staging", "prod"]
    assert [(a.step, a.time) for a in trail.environments["staging"]] == [
        ("staging_deployment", T0 + timedelta(minutes=30)),
        ("staging_integration_run", T0 + timedelta(minutes=40)),
    ]
    assert [(a.action, a.outcome, a.actor) for a in trail.environments["prod"]] == [
        ("step", "passed", "sensor:merged_tag_sensor"),
        ("refusal", "refused", "ana@example.com"),
        ("approval", "approved", "bo@example.com"),
        ("switch", "live", "sensor:approval_sensor"),
        ("rollback", "live", "cy@example.com"),
    ]
    assert trail.environments["prod"][-1].live_release == "v1"


def test_the_json_export_carries_the_chain_and_never_the_signature(
    records: list[AuditRecord],
) -> None:
    mine = release_records(records, "v2")
    body = json.loads(to_json(mine, release_trail(mine, "v2")))

    assert body["trail"]["pull_requests"] == [41, 42]
    assert body["trail"]["approvals"][0]["approver"] == "bo@example.com"
    assert body["trail"]["environments"]["prod"][3]["time"] == "2026-11-30T10:20:00.000000Z"
    assert [r["seq"] for r in body["records"]] == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    swap = body["records"][7]
    assert (swap["action"], swap["replaced_release"], swap["run_id"]) == ("switch", "v1", "run-7")
    assert swap["prev_hash"] == body["records"][6]["hash"]
    assert "SSH SIGNATURE" not in json.dumps(body)
    assert "data" not in body["records"][6]


def test_the_csv_export_has_one_row_per_record_of_the_release(
    records: list[AuditRecord],
) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(release_records(records, "v2")))))

    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["seq"] for r in rows] == ["2", "3", "4", "5", "6", "7", "8", "9", "10"]
    gates = rows[0]
    assert gates["gates"] == "dbt_build=passed; secrets=passed; terraform=skipped"
    assert gates["pull_requests"] == "#41 #42"
    assert gates["commit"] == COMMIT
    approval = rows[6]
    assert (approval["approver"], approval["environment"], approval["digest"]) == (
        "bo@example.com", "prod", DIGEST
    )  # fmt: skip
    assert approval["statement"] == STATEMENT
    assert (rows[7]["action"], rows[7]["time"]) == ("switch", "2026-11-30T10:20:00.000000Z")
    assert (rows[8]["action"], rows[8]["live_release"], rows[8]["detail"]) == (
        "rollback", "v1", "v1 live again in place of v2"
    )  # fmt: skip
    assert "SSH SIGNATURE" not in to_csv(records)


def test_since_keeps_the_records_at_or_after_that_time(records: list[AuditRecord]) -> None:
    later = records_since(release_records(records, "v2"), T0 + timedelta(minutes=70))

    assert [(r.seq, r.event.action) for r in later] == [
        (8, "approval"), (9, "switch"), (10, "rollback")
    ]  # fmt: skip
    naive = records_since(records, datetime(2026, 11, 30, 10, 30))
    assert [r.seq for r in naive] == [10, 11]


def test_known_releases_are_listed_in_the_order_first_recorded(
    records: list[AuditRecord],
) -> None:
    assert known_releases(records) == ["v1", "v2", "v3"]
    assert release_records(records, "v9") == []
    # v1's trail: live first, replaced by v2's swap, live again through v2's rollback
    assert [r.event.action for r in release_records(records, "v1")] == [
        "step", "switch", "rollback"
    ]  # fmt: skip
    assert release_trail(records, "v1").digests == [OTHER]


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_quoted() -> None:
    from release_assets.core.audit_export import _cell

    assert _cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert _cell("@SUM(A1)") == "'@SUM(A1)"
    assert _cell("reason: INC-7") == "reason: INC-7"
