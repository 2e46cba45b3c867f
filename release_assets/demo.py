"""The README's demo: real local environments seeded with the example repository's data."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from release_assets.config import load_release_config
from release_assets.local import stack
from release_assets.local.dag_import import import_dags
from release_assets.local.layout import EnvironmentLayout
from release_assets.settings import Settings

GENERATOR = "tools/generate_sources.py"
SEEDS = {"staging": 7, "prod": 11}


def seed_sources(settings: Settings, layout: EnvironmentLayout) -> str:
    """Run the repository's synthetic data generator into the environment's source root."""
    generator = settings.pipelines_repo / GENERATOR
    cmd = [
        sys.executable,
        str(generator),
        "--out",
        str(layout.source_root),
        "--seed",
        str(SEEDS.get(layout.name, 1)),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{generator} failed for {layout.name}:\n{done.stderr[-2000:]}")
    return done.stdout.strip()


def run_demo(settings: Settings, say: Callable[[str], None]) -> None:
    say("starting the local environments (first run builds the Airflow runtime)...")
    targets = stack.up(settings)
    for target in targets:
        layout = EnvironmentLayout.of(settings, target.environment)
        creds = layout.credentials()
        say(
            f"  {layout.name:8} Airflow {layout.url}  (user {creds.username}, "
            f"password {creds.password})"
        )
        say(f"  {layout.name:8} sources: {seed_sources(settings, layout)}")
    config = load_release_config(settings.pipelines_repo)
    runtime = stack.runtime_for(settings)
    report = import_dags(runtime, settings.pipelines_repo / config.airflow.dags_folder)
    say(
        f"  {len(report.dag_ids)} DAGs of {settings.pipelines_repo.name} import in the runtime "
        f"({runtime.root}); import errors: {len(report.errors)}"
    )
    for path, error in report.errors.items():
        say(f"    {path}: {error.strip().splitlines()[-1]}")
    say("Dagster UI: http://127.0.0.1:3000  (stop the stack with `release-assets local down`)")
