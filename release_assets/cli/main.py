"""The `release-assets` command line."""

from __future__ import annotations

import fnmatch
import json
import sys
import tempfile
import warnings
from pathlib import Path

import click

from release_assets.cli.approve import approve
from release_assets.cli.audit import audit
from release_assets.cli.config_summary import parts_summary
from release_assets.cli.deploy_iam import deploy as deploy_group
from release_assets.cli.flags import flag as flag_group
from release_assets.cli.oncall import (
    dagster_home,
    redeploy_command,
    rollback_command,
    status_command,
)
from release_assets.cli.validate import validate
from release_assets.config import DeploymentConfigError, ReleaseConfigError, load_release_config
from release_assets.core.bundle import assemble_bundle
from release_assets.local import environments, stack
from release_assets.local.color_runtime import blue_green_specs
from release_assets.local.environments import UnknownEnvironment
from release_assets.local.stack_lock import StackBusy
from release_assets.runtimes.audit.types import AuditError
from release_assets.settings import settings
from release_assets.validation.entry import check_codeowners

# The Snowflake connector's vendored requests warns on import that this environment's
# urllib3/chardet are newer than it was tested with; it says nothing a user can act on.
warnings.filterwarnings("ignore", message=r"urllib3 .* doesn't match a supported version")

USAGE_ERRORS = (DeploymentConfigError, UnknownEnvironment, StackBusy, AuditError)
"""Errors in what the user configured or asked for, and a store the tool cannot read (the
audit trail unreachable: often a mistyped endpoint): one message naming it, exit code 2 (the
tool could not run), no traceback."""


class _Commands(click.Group):
    """The command group; a configuration or usage error of any subcommand becomes one clear
    message on stderr and exit code 2 (the tool could not run), never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except USAGE_ERRORS as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Commands)
def main() -> None:
    """Release data-pipeline repositories through Dagster assets."""


@main.group()
def config() -> None:
    """The pipelines repository's release.yaml."""


@config.command("validate")
@click.option(
    "--repo",
    type=click.Path(path_type=Path),
    default=Path("."),
    show_default=True,
    help="Repository root (as for `release-assets validate`).",
)
def config_validate(repo: Path) -> None:
    """Validate <repo>/release.yaml and what it names (folders, dbt profile and targets).

    Every problem is listed with its field and what to do (exit 1); a valid file prints what
    each part turns on (exit 0).
    """
    repo = repo.resolve()
    try:
        cfg = load_release_config(repo)
        check_codeowners(repo, cfg)
    except ReleaseConfigError as exc:
        click.echo(str(exc), err=True)
        click.echo(
            f"fix the problem(s) above, then run `release-assets config validate --repo {repo}` "
            "again; docs/pipelines-repository.md describes every field",
            err=True,
        )
        sys.exit(1)
    click.echo(f"{repo / 'release.yaml'}: valid (project {cfg.project})")
    for line in parts_summary(cfg, repo):
        click.echo(f"  {line}")


@main.group()
def local() -> None:
    """The local environments of the deployment configuration (by default staging and prod)."""


@local.command("runtime")
def local_runtime() -> None:
    """Build (or reuse) the Airflow runtime virtualenv and print its path."""
    click.echo(stack.runtime_for(settings()).root)


@local.command("up")
def local_up() -> None:
    """Start every local environment (idempotent) and print URLs and credentials."""
    s = settings()
    for target in stack.up(s):
        layout = environments.layout(s, target.environment)
        creds = layout.credentials()
        click.echo(
            f"{target.environment:8} Airflow {target.url}  user {creds.username}  "
            f"password {creds.password}  warehouse {layout.warehouse_path}"
        )
    click.echo(f"artifacts {environments.artifacts_dir(s)}")


@local.command("down")
def local_down() -> None:
    """Stop every process the environments started; state is kept."""
    for env, stopped in stack.down(settings()).items():
        click.echo(f"{env:8} stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@local.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def local_status(as_json: bool) -> None:
    """What is running and which release is live where."""
    rows = stack.status(settings())
    if as_json:
        click.echo(json.dumps([{**r.__dict__, "warehouse": str(r.warehouse)} for r in rows]))
        return
    for r in rows:
        procs = ", ".join(f"{k}={v or '-'}" for k, v in r.processes.items())
        click.echo(
            f"{r.name:8} {r.health:14} {r.url}  live={r.live_release or '-'}  {procs}  "
            f"rss={r.memory_mb:.0f}MB"
        )


@local.command("deploy")
@click.option(
    "--env", "env_name", required=True, help="Environment name (deployment configuration)."
)
@click.option("--release", "release_id", default="dev", show_default=True)
@click.option("--repo", type=click.Path(path_type=Path), default=None)
def local_deploy(env_name: str, release_id: str, repo: Path | None) -> None:
    """Deploy a working tree's code to one environment (not production) under a release id
    that is not a release tag and not published there yet, and make it live.

    Outside the release graph and its controls: for trying DAGs by hand. Production is
    refused, and so is an id the release graph could later publish (one matching
    ``git.tag_pattern``): a hand-made copy must never be served under a release's name.
    """
    s = settings()
    repo = repo or s.pipelines_repo
    cfg = load_release_config(repo)
    production = environments.deployment_of(s).production
    if env_name == production:
        raise click.UsageError(
            f"{env_name} is production: only the release graph deploys there (tag a release)"
        )
    if fnmatch.fnmatchcase(release_id, cfg.git.tag_pattern):
        raise click.UsageError(
            f"{release_id!r} matches git.tag_pattern {cfg.git.tag_pattern!r}: a hand deploy "
            "may not take a release's name; use another id (default: dev)"
        )
    if env_name in blue_green_specs(environments.deployment_of(s)):
        raise click.UsageError(
            f"{env_name} is blue/green: a hand deploy would bypass its colors; tag a release"
        )
    target = environments.local_airflow(s, env_name)
    if (target.layout.releases_dir / release_id / ".complete").exists() and release_id != "dev":
        raise click.UsageError(f"{release_id!r} is already published to {env_name}")
    with tempfile.TemporaryDirectory() as tmp:
        files = assemble_bundle(repo, cfg, Path(tmp))
        target.publish(release_id, Path(tmp))
    previous = target.activate(release_id)
    click.echo(f"{env_name}: {release_id} live ({len(files)} files; replaced {previous or '-'})")


@local.command("path")
@click.argument("what", type=click.Choice(["state", "dagster_home", "artifacts"]))
def local_path(what: str) -> None:
    """Print a state path (for scripts)."""
    s = settings()
    path = {
        "state": s.state_dir,
        "dagster_home": s.dagster_home,
        "artifacts": environments.artifacts_dir(s),
    }
    path[what].mkdir(parents=True, exist_ok=True)
    if what == "dagster_home":
        dagster_home()
    click.echo(path[what])


@main.group()
def demo() -> None:
    """The demo release of the example repository (`make demo` runs both steps)."""


@demo.command("prepare")
def demo_prepare() -> None:
    """Bring up and seed both environments and create the pipelines git repository."""
    from release_assets.cli.demo import prepare

    prepare(settings(), click.echo)


@demo.command("drive")
def demo_drive() -> None:
    """Tag v1 to v4 in turn and follow their releases, show the release controls as on-call
    and an auditor meet them, then v5 (rolled back by the post-release monitor) and v6 (a
    blue/green cutover) (needs `dagster dev` running). Exits 1 naming what did not go as the
    demo expects (each such part printed a NOT line where it happened)."""
    from release_assets.cli.demo import as_expected, drive
    from release_assets.cli.demo_stories import show_controls

    outcomes = drive(settings(), click.echo)
    off = [o.tag for o in outcomes if not as_expected(o)]
    off += show_controls(settings(), click.echo)
    if off:
        click.echo(f"the demo did NOT go as expected: {', '.join(off)}", err=True)
        raise SystemExit(1)
    click.echo("the demo went as expected: every release and story")


main.add_command(validate)
main.add_command(audit)
main.add_command(approve)
main.add_command(rollback_command)
main.add_command(redeploy_command)
main.add_command(status_command)
main.add_command(deploy_group)
main.add_command(flag_group)


if __name__ == "__main__":  # python -m release_assets.cli.main
    main()
