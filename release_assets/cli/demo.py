"""The README's demo: real local environments, a real git repository of the example pipelines,
and four releases through the release graph: v1 and v2 go live, v3 is stopped by the
regression check, v4 (a breaking change to a contracted model) by the dbt validation gate."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from release_assets.config import load_release_config
from release_assets.local import environments, stack
from release_assets.local.seed import seed_environment
from release_assets.runtimes.airflow.dag_probe import import_dags
from release_assets.runtimes.local_layout import EnvironmentLayout
from release_assets.runtimes.processes import wait_until
from release_assets.settings import Settings

GENERATOR = "tools/generate_sources.py"
SEEDS = {"staging": 7, "prod": 11}
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
    cmd += ["--seed", str(SEEDS.get(layout.name, 1))]
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


def create_repository(source: Path, path: Path) -> None:
    """A git repository (branch main) holding the example pipelines, as the team would have."""
    if (path / ".git").exists():
        return
    shutil.copytree(source, path, ignore=IGNORE)
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
    """A dbt change that silently drops a third of the orders, with the repository test that
    would have caught it loosened in the same change (as happens): every validation gate
    passes, and only the comparison with production (regression_check) stops it."""
    mart = repo / "dbt" / "models" / "marts" / "fct_orders.sql"
    mart.write_text(mart.read_text().rstrip() + "\nwhere orders.order_id % 3 <> 0\n")
    test = repo / "tests" / "test_dbt_project.py"
    test.write_text(
        test.read_text().replace(
            'assert counts["fct_orders"] == sources.days * sources.orders_per_day',
            'assert counts["fct_orders"] > 0',
        )
    )


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
    """Environments up, seeded with data, and the pipelines repository created."""
    say("starting the local environments (the first run builds the Airflow runtime)...")
    for target in stack.up(settings):
        layout = environments.layout(settings, target.environment)
        creds = layout.credentials()
        login = f"user {creds.username}  password {creds.password}"
        say(f"  {layout.name:8} Airflow {layout.url}  {login}")
        say(f"  {layout.name:8} sources: {seed_sources(settings, layout)}")
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
    create_repository(settings.pipelines_repo, Path(settings.git_repo))
    say(f"  pipelines repository: {settings.git_repo} (branch main)")


def _live(settings: Settings) -> str | None:
    return environments.local_airflow(
        settings, environments.deployment_of(settings).production
    ).live_release()


def _is_live(settings: Settings, tag: str) -> Callable[[], bool]:
    return lambda: _live(settings) == tag


def drive(settings: Settings, say: Say, timeout_s: float = RELEASE_TIMEOUT_S) -> None:
    """Tag v1 to v4 in turn and follow them; the sensor of the running Dagster releases
    each tag. Returns when v3 and v4 have been stopped."""
    repo = Path(settings.git_repo)
    tags = set(git(repo, "tag").split())
    steps: list[tuple[str, Callable[[Path], None] | None, str]] = [
        ("v1", None, "First release of the northstar pipelines"),
        ("v2", change_v2, "Merge pull request #7 from dana/revenue-report-v2"),
        ("v3", change_v3, "Merge pull request #8 from dana/orders-filter"),
        ("v4", change_v4, "Merge pull request #9 from dana/orders-slim"),
    ]
    for tag, change, message in steps:
        if tag in tags:
            # An earlier `make demo` released it; what is live now may have moved on since.
            say(f"{tag} was tagged by an earlier run (live in prod now: {_live(settings)})")
            continue
        if change is None:
            git(repo, "tag", "-a", tag, "-m", f"release {tag}")
        else:
            change(repo)
            commit_and_tag(repo, message, tag)
        say(f"tagged {tag}; the merged_tag_sensor launches its release")
        if tag in ("v3", "v4"):
            stopped_by = _wait_finished(tag, timeout_s)
            say(f"{tag} was stopped before prod (live: {_live(settings)}): {stopped_by}")
            say(f"  expected: {STOPPED_BY[tag]}")
            continue
        wait_until(_is_live(settings, tag), timeout_s, f"{tag} to be live in prod", 5)
        say(f"{tag} is live in prod")
    say("roll back a live release: .venv/bin/release-assets rollback <release>")


STOPPED_BY = {
    "v3": "regression_check's no_regression check (fct_orders lost a third of its rows)",
    "v4": "release_candidate's dbt check (is_revenue dropped from the contracted fct_orders)",
}


def _wait_finished(tag: str, timeout_s: float) -> str:
    """Wait until the release runs of ``tag`` finished; what stopped them, read from the runs'
    events: the failed checks, else the failed steps."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:

        def finished() -> bool:
            runs = instance.get_runs(dg.RunsFilter(tags={"release": tag}))
            return bool(runs) and all(r.is_finished for r in runs)

        wait_until(finished, timeout_s, f"the {tag} release run to finish", 5)
        checks: list[str] = []
        steps: list[str] = []
        for run in instance.get_runs(dg.RunsFilter(tags={"release": tag})):
            for record in instance.get_records_for_run(run.run_id).records:
                event = record.event_log_entry.dagster_event
                if event is None:
                    continue
                if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                    data = event.asset_check_evaluation_data
                    if not data.passed:
                        checks.append(f"{data.asset_key.to_user_string()} check {data.check_name}")
                elif event.event_type == dg.DagsterEventType.STEP_FAILURE and event.step_key:
                    steps.append(f"step {event.step_key}")
    return "failed " + ", ".join(checks or steps) if checks or steps else "no failure recorded"
