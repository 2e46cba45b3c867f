"""`release-assets audit`: export one release's chain for an auditor, verify the trail.

The trail is the deployment configuration's ``audit_store`` (default ``{state_dir}/audit``),
bound as the definitions bind it. docs/auditors-guide.md explains the output.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from release_assets.config.deployment import load_deployment
from release_assets.core.audit import chain_summary, verify_chain
from release_assets.core.audit_export import (
    known_releases,
    records_since,
    release_records,
    release_trail,
    to_csv,
    to_json,
)
from release_assets.runtimes.audit.base import AuditStore, parse_records
from release_assets.runtimes.audit.types import AuditError, format_time
from release_assets.settings import settings


def audit_store() -> AuditStore:
    """The audit trail of the deployment configuration named by the settings; raises
    DeploymentConfigError for a wrong deployment file (shown as one line by the CLI)."""
    from release_assets.defs.resources import build_resources  # Dagster: only when used

    current = settings()
    deployment = load_deployment(current.deployment_file).resolved(current.state_dir)
    store: AuditStore = build_resources(deployment, current)["audit"]
    return store


class _Since(click.ParamType[datetime, object]):
    """An ISO 8601 date or time (``2026-11-30``, ``2026-11-30T14:05``, ``...Z``,
    ``...+01:00``); a time without zone is UTC."""

    name = "datetime"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO 8601 date or time (e.g. 2026-11-30 or "
                "2026-11-30T14:05:00Z)",
                param,
                ctx,
            )
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


STORE_FAILED = 2
"""Exit code when the audit store could not be read (unreachable, credentials rejected, a
folder that cannot be listed): the tool could not check the trail. Exit 1 stays "the trail
is not intact"."""


@contextmanager
def _store_failures(store: AuditStore) -> Iterator[None]:
    """Turn a failed read of ``store`` inside the block into one line on stderr naming the
    store (bucket/prefix or folder) and the cause, and exit ``STORE_FAILED``; never a
    traceback. ``AuditError`` already names the location and the cause (read from the AWS
    failure by ``describe_aws_error``); an ``OSError`` of a local folder gets them added."""
    try:
        yield
    except AuditError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(STORE_FAILED)
    except OSError as exc:
        cause = exc.strerror or type(exc).__name__
        click.echo(f"error: audit trail {store.location} cannot be read: {cause}", err=True)
        sys.exit(STORE_FAILED)


def _when(time: datetime | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC") if time is not None else "-"


@click.group()
def audit() -> None:
    """The audit trail: every release action, hash-chained (docs/auditors-guide.md)."""


@audit.command("verify")
def verify_command() -> None:
    """Check every record against its hash and the one before it, and the head.

    Exit 0 when intact; exit 1 listing each edited, removed, reordered or unreadable record;
    exit 2 with one line naming the store and the cause when the store cannot be read.
    """
    store = audit_store()
    with _store_failures(store):
        problems = verify_chain(store.entries())
    if problems:
        for line in problems:
            click.echo(line)
        click.echo(f"audit trail NOT intact: {len(problems)} problem(s) ({store.location})")
        sys.exit(1)
    with _store_failures(store):
        summary = chain_summary(store.records())
    if summary.count == 0:
        click.echo(f"audit trail intact: 0 records, nothing appended yet ({store.location})")
        return
    click.echo(
        f"audit trail intact: {summary.count} records from {_when(summary.first)} to "
        f"{_when(summary.last)}, head {(summary.head or '')[:12]} ({store.location})"
    )


@audit.command("export")
@click.option("--release", default=None, help="Only this release's chain (a git tag, e.g. v2).")
@click.option("--since", type=_Since(), default=None, help="Only records at or after this time.")
@click.option(
    "--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write here instead of standard output.",
)
def export_command(
    release: str | None, since: datetime | None, fmt: str, output: Path | None
) -> None:
    """Export records for an auditor: one release's chain (PRs, commits, gate verdicts,
    approvals, artifact digests, each environment's actions with times) and its records.

    Exit 2 for a release the trail does not name or a store that cannot be read (one line
    naming the store and the cause); exit 1 when the trail does not verify (the export is
    still written, with the problems in its ``chain``) or has a record that cannot be parsed.
    """
    store = audit_store()
    with _store_failures(store):
        entries = store.entries()  # read once: what is verified is what is exported
    problems = verify_chain(entries)
    try:
        records = parse_records(entries, store.location)
    except AuditError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if release is not None and not release_records(records, release):
        known = ", ".join(known_releases(records)) or "none"
        click.echo(
            f"error: unknown release {release!r}; releases in the audit trail at "
            f"{store.location}: {known}",
            err=True,
        )
        sys.exit(2)
    selected = release_records(records, release) if release is not None else records
    if since is not None:
        selected = records_since(selected, since)
    if fmt == "csv":
        text = to_csv(selected)
    else:
        trail = release_trail(selected, release) if release is not None else None
        chain: dict[str, object] = {
            "location": store.location,
            "intact": not problems,
            "problems": problems,
            "records": len(records),
            "head": records[-1].hash if records else None,
            "since": format_time(since) if since is not None else None,
        }
        text = to_json(selected, trail, chain)
    if output is None:
        click.echo(text, nl=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            click.echo(f"error: cannot write {output}: {exc.strerror}", err=True)
            sys.exit(1)
        what = f" of release {release}" if release else ""
        click.echo(f"exported {len(selected)} record(s){what} to {output} ({fmt})")
    if problems:
        click.echo(
            f"warning: the audit trail at {store.location} is NOT intact "
            f"({len(problems)} problem(s)); run `release-assets audit verify`",
            err=True,
        )
        sys.exit(1)
