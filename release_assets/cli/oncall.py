"""The on-call commands: `status` (what is live where, since when, what came before),
`rollback` and `redeploy`. Each prints one line per outcome; Dagster's own logs and stack
traces only with ``--verbose``. Actions run as named runs of the `rollback` / `redeploy` jobs
(tagged with the person), so the UI shows who did what."""

from __future__ import annotations

import getpass
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import click
import dagster as dg

from release_assets.defs.progress_logger import PROGRESS_ONLY
from release_assets.settings import CHECKOUT_ROOT, environment_value, settings

SILENT = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
"""Run config of a short CLI run without ``--verbose`` (a flag change): nothing but the
command's own outcome line."""


def operator() -> str:
    """Who runs the command: ``RELEASE_ASSETS_ACTOR`` or the login name."""
    return environment_value("RELEASE_ASSETS_ACTOR") or getpass.getuser()


def dagster_home() -> Path:
    """The Dagster instance folder of the settings, created with the local instance template
    (deploy/local/dagster.yaml: queued runs, the prod_swap pool, telemetry off) if it has no
    configuration yet."""
    home = settings().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    instance = home / "dagster.yaml"
    template = CHECKOUT_ROOT / "deploy" / "local" / "dagster.yaml"
    if not instance.exists() and template.exists():
        shutil.copyfile(template, instance)
    return home


def dagster_instance() -> dg.DagsterInstance:
    """The ``dg.DagsterInstance`` in :func:`dagster_home` (``$DAGSTER_HOME`` is not needed:
    `make demo` sets it to the same folder for `dagster dev`); a context manager."""
    return dg.DagsterInstance.from_config(str(dagster_home()))


def _resources() -> dict[str, Any]:
    from release_assets.config.deployment import load_deployment
    from release_assets.defs.resources import build_resources

    s = settings()
    return build_resources(load_deployment(s.deployment_file).resolved(s.state_dir), s)


def failure_message(result: dg.ExecuteInProcessResult, node: str) -> str:
    """The one line a person reads for ``node``'s failure: a ``dg.Failure``'s own description,
    else the error's message ("" when it did not fail)."""
    failure = result.failure_data_for_node(node)
    if failure is None:
        return ""
    user = failure.user_failure_data
    if user is not None and user.description:
        return user.description
    return failure.error.message.strip() if failure.error else "(no error recorded)"


def run_on_call(job: str, release: str, verbose: bool, run_config: dict[str, Any]) -> None:
    """Run the on-call job ``job`` for ``release`` in this process as a named, tagged run
    and print its outcome as one line; exit 0 done, 1 refused or failed, 2 unknown release."""
    import dagster as dg

    from release_assets.defs.audit_log import ACTOR_TAG
    from release_assets.defs.definitions import defs

    node = f"on_call__{job}"
    started = time.monotonic()
    with dagster_instance() as instance:
        known = instance.get_dynamic_partitions("releases")
        if release not in known:
            click.echo(
                f"error: unknown release {release!r}; known releases: {', '.join(known) or 'none'}",
                err=True,
            )
            sys.exit(2)
        # A rollback re-loads and rebuilds for minutes: each step line is shown as it starts.
        config = run_config if verbose else {**run_config, **PROGRESS_ONLY}
        result = (
            defs()
            .resolve_job_def(job)
            .execute_in_process(
                run_config=config,
                instance=instance,
                partition_key=release,
                tags={ACTOR_TAG: operator(), "release": release},
                raise_on_error=False,
            )
        )
    took = f"{time.monotonic() - started:.1f}s"
    if not result.success:
        message = failure_message(result, node) or "see the run"
        click.echo(
            f"{job} of {release} failed ({took}, run {result.run_id[:8]}): {message}", err=True
        )
        sys.exit(1)
    own = dg.AssetKey(["on_call", job])
    mats = [m for m in result.asset_materializations_for_node(node) if m.asset_key == own]
    if not mats:
        refusal = _refusal(result)
        click.echo(f"{job} of {release} refused: {refusal} (recorded in the audit trail)", err=True)
        sys.exit(1)
    live = mats[0].metadata["live_release"].value
    data = mats[0].metadata.get("data")
    tail = f"; data: {data.value}" if data is not None else ""
    click.echo(f"{job} of {release} done: {live} is live ({took}, run {result.run_id[:8]}){tail}")


def _refusal(result: Any) -> str:
    for event in result.all_events:
        if event.event_type_value == "ASSET_OBSERVATION":
            meta = event.event_specific_data.asset_observation.metadata
            if "refused" in meta:
                return str(meta["refused"].value)
    return "no reason recorded"


@click.command("rollback")
@click.argument("release")
@click.option("--verbose", is_flag=True, help="Show Dagster's logs and any stack trace.")
def rollback_command(release: str, verbose: bool) -> None:
    """Make the release that was live before RELEASE live again (RELEASE must be live)."""
    run_on_call("rollback", release, verbose, {})


@click.command("redeploy")
@click.argument("release")
@click.option("--reason", required=True, help="Why RELEASE goes live again (recorded).")
@click.option("--verbose", is_flag=True, help="Show Dagster's logs and any stack trace.")
def redeploy_command(release: str, reason: str, verbose: bool) -> None:
    """Make RELEASE, which was live in production before, live again, with a recorded reason."""
    run_config = {"ops": {"on_call__redeploy": {"config": {"reason": reason}}}}
    run_on_call("redeploy", release, verbose, run_config)


@click.command("status")
@click.option("--history", "depth", default=3, show_default=True, help="Earlier entries shown.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status_command(depth: int, as_json: bool) -> None:
    """Which release is live in each environment, since when, how, and what came before."""
    from release_assets.core.history import environment_history

    resources = _resources()
    history = environment_history(resources["audit"].records())
    rows: list[dict[str, Any]] = []
    for key, env in resources.items():
        if not key.startswith("env_"):
            continue
        try:
            serving = env.airflow.live_release()
        except Exception as exc:  # an unreachable Airflow is reported, not raised
            serving = f"unreachable ({type(exc).__name__})"
        entries = history.get(env.name, [])
        colors = _colors(env.airflow)
        rows.append(
            {"environment": env.name, "serving": serving, "history": entries, "colors": colors}
        )
    if as_json:
        click.echo(json.dumps([_json_row(r, depth) for r in rows], indent=2, default=str))
        return
    for row in rows:
        entries = row["history"]
        if not entries:
            click.echo(
                f"{row['environment']:8} live {row['serving'] or '-'} (no release on record)"
            )
            continue
        last = entries[-1]
        approved = f", approved by {last.approver}" if last.approver else ""
        mismatch = "" if row["serving"] == last.live else f"  (Airflow serves {row['serving']}!)"
        click.echo(
            f"{row['environment']:8} live {last.live} since {last.time:%Y-%m-%d %H:%M:%S} UTC "
            f"({last.how} by {last.actor}{approved}){mismatch}"
        )
        for e in reversed(entries[-1 - depth : -1]):
            click.echo(
                f"{'':8}   before: {e.live} from {e.time:%Y-%m-%d %H:%M:%S} ({e.how} by {e.actor})"
            )
        if row["colors"] is not None:
            click.echo(f"{'':8}   {row['colors']}")


def _colors(target: Any) -> str | None:
    """A blue/green environment's line (``airflow: green (cut over from blue at ...)``), else
    None."""
    from release_assets.runtimes.airflow.blue_green import BlueGreenAirflow
    from release_assets.runtimes.airflow.blue_green_status import status_line

    if not isinstance(target, BlueGreenAirflow):
        return None
    try:
        return status_line(target)
    except Exception as exc:  # a state that cannot be read is reported, not raised
        return f"airflow: colors unknown ({type(exc).__name__}: {exc})"


def _json_row(row: dict[str, Any], depth: int) -> dict[str, Any]:
    return {
        "environment": row["environment"],
        "serving": row["serving"],
        "airflow_colors": row["colors"],
        "history": [e.__dict__ for e in row["history"][-1 - depth :]],
    }
