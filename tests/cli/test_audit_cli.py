"""`release-assets audit verify | export` as an auditor runs them, against the trail of the
deployment configuration (``{state_dir}/audit``): verify passes, then names a tampered
record with exit 1; export gives one release's chain as JSON or CSV, `--since` the later
records; an unknown release is one line listing the known ones (exit 2), and so is an audit
store that cannot be read (exit 2, naming the store and the cause); never a traceback."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from release_assets.cli.main import main
from release_assets.core.audit import AuditEvent
from release_assets.runtimes.audit.local import LocalAuditStore
from release_assets.runtimes.audit.types import AuditError, StoredEntry
from release_assets.settings import Settings, settings

DIGEST = "sha256:" + "d1" * 32


def _run(*args: str) -> Result:
    settings.cache_clear()
    result = CliRunner().invoke(main, ["audit", *args])
    settings.cache_clear()
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def trail(isolated_settings: Settings) -> LocalAuditStore:
    """The deployment's trail holding v1 live, then v2 gated, built, approved and swapped."""
    store = LocalAuditStore(root=str(isolated_settings.state_dir / "audit"))
    v2: dict[str, Any] = {
        "release": "v2",
        "commit": "ab12" * 10,
        "pull_requests": [42],
        "digest": DIGEST,
    }
    for event in [
        AuditEvent(action="switch", outcome="live", actor="ops@example.com", release="v1",
                   step="prod_swap", environment="prod"),
        AuditEvent(action="gate", outcome="passed", actor="sensor:merged_tag_sensor",
                   step="validation_gates", gates={"dbt_build": "passed"}, **v2),
        AuditEvent(action="step", outcome="passed", actor="sensor:merged_tag_sensor",
                   step="staging_deployment", environment="staging", **v2),
        AuditEvent(action="approval", outcome="approved", actor="bo@example.com",
                   environment="prod", approver="bo@example.com",
                   data={"statement": "release: v2", "signature": "SECRET-LOOKING SIG"}, **v2),
        AuditEvent(action="switch", outcome="live", actor="sensor:approval_sensor",
                   step="prod_swap", environment="prod", replaced_release="v1", **v2),
    ]:  # fmt: skip
        store.append(event)
    return store


def test_verify_passes_then_names_an_edited_record(trail: LocalAuditStore) -> None:
    intact = _run("verify")

    assert intact.exit_code == 0
    head = trail.records()[-1].hash[:12]
    assert intact.output.startswith("audit trail intact: 5 records from ")
    assert intact.output.endswith(f", head {head} ({trail.root_dir})\n")

    record = trail.root_dir / "00000004.json"
    record.chmod(0o644)
    record.write_text(record.read_text().replace("bo@example.com", "eve@example.com"))
    broken = _run("verify")

    assert broken.exit_code == 1
    assert broken.output == (
        "record 4 (00000004.json) was edited: its content does not match its hash\n"
        f"audit trail NOT intact: 1 problem(s) ({trail.root_dir})\n"
    )


def test_verify_of_an_empty_trail_says_nothing_was_appended(isolated_settings: Settings) -> None:
    result = _run("verify")

    assert result.exit_code == 0
    assert result.output == (
        "audit trail intact: 0 records, nothing appended yet "
        f"({isolated_settings.state_dir / 'audit'})\n"
    )


def test_export_json_gives_the_release_chain(trail: LocalAuditStore) -> None:
    result = _run("export", "--release", "v2")

    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert body["chain"]["intact"] is True
    assert body["chain"]["head"] == trail.records()[-1].hash
    assert body["trail"]["pull_requests"] == [42]
    assert body["trail"]["gates"][0]["gate"] == "dbt_build"
    assert body["trail"]["approvals"][0]["approver"] == "bo@example.com"
    assert body["trail"]["digests"] == [DIGEST]
    assert [a["step"] for a in body["trail"]["environments"]["prod"]] == [None, "prod_swap"]
    assert [r["seq"] for r in body["records"]] == [2, 3, 4, 5]
    assert "SECRET-LOOKING SIG" not in result.output


def test_export_csv_to_a_file_since_a_time(trail: LocalAuditStore, tmp_path: Path) -> None:
    since = datetime.now(UTC)
    trail.append(
        AuditEvent(action="rollback", outcome="live", actor="cy@example.com", release="v1",
                   step="rollback", environment="prod", replaced_release="v2")
    )  # fmt: skip
    out = tmp_path / "v2.csv"

    result = _run("export", "--release", "v2", "--since", since.isoformat(), "--format", "csv",
                  "--output", str(out))  # fmt: skip

    assert result.exit_code == 0
    assert result.output == f"exported 1 record(s) of release v2 to {out} (csv)\n"
    (row,) = csv.DictReader(io.StringIO(out.read_text()))
    assert (row["seq"], row["action"], row["replaced_release"]) == ("6", "rollback", "v2")


def test_export_of_an_unknown_release_lists_the_known_ones(trail: LocalAuditStore) -> None:
    result = _run("export", "--release", "v9")

    assert result.exit_code == 2
    assert result.output == (
        f"error: unknown release 'v9'; releases in the audit trail at {trail.root_dir}: v1, v2\n"
    )


def test_export_of_a_tampered_trail_warns_and_exits_1(trail: LocalAuditStore) -> None:
    (trail.root_dir / "00000002.json").unlink()

    result = _run("export", "--release", "v2", "--format", "json")

    assert result.exit_code == 1
    assert json.loads(result.stdout)["chain"]["problems"] == [
        "record 2 is missing: 00000002.json was removed (record 3 follows record 1)"
    ]
    assert result.stderr == (
        f"warning: the audit trail at {trail.root_dir} is NOT intact (1 problem(s)); "
        "run `release-assets audit verify`\n"
    )


def test_a_since_that_is_not_a_time_is_refused_naming_the_option(
    isolated_settings: Settings,
) -> None:
    result = _run("export", "--since", "yesterday")

    assert result.exit_code == 2
    assert "Invalid value for '--since': 'yesterday' is not an ISO 8601 date or time" in (
        result.output
    )


@pytest.mark.parametrize("command", [["verify"], ["export", "--release", "v2"]])
def test_an_unreachable_audit_store_is_one_line_naming_it_exit_2(
    command: list[str], unreachable_audit_store: str
) -> None:
    endpoint = unreachable_audit_store

    result = _run(*command)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: audit trail s3://ns-audit/trail: {endpoint} is unreachable "
        "(EndpointConnectionError); check the endpoint and network\n"
    )


@pytest.mark.parametrize("command", [["verify"], ["export"]])
def test_an_audit_root_that_is_not_a_folder_is_not_an_intact_trail(
    command: list[str], isolated_settings: Settings
) -> None:
    deployment = yaml.safe_load(isolated_settings.deployment_file.read_text())
    deployment["audit_store"] = {"kind": "local", "root": str(isolated_settings.deployment_file)}
    isolated_settings.deployment_file.write_text(yaml.safe_dump(deployment))

    result = _run(*command)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: audit trail {isolated_settings.deployment_file}: not a folder; "
        "audit_store.root must name the trail's folder\n"
    )


def test_export_verifies_and_exports_the_same_read_of_the_trail(
    trail: LocalAuditStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trail is read once: a store that stops answering after that read cannot turn an
    intact export into "NOT intact" (exit 1), nor can records appended in between go out
    unverified."""
    reads = {"count": 0}

    class AnswersOnce(LocalAuditStore):
        def entries(self) -> list[StoredEntry]:
            reads["count"] += 1
            if reads["count"] > 1:
                raise AuditError(f"audit trail {self.location}: unreachable on a second read")
            return super().entries()

    monkeypatch.setattr(
        "release_assets.cli.audit.audit_store", lambda: AnswersOnce(root=trail.root)
    )

    result = _run("export", "--release", "v2")

    assert result.exit_code == 0, result.output
    exported = json.loads(result.stdout)
    assert exported["chain"]["intact"] is True and exported["chain"]["records"] == 5
