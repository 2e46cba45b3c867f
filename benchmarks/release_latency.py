"""Benchmark: seconds from tag to prod swap for a one-DAG change, and seconds for a rollback
(request -> the previous release served by prod Airflow and the warehouse), median of N runs.

The release is timed from the launch of its run (what the sensor does within its 10 s interval)
to the end of `prod_swap`; the rollback from the request to prod Airflow listing every DAG from
the previous release (the warehouse switches inside the request).

Runs on its own warm local stack (throwaway state, ports 18181/18182), stops what it starts.
Usage: .venv/bin/python benchmarks/release_latency.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import dagster as dg

from release_assets.cli.demo import (
    PROD_INGESTION,
    commit_and_tag,
    create_repository,
    git,
    seed_sources,
)
from release_assets.defs.assets.rollback import rollback
from release_assets.defs.definitions import defs
from release_assets.local import environments, stack
from release_assets.local.seed import seed_environment
from release_assets.runtimes.airflow.local import LocalAirflow
from release_assets.runtimes.processes import wait_until
from release_assets.settings import CHECKOUT_ROOT, load_settings


def _release(instance: dg.DagsterInstance, tag: str) -> None:
    instance.add_dynamic_partitions("releases", [tag])
    job = defs().resolve_job_def("release")
    result = job.execute_in_process(partition_key=tag, instance=instance, raise_on_error=False)
    if not result.success:
        raise SystemExit(f"release {tag} failed")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ra-bench-") as tmp:
        os.environ.update(
            RELEASE_ASSETS_STATE_DIR=str(Path(tmp) / "state"),
            RELEASE_ASSETS_RUNTIMES_DIR=str(CHECKOUT_ROOT / ".state" / "runtimes"),
            RELEASE_ASSETS_GIT_REPO=str(Path(tmp) / "repo"),
            RELEASE_ASSETS_STAGING_AIRFLOW_PORT="18181",
            RELEASE_ASSETS_PROD_AIRFLOW_PORT="18182",
        )
        settings = load_settings()
        repo = Path(settings.git_repo)
        try:
            stack.up(settings)
            for env in ("staging", "prod"):
                seed_sources(settings, environments.layout(settings, env))
            prod_layout = environments.layout(settings, "prod")
            dags = settings.pipelines_repo / "dags"
            runtime = stack.runtime_for(settings)
            seed_environment(prod_layout, runtime, dags, PROD_INGESTION, settings.integration_date)
            create_repository(settings.pipelines_repo, repo)
            prod = LocalAirflow.of_layout(prod_layout)
            with dg.instance_for_test() as instance:
                git(repo, "tag", "-a", "v0", "-m", "warm-up release")
                _release(instance, "v0")  # warm-up: the first release runs every DAG
                releases, rollbacks = [], []
                for i in range(1, args.runs + 1):
                    dag = repo / "dags" / "publish_revenue_report.py"
                    dag.write_text(dag.read_text() + f"\n# benchmark change {i}\n")
                    commit_and_tag(repo, f"One-DAG change {i}", f"v{i}")
                    started = time.monotonic()
                    _release(instance, f"v{i}")
                    releases.append(time.monotonic() - started)

                    started = time.monotonic()
                    dg.materialize(
                        [rollback],
                        partition_key=f"v{i}",
                        instance=instance,
                        resources=defs().resources,
                    )
                    # Every v<i> replaced v0 (the previous one was rolled back): v0 comes back.
                    wait_until(
                        lambda: {d.release for d in prod.list_dags()} == {"v0"},
                        300,
                        "prod to serve the previous release",
                        0.5,
                    )
                    rollbacks.append(time.monotonic() - started)
        finally:
            stack.down(settings)
    print(
        f"tag -> prod swap, one-DAG change  median {statistics.median(releases):6.1f} s  "
        f"(runs: {', '.join(f'{r:.1f}' for r in releases)})"
    )
    print(
        f"rollback -> previous release served median {statistics.median(rollbacks):6.1f} s  "
        f"(runs: {', '.join(f'{r:.1f}' for r in rollbacks)})"
    )


if __name__ == "__main__":
    main()
