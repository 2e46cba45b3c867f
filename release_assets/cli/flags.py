"""`release-assets flag`: list the feature flags of each environment, and turn one on or off.

``flag set`` runs the `feature_flag` job in this process as a named run tagged with the person
(like `rollback`), so the UI, the GraphQL API and the CLI apply the same rules
(``release_assets.core.flags``). One line per outcome; exit 0 done (or already in that state),
1 refused or failed, 2 unknown environment or flag.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from release_assets.cli.oncall import SILENT, dagster_instance, failure_message, operator

JOB = "feature_flag"
NODE = "on_call__feature_flag"


def _environments(resources: dict[str, Any]) -> dict[str, Any]:
    return {k.removeprefix("env_"): v for k, v in resources.items() if k.startswith("env_")}


@click.group("flag")
def flag() -> None:
    """Feature flags: what each environment's live release declares, and their state."""


@flag.command("list")
@click.argument("environment", required=False)
def list_command(environment: str | None) -> None:
    """Each flag declared by the release live in ENVIRONMENT (default: every environment),
    its state there, and whether its flag canary passed for that release (exit 1 when a
    store cannot be read; its line says why)."""
    from release_assets.core.flags import canary_state, state_word
    from release_assets.defs.assets.feature_flag import live_flags
    from release_assets.defs.definitions import bound_resources

    resources = bound_resources()
    envs = _environments(resources)
    if environment is not None and environment not in envs:
        _unknown_environment(environment, envs)
    records = resources["audit"].records()
    unreadable = False
    for name, env in envs.items():
        if environment is not None and name != environment:
            continue
        try:
            live = live_flags(env)
        except Exception as exc:  # a store or release.yaml that cannot be read: one line
            click.echo(f"{name:8} unreadable: {' '.join(str(exc).split())}")
            unreadable = True
            continue
        if live.live_release is None:
            click.echo(f"{name:8} (nothing live)")
            continue
        if not live.declared:
            click.echo(f"{name:8} {live.live_release}: declares no feature flags")
        for flag_name in live.declared:
            state = state_word(live.states.get(flag_name, False))
            canary = canary_state(records, flag_name, name, live.live_release, live.digest)
            click.echo(
                f"{name:8} {flag_name:24} {state:3}  canary for {live.live_release}: {canary}"
            )
        undeclared = sorted(set(live.states) - set(live.declared))
        for flag_name in undeclared:
            state = state_word(live.states[flag_name])
            click.echo(f"{name:8} {flag_name:24} {state:3}  (not declared by {live.live_release})")
    if unreadable:
        sys.exit(1)


def _unknown_environment(name: str, envs: dict[str, Any]) -> None:
    click.echo(f"error: unknown environment {name!r}; environments: {', '.join(envs)}", err=True)
    sys.exit(2)


@flag.command("set")
@click.argument("environment")
@click.argument("name")
@click.argument("state", type=click.Choice(["on", "off"]))
@click.option("--reason", required=True, help="Why (recorded in the audit trail).")
@click.option("--verbose", is_flag=True, help="Show Dagster's logs and any stack trace.")
def set_command(environment: str, name: str, state: str, reason: str, verbose: bool) -> None:
    """Turn flag NAME on or off in ENVIRONMENT, with a recorded reason. ON in production
    needs the flag's canary to have passed there for the live release."""
    from release_assets.defs.assets.feature_flag import live_flags
    from release_assets.defs.audit_log import ACTOR_TAG, REASON_TAG
    from release_assets.defs.definitions import bound_resources

    envs = _environments(bound_resources())
    if environment not in envs:
        _unknown_environment(environment, envs)
    try:
        live = live_flags(envs[environment])
    except Exception as exc:  # a store or release.yaml that cannot be read: one line
        click.echo(f"flag {name} {state} in {environment} failed: {exc}", err=True)
        sys.exit(1)
    if name not in live.declared and not (state == "off" and name in live.states):
        serving = live.live_release or "nothing"
        click.echo(
            f"error: unknown flag {name!r} in {environment} (live: {serving}; declared: "
            f"{', '.join(live.declared) or 'none'})",
            err=True,
        )
        sys.exit(2)
    run_config: dict[str, Any] = {
        "ops": {NODE: {"config": {"environment": environment, "state": state, "reason": reason}}}
    }
    tags = {ACTOR_TAG: operator(), REASON_TAG: " ".join(reason.split())}
    started = time.monotonic()
    result = run_flag_job(JOB, name, run_config if verbose else {**run_config, **SILENT}, tags)
    took = f"{time.monotonic() - started:.1f}s, run {result.run_id[:8]}"
    what = f"flag {name} {state} in {environment}"
    if not result.success:
        message = failure_message(result, NODE) or "see the run"
        click.echo(f"{what} failed ({took}): {message}", err=True)
        sys.exit(1)
    if result.asset_materializations_for_node(NODE):
        click.echo(f"{what} done ({took})")
        return
    status, text = _observation(result)
    if status == "unchanged":
        click.echo(f"{what}: {text} ({took})")
        return
    click.echo(f"{what} refused: {text} (recorded in the audit trail)", err=True)
    sys.exit(1)


@flag.command("canary")
@click.argument("name")
@click.option("--verbose", is_flag=True, help="Show Dagster's logs and any stack trace.")
def canary_command(name: str, verbose: bool) -> None:
    """Run flag NAME's canary in production: the live release's DAGs that read it, with the
    flag off and on from the same inputs, judged table by table. Exit 0 passed, 1 failed or
    refused."""

    from release_assets.defs.assets.feature_flag import live_flags
    from release_assets.defs.assets.flag_canary import CHECK
    from release_assets.defs.audit_log import ACTOR_TAG
    from release_assets.defs.definitions import bound_resources

    production = bound_resources()["production"]
    try:
        live = live_flags(production)
    except Exception as exc:  # a store or release.yaml that cannot be read: one line
        click.echo(f"flag canary of {name} failed: {exc}", err=True)
        sys.exit(1)
    if name not in live.declared:  # before a partition is made for a typo
        click.echo(
            f"error: unknown flag {name!r}: {live.live_release or 'nothing'}, live in "
            f"{production.name}, declares {', '.join(live.declared) or 'no flag'}",
            err=True,
        )
        sys.exit(2)
    node = "on_call__flag_canary"
    started = time.monotonic()
    result = run_flag_job("flag_canary", name, {} if verbose else SILENT, {ACTOR_TAG: operator()})
    took = f"{time.monotonic() - started:.1f}s, run {result.run_id[:8]}"
    if not result.success:
        message = failure_message(result, node) or "see the run"
        click.echo(f"flag canary of {name} failed ({took}): {message}", err=True)
        sys.exit(1)
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == CHECK]
    verdict = check.description or ""
    if not check.passed:
        click.echo(f"flag canary of {name} did not pass ({took}): {verdict}", err=True)
        sys.exit(1)
    click.echo(f"flag canary of {name} passed ({took}): {verdict}")


def run_flag_job(job: str, flag: str, run_config: dict[str, Any], tags: dict[str, str]) -> Any:
    """Run the flag job ``job`` (`feature_flag` or `flag_canary`) in this process for the
    partition ``flag`` (added when new) as a named, tagged run; its ExecuteInProcessResult."""

    from release_assets.defs.definitions import defs
    from release_assets.defs.partitions import feature_flags

    with dagster_instance() as instance:
        if flag not in instance.get_dynamic_partitions(feature_flags.name or ""):
            instance.add_dynamic_partitions(feature_flags.name or "", [flag])
        return (
            defs()
            .resolve_job_def(job)
            .execute_in_process(
                run_config=run_config,
                instance=instance,
                partition_key=flag,
                tags=tags,
                raise_on_error=False,
            )
        )


def _observation(result: Any) -> tuple[str, str]:
    for event in result.all_events:
        if event.event_type_value == "ASSET_OBSERVATION":
            meta = event.event_specific_data.asset_observation.metadata
            status = str(meta["status"].value) if "status" in meta else ""
            if status in meta:
                return status, str(meta[status].value)
    return "refused", "no reason recorded"
