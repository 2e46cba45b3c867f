"""The README's demo: real local environments, a real git repository of the example pipelines,
and six releases through the release graph. v1 and v2 are meant to go live, v3 to be stopped
by the regression check, v4 (a breaking change to a contracted model) by the dbt validation
gate; what did happen to each is read from Dagster's records and printed beside that. After the
on-call and auditor stories, v5 goes live and the post-release monitor rolls it back
(``demo_monitor``: prod runs its schedules on a compressed clock, the deployment's
``schedules``, and v5 left the daily orders load without one); then v6, a requirements.txt
change, goes live through a blue/green cutover (``demo_blue_green``)."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from release_assets.cli.demo_approvals import allowed_signers, approval_story, demo_keys
from release_assets.cli.demo_outcome import ReleaseOutcome, release_outcome
from release_assets.cli.demo_waits import (
    LAUNCH_TIMEOUT_S,
    DemoStopped,
    one_demo,
    resume,
    wait_finished,
)
from release_assets.cli.oncall import dagster_instance
from release_assets.config import load_release_config
from release_assets.local import environments, stack
from release_assets.local.color_runtime import environment_target
from release_assets.local.seed import seed_environment
from release_assets.runtimes.airflow.dag_probe import import_dags
from release_assets.runtimes.local_layout import EnvironmentLayout
from release_assets.settings import Settings

GENERATOR = "tools/generate_sources.py"
SEEDS = {"staging": 7, "prod": 11}
ORDERS_PER_DAY = 1000
"""Orders the generator writes per day: enough rows that the canary judge's rank test sees a
20 % shift of net_amount (v3) at p < 1e-6 on one day of data (at the generator's default of
200, p = 0.02: above the judge's alpha of 0.01)."""
# What production has already loaded before the first release (its own scheduled runs).
PROD_INGESTION = [
    "ingest_orders",
    "ingest_inventory",
    "ingest_customers",
    "spark_inventory_positions",
]
IGNORE = shutil.ignore_patterns("target", "logs", "__pycache__", "*.duckdb", ".pytest_cache")
RELEASE_TIMEOUT_S = 1800.0

Say = Callable[[str], None]


def seed_sources(settings: Settings, layout: EnvironmentLayout) -> str:
    """Run the repository's synthetic data generator into the environment's source root."""
    generator = settings.pipelines_repo / GENERATOR
    cmd = [sys.executable, str(generator), "--out", str(layout.source_root)]
    cmd += ["--seed", str(SEEDS.get(layout.name, 1)), "--orders-per-day", str(ORDERS_PER_DAY)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{generator} failed for {layout.name}:\n{done.stderr[-2000:]}")
    return done.stdout.strip()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, timeout=60
    ).stdout


def commit_and_tag(repo: Path, message: str, tag: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    git(repo, "tag", "-a", tag, "-m", f"release {tag}")


def create_repository(source: Path, path: Path, signers: str = "") -> None:
    """A git repository (branch main) holding the example pipelines, as the team would have;
    ``signers`` (allowed-signers lines) are the approvers its `.release/allowed_signers`
    lists."""
    if (path / ".git").exists():
        return
    shutil.copytree(source, path, ignore=IGNORE)
    if signers:
        (path / ".release").mkdir(exist_ok=True)
        (path / ".release" / "allowed_signers").write_text(signers)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "dana@northstar.example")
    git(path, "config", "user.name", "Dana Engineer")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "Import the northstar pipelines")


def change_v2(repo: Path) -> None:
    """One DAG and one dbt model change."""
    dag = repo / "dags" / "publish_revenue_report.py"
    dag.write_text(dag.read_text().replace('tags=["northstar",', 'tags=["v2", "northstar",', 1))
    model = repo / "dbt" / "models" / "marts" / "fct_daily_revenue.sql"
    model.write_text(model.read_text().rstrip() + "\n-- v2: documented revenue grain\n")


def change_v3(repo: Path) -> None:
    """A silent data change: ``fct_orders.net_amount`` now includes 20 % VAT. Same rows, same
    columns, same types, every test and contract passes; only the distribution of the amounts
    moved, which the canary judge's rank test on the same inputs finds."""
    mart = repo / "dbt" / "models" / "marts" / "fct_orders.sql"
    sql = mart.read_text()
    net = "        + orders.shipping_amount\n        as decimal(12, 2)\n    ) as net_amount"
    if net not in sql:
        raise RuntimeError(f"{mart}: the net_amount expression v3 edits is not there")
    vat = (
        "        + orders.shipping_amount\n"
        "        -- net amounts now include 20 % VAT\n"
        "        ) * 1.20\n        as decimal(12, 2)\n    ) as net_amount"
    )
    sql = sql.replace(net, vat).replace(
        "    cast(\n        coalesce(totals.gross_amount, 0)\n",
        "    cast(\n        (coalesce(totals.gross_amount, 0)\n",
        1,
    )
    mart.write_text(sql)


def change_v4(repo: Path) -> None:
    """v3's sibling: v3's filter reverted, and ``is_revenue`` dropped from the contracted
    ``fct_orders`` although ``fct_daily_revenue`` reads it: a breaking change."""
    marts = repo / "dbt" / "models" / "marts"
    git(repo, "checkout", "-q", "v2", "--", "dbt/models/marts/fct_orders.sql")
    sql = marts / "fct_orders.sql"
    sql.write_text(
        sql.read_text().replace(
            "    orders.order_status not in ('cancelled', 'returned') as is_revenue,\n", ""
        )
    )
    yml = marts / "_marts.yml"
    yml.write_text(
        re.sub(r"      - name: is_revenue\n(?:        .*\n)*", "", yml.read_text(), count=1)
    )


def prepare(settings: Settings, say: Say) -> None:
    """Environments up, seeded with data, and the pipelines repository created (holding the
    state directory's stack lock: ``DemoStopped`` names the demo already running)."""
    with one_demo(settings.state_dir, "release-assets demo prepare"):
        _prepare(settings, say)


def _prepare(settings: Settings, say: Say) -> None:
    say("starting the local environments (the first run builds the Airflow runtime)...")
    for target in stack.up(settings):
        layout = environments.layout(settings, target.environment)
        creds = layout.credentials()
        login = f"user {creds.username}  password {creds.password}"
        say(f"  {layout.name:8} Airflow {layout.url}  {login}")
        counts = "; ".join(seed_sources(settings, layout).splitlines())
        say(f"  {layout.name:8} sources: {counts}")
    config = load_release_config(settings.pipelines_repo)
    runtime = stack.runtime_for(settings)
    dags = settings.pipelines_repo / config.airflow.dags_folder
    report = import_dags(runtime, dags)
    say(f"  {len(report.dag_ids)} DAGs import in the runtime; import errors: {len(report.errors)}")
    prod = environments.layout(settings, environments.deployment_of(settings).production)
    if not (
        prod.warehouse_path.exists() and prod.lake_root.joinpath("inventory_positions").exists()
    ):
        say("  loading prod's existing data (its ingestion DAGs, once)...")
        seed_environment(prod, runtime, dags, PROD_INGESTION, settings.integration_date)
    keys = demo_keys(settings)
    create_repository(settings.pipelines_repo, Path(settings.git_repo), allowed_signers(keys))
    say(f"  approvers' SSH keys: {keys['ana@northstar.example'].parent} (dana, ana, pat)")
    say(f"  pipelines repository: {settings.git_repo} (branch main)")


def live_in_prod(settings: Settings) -> str | None:
    """The release live in production (None: nothing)."""
    production = environments.deployment_of(settings).production
    return environment_target(settings, production).live_release()


STEPS: list[tuple[str, Callable[[Path], None] | None, str]] = [
    ("v1", None, "First release of the northstar pipelines"),
    ("v2", change_v2, "Merge pull request #7 from dana/revenue-report-v2"),
    ("v3", change_v3, "Merge pull request #8 from dana/orders-filter"),
    ("v4", change_v4, "Merge pull request #9 from dana/orders-slim"),
]

# What each release is meant to show: None = goes live; else the (asset, check)s that stop it.
# v4's broken mart fails dbt's build in the dbt gate and, as deterministically, the example
# repository's own test that builds the dbt project (python_quality): both are reported.
EXPECTED: dict[str, list[tuple[str, str]] | None] = {
    "v1": None,
    "v2": None,
    "v3": [("regression_check", "no_regression")],
    "v4": [("release_candidate", "dbt"), ("release_candidate", "python_quality")],
    "v5": None,
    "v6": None,
}
EXPECTED_TEXT = {
    "v1": "live in prod",
    "v2": "live in prod",
    "v3": "stopped by regression_check's no_regression check (the canary judge: fct_orders' "
    "net_amount shifted, same row count; the rank test's p-value is shown)",
    "v4": "stopped by release_candidate's dbt check (is_revenue dropped from the contracted "
    "fct_orders) and its python_quality check (the repository's own dbt build test)",
    "v5": "live in prod (every gate, the canary and the judge pass); the post-release monitor "
    "then rolls it back: no scheduled orders load, fct_orders goes stale",
    "v6": "live in prod through a blue/green cutover: its requirements.txt adds humanize, so "
    "its staging run, canary and prod DAGs run in green Airflows built from its own runtime",
}


def as_expected(outcome: ReleaseOutcome) -> bool:
    """Whether ``outcome`` (read from Dagster) is what the demo means to show for its tag:
    v1 and v2 succeed and go live; v3 and v4 are stopped by exactly their checks
    (``EXPECTED``)."""
    expected = EXPECTED.get(outcome.tag)
    if expected is None:
        return outcome.succeeded and outcome.went_live
    stopped = sorted(outcome.stopped_by)
    return outcome.finished and not outcome.succeeded and stopped == sorted(expected)


def report(settings: Settings, outcome: ReleaseOutcome, say: Say) -> None:
    """Say what happened to the release, as recorded, and whether that is the demo's point."""
    live = live_in_prod(settings)
    if outcome.succeeded:
        say(f"{outcome.tag} succeeded; live in prod: {live}")
    else:
        say(f"{outcome.describe()} (live in prod: {live})")
    verdict = "as the demo expects" if as_expected(outcome) else "NOT what the demo expects"
    say(f"  {verdict}: {EXPECTED_TEXT.get(outcome.tag, 'nothing')}")


def release_tag(
    settings: Settings,
    say: Say,
    instance: dg.DagsterInstance,
    tags: set[str],
    step: tuple[str, Callable[[Path], None] | None, str],
    timeout_s: float = RELEASE_TIMEOUT_S,
    launch_timeout_s: float = LAUNCH_TIMEOUT_S,
) -> ReleaseOutcome:
    """Tag ``step`` (tag, the change committed first or None, the commit message) unless an
    earlier run of the demo did (``tags``: the repository's tags), follow its release (its
    approvals included) and report what happened to it, read from Dagster."""
    repo = Path(settings.git_repo)
    tag, change, message = step
    if tag in tags:
        outcome = resume(instance, tag, say, timeout_s, launch_timeout_s)
    else:
        if change is None:
            git(repo, "tag", "-a", tag, "-m", f"release {tag}")
        else:
            change(repo)
            commit_and_tag(repo, message, tag)
        say(f"tagged {tag}; the merged_tag_sensor launches its release")
        outcome = wait_finished(instance, tag, say, timeout_s, launch_timeout_s)
    if outcome.succeeded and not outcome.went_live and outcome.waiting:
        say(f"{outcome.describe()}")
        approval_story(settings, say, instance, tag)
        outcome = release_outcome(instance, tag)
    report(settings, outcome, say)
    return outcome


def drive(
    settings: Settings,
    say: Say,
    timeout_s: float = RELEASE_TIMEOUT_S,
    launch_timeout_s: float = LAUNCH_TIMEOUT_S,
    instance: dg.DagsterInstance | None = None,
) -> list[ReleaseOutcome]:
    """Tag v1 to v4 in turn; the sensor of the running Dagster releases each tag. Waits until
    each release's run finished and reports what happened to it, read from Dagster's records
    (never assumed from the tag). Returns the outcomes in tag order.

    Holds the state directory's stack lock (one demo at a time). A re-run continues from the
    recorded state: a release whose runs finished is skipped (and said so), an unfinished one
    is followed. Every wait prints progress at least every 15 s and is bounded
    (``launch_timeout_s`` for the sensor to launch a release, ``timeout_s`` for its runs);
    ``DemoStopped`` (exit 1, one line) names what ran out or who holds the stack."""
    repo = Path(settings.git_repo)
    if not (repo / ".git").exists():
        raise DemoStopped(
            f"the demo's pipelines repository {repo} does not exist: run `release-assets demo "
            "prepare` first (`make demo` runs both)"
        )
    tags = set(git(repo, "tag").split())
    outcomes: list[ReleaseOutcome] = []
    with contextlib.ExitStack() as stack_:
        stack_.enter_context(one_demo(settings.state_dir, "release-assets demo drive"))
        if instance is None:
            instance = stack_.enter_context(dagster_instance())
        for tag, change, message in STEPS:
            step = (tag, change, message)
            outcomes.append(
                release_tag(settings, say, instance, tags, step, timeout_s, launch_timeout_s)
            )
    return outcomes
