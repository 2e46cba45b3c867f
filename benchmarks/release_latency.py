"""Benchmark: tag -> prod for a one-DAG change (median, with each step's time) and rollback
request -> prod serving the previous release (median and p95), in process and, with
``--graphql``, launched through a Dagster webserver's GraphQL API and its run queue.

Each release is one run of the `release` job, timed from its launch (what the sensor does) to
the end of `prod_swap`; step times come from the run's step events. Each rollback is one run of
the `rollback` job (what `release-assets rollback` runs), timed from the request to prod
Airflow listing every DAG from the previous release; the release is then made live again with
the `redeploy` job (not timed) so the next rollback has something to undo.

Runs on its own local stack: state in ``--state-dir`` (kept between invocations, so a second
run skips seeding), Airflow on 18281/18282 (log server ports 18291/18292), the Dagster
webserver of ``--graphql`` on 18283. Stops every server it started.
Usage: .venv/bin/python benchmarks/release_latency.py [--runs 3] [--rollbacks 10] [--graphql]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import yaml

PORTS = {"staging": (18281, 18291), "prod": (18282, 18292)}
WEBSERVER_PORT = 18283
CANARY = "__canary_"  # canary copies (of releases stopped at the canary) are not the live DAGs
REDEPLOY_REASON = "benchmark: make the release live again for the next rollback"


def _configure(state_dir: Path) -> None:
    """Own deployment file (own ports, no approvals), own state and Dagster home; before any
    release_assets import reads the settings."""
    state_dir.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parents[1]
    spec = yaml.safe_load((root / "release_assets/config/local_deployment.yaml").read_text())
    for env in spec["environments"]:
        port, log_port = PORTS[env["name"]]
        env["airflow"].update(port=port, log_server_port=log_port)
        env.pop("promotion", None)  # a one-DAG change: no approval in this benchmark
    deployment = state_dir / "deployment.yaml"
    deployment.write_text(yaml.safe_dump(spec, sort_keys=False))
    home = state_dir / "dagster"
    home.mkdir(exist_ok=True)
    shutil.copyfile(root / "deploy/local/dagster.yaml", home / "dagster.yaml")
    os.environ.update(
        RELEASE_ASSETS_STATE_DIR=str(state_dir),
        RELEASE_ASSETS_DEPLOYMENT=str(deployment),
        RELEASE_ASSETS_RUNTIMES_DIR=str(root / ".state" / "runtimes"),
        RELEASE_ASSETS_GIT_REPO=str(state_dir / "repo"),
        RELEASE_ASSETS_ACTOR="benchmark",
        DAGSTER_HOME=str(home),
    )


def p95(values: list[float]) -> float:
    """The 95th percentile by the nearest-rank method (the value 95 % of runs stay under)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _figures(name: str, values: list[float]) -> str:
    runs = ", ".join(f"{v:.1f}" for v in values)
    return (
        f"{name:42} median {statistics.median(values):5.1f} s  p95 {p95(values):5.1f} s  "
        f"(n={len(values)}: {runs})"
    )


class Bench:
    """The benchmark's stack: settings, the pipelines repository, prod Airflow."""

    def __init__(self) -> None:
        from release_assets.local import environments
        from release_assets.settings import load_settings

        self.settings = load_settings()
        self.repo = Path(self.settings.git_repo)
        self.prod = environments.local_airflow(self.settings, "prod")

    def prepare(self) -> None:
        """Stack up; sources, prod's existing data and the repository, once per state dir."""
        from release_assets.cli.demo import PROD_INGESTION, create_repository, seed_sources
        from release_assets.local import environments, stack
        from release_assets.local.seed import seed_environment

        stack.up(self.settings)
        for env in ("staging", "prod"):
            layout = environments.layout(self.settings, env)
            if not layout.source_root.joinpath(".seeded").exists():
                seed_sources(self.settings, layout)
                layout.source_root.joinpath(".seeded").write_text("ok\n")
        prod = environments.layout(self.settings, "prod")
        if not prod.lake_root.joinpath("inventory_positions").exists():
            dags = self.settings.pipelines_repo / "dags"
            runtime = stack.runtime_for(self.settings)
            seed_environment(prod, runtime, dags, PROD_INGESTION, self.settings.integration_date)
        create_repository(self.settings.pipelines_repo, self.repo)

    def release_change(self, instance: dg.DagsterInstance, message: str) -> tuple[str, str]:
        """Commit a one-DAG change, tag it and run its release in process; (tag, run id)."""
        from release_assets.cli.demo import commit_and_tag, git
        from release_assets.defs.definitions import defs

        numbers = [int(t[1:]) for t in git(self.repo, "tag").split() if t[1:].isdigit()]
        tag = f"v{max(numbers, default=0) + 1}"
        dag = self.repo / "dags" / "publish_revenue_report.py"
        dag.write_text(dag.read_text() + f"\n# benchmark: {message}\n")
        commit_and_tag(self.repo, message, tag)
        commit = git(self.repo, "rev-parse", f"{tag}^{{commit}}").strip()
        instance.add_dynamic_partitions("releases", [tag])
        result = (
            defs()
            .resolve_job_def("release")
            .execute_in_process(
                partition_key=tag,
                instance=instance,
                tags={"release": tag, "commit": commit},
                raise_on_error=False,
            )
        )
        if not result.success or self.prod.live_release() != tag:
            failures = [str(e.message) for e in result.all_events if e.is_step_failure]
            raise SystemExit(f"release {tag} did not go live: {failures or 'no step failed'}")
        return tag, result.run_id

    def _on_call(self, instance: dg.DagsterInstance, job: str, tag: str) -> None:
        from release_assets.defs.definitions import defs

        config: dict[str, object] = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
        if job == "redeploy":
            config["ops"] = {"on_call__redeploy": {"config": {"reason": REDEPLOY_REASON}}}
        result = (
            defs()
            .get_job_def(job)
            .execute_in_process(
                run_config=config,
                instance=instance,
                partition_key=tag,
                tags={"release_assets/actor": "benchmark", "release": tag},
                raise_on_error=False,
            )
        )
        if not result.success or not result.get_asset_materialization_events():
            raise SystemExit(f"{job} of {tag} was refused or failed (run {result.run_id})")

    def rollback(self, instance: dg.DagsterInstance, tag: str) -> None:
        """What `release-assets rollback TAG` runs: the `rollback` job, in this process."""
        self._on_call(instance, "rollback", tag)

    def redeploy(self, instance: dg.DagsterInstance, tag: str) -> None:
        """Make ``tag`` live again (the `redeploy` job) for the next rollback."""
        self._on_call(instance, "redeploy", tag)

    def timed(self, request: Callable[[], None], previous: str) -> float:
        """Seconds from ``request()`` to prod Airflow serving every DAG from ``previous``."""
        from release_assets.runtimes.processes import wait_until

        started = time.monotonic()
        request()
        wait_until(
            lambda: (
                {d.release for d in self.prod.list_dags() if CANARY not in d.dag_id} == {previous}
            ),
            300,
            f"prod to serve {previous}",
            0.2,
        )
        return time.monotonic() - started


def bench_tags(repo: Path) -> list[str]:
    from release_assets.cli.demo import git

    return git(repo, "tag").split()


def step_times(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """Step key -> seconds from its start to its success, from the run's events."""
    started: dict[str, float] = {}
    took: dict[str, float] = {}
    for record in instance.get_records_for_run(run_id).records:
        entry = record.event_log_entry
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            started[event.step_key] = entry.timestamp
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            took[event.step_key] = entry.timestamp - started.get(event.step_key, entry.timestamp)
    return took


def queued_s(instance: dg.DagsterInstance, run_id: str) -> float:
    """Seconds from the run's submission to its process starting (run queue + launch)."""
    record = instance.get_run_record_by_id(run_id)
    if record is None or record.start_time is None:
        return float("nan")
    return record.start_time - record.create_timestamp.timestamp()


def start_dagster(state_dir: Path, port: int, tags: list[str]) -> list[Path]:
    """A Dagster webserver (127.0.0.1:``port``) and daemon on the benchmark's instance, each
    in its own session; their pid files. Before the daemon starts, `merged_tag_sensor`'s cursor
    is set to the existing ``tags``, so it launches no release of its own meanwhile."""
    import requests

    from release_assets.runtimes import processes
    from release_assets.settings import CHECKOUT_ROOT, inherited_environment

    bin_dir = Path(sys.executable).parent
    run = state_dir / "dagster-run"
    url = f"http://127.0.0.1:{port}"

    def start(name: str, command: list[str]) -> Path:
        pid_file = run / f"{name}.pid"
        processes.stop(pid_file)
        processes.start(
            f"dagster {name}",
            [*command, "-w", str(CHECKOUT_ROOT / "workspace.yaml")],
            pid_file,
            run / f"{name}.log",
            inherited_environment(),
            CHECKOUT_ROOT,
        )
        return pid_file

    def answers() -> bool:
        try:
            return requests.get(f"{url}/server_info", timeout=2).ok
        except requests.RequestException:
            return False

    webserver = [str(bin_dir / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port)]
    pid_files = [start("webserver", webserver)]
    processes.wait_until(answers, 300, f"the Dagster webserver on {port}", 1.0)
    mutation = (
        "mutation($s: SensorSelector!, $c: String) "
        "{ setSensorCursor(sensorSelector: $s, cursor: $c) { __typename } }"
    )
    selector = {
        "repositoryLocationName": "release_assets",
        "repositoryName": "__repository__",
        "sensorName": "merged_tag_sensor",
    }
    answer = requests.post(
        f"{url}/graphql",
        json={"query": mutation, "variables": {"s": selector, "c": json.dumps(sorted(tags))}},
        timeout=60,
    ).json()
    if answer.get("errors"):
        raise SystemExit(f"could not set the sensor's cursor: {answer['errors']}")
    pid_files.append(start("daemon", [str(bin_dir / "dagster-daemon"), "run"]))
    time.sleep(10)  # the daemon's first queue loop and code location load
    return pid_files


def stop_dagster(pid_files: list[Path]) -> None:
    from release_assets.runtimes import processes

    for pid_file in pid_files:
        processes.stop(pid_file)


def graphql_rollback(port: int, tag: str) -> str:
    """Submit the `rollback` job for ``tag`` as the UI does (GraphQL, through the run queue);
    returns its run id once the run is finished."""
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    run_id = client.submit_job_execution(
        "rollback",
        repository_location_name="release_assets",
        repository_name="__repository__",
        tags={"dagster/partition": tag, "release": tag, "release_assets/actor": "benchmark"},
    )
    while True:
        status = client.get_run_status(run_id)
        if status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE):
            if status != dg.DagsterRunStatus.SUCCESS:
                raise SystemExit(f"GraphQL rollback of {tag} failed (run {run_id})")
            return run_id
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="one-DAG releases to time")
    parser.add_argument("--rollbacks", type=int, default=10, help="rollbacks to time")
    parser.add_argument("--graphql", action="store_true", help="also time rollbacks via GraphQL")
    parser.add_argument("--graphql-only", action="store_true", help="no in-process rollbacks")
    parser.add_argument("--state-dir", type=Path, default=Path("/tmp/h3state"))
    args = parser.parse_args()
    state_dir = args.state_dir.resolve()
    _configure(state_dir)
    from release_assets.local import stack

    bench = Bench()
    releases: list[float] = []
    steps: dict[str, list[float]] = {}
    rollbacks: list[float] = []
    via_graphql: list[float] = []
    in_queue: list[float] = []
    dagster: list[Path] = []
    try:
        bench.prepare()
        with dg.DagsterInstance.get() as instance:
            if bench.prod.live_release() is None:
                bench.release_change(instance, "warm-up")  # the first release runs every DAG
            previous = bench.prod.live_release() or ""
            last = ""
            for i in range(max(1, args.runs)):
                previous = bench.prod.live_release() or ""
                started = time.monotonic()
                last, run_id = bench.release_change(instance, f"one-DAG change {i + 1}")
                releases.append(time.monotonic() - started)
                for step, took in step_times(instance, run_id).items():
                    steps.setdefault(step, []).append(took)
            for _ in range(0 if args.graphql_only else args.rollbacks):
                rollbacks.append(bench.timed(lambda: bench.rollback(instance, last), previous))
                bench.redeploy(instance, last)
            if args.graphql or args.graphql_only:
                tags = bench_tags(bench.repo)
                dagster = start_dagster(state_dir, WEBSERVER_PORT, tags)
                runs: list[str] = []

                def request() -> None:
                    runs.append(graphql_rollback(WEBSERVER_PORT, last))

                for _ in range(args.rollbacks):
                    via_graphql.append(bench.timed(request, previous))
                    in_queue.append(queued_s(instance, runs[-1]))
                    bench.redeploy(instance, last)
    finally:
        stop_dagster(dagster)
        stack.down(bench.settings)
    print(_figures("tag -> prod swap, one-DAG change", releases))
    for step, values in steps.items():
        print(f"  {step:40} median {statistics.median(values):5.1f} s")
    if rollbacks:
        print(_figures("rollback (in process) -> previous served", rollbacks))
    if via_graphql:
        print(_figures("rollback (GraphQL, run queue) -> served", via_graphql))
        print(_figures("  of which submitted -> run process started", in_queue))


if __name__ == "__main__":
    main()
