"""Benchmark: the release latencies of ``benchmarks/release_latency.py`` on the AWS-shaped
profile (``tests/aws_profile``: MWAA stand-in + Airflow 2.11 staging, Airflow 3 prod with git
DAG bundles, Snowflake on fakesnow, S3/Secrets Manager/SSM/EMR Serverless on moto, the
Dagster instance on PostgreSQL): tag -> prod for a one-DAG change (with each step's time) and
rollback request -> prod serving the previous release; printed in the same shape as
``release_latency.py`` prints the local figures.

A first release (``v1``, validated in full, approved for prod as its first release changes every
critical table) is made and reported as the warm-up; then each timed release commits a one-line
change to ``dags/publish_revenue_report.py``, tags it and runs the tag sensor's run request (and,
when prod holds it for approval, the signed approvals and the ``promote`` run: counted in the
time, as a user waits for them). Each rollback is ``release-assets rollback`` timed until prod
Airflow 3 lists every DAG from the previous release; the release is then made live again with
the ``redeploy`` job (not timed) for the next rollback.

Brings the profile up under ``--root`` (or uses the one running there) and stops every server
it started. Usage: ``.venv/bin/python benchmarks/aws_profile.py [--runs 1] [--rollbacks 3]
[--root DIR]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import dagster as dg  # noqa: E402
from release_latency import _figures, step_times  # noqa: E402

REDEPLOY_REASON = "benchmark: make the release live again for the next rollback"


def _redeploy(instance: dg.DagsterInstance, tag: str) -> None:
    from release_assets.defs.definitions import defs

    result = (
        defs()
        .get_job_def("redeploy")
        .execute_in_process(
            run_config={"ops": {"on_call__redeploy": {"config": {"reason": REDEPLOY_REASON}}}},
            instance=instance,
            partition_key=tag,
            tags={"release_assets/actor": "benchmark", "release": tag},
            raise_on_error=False,
        )
    )
    if not result.success:
        raise SystemExit(f"redeploy of {tag} failed (run {result.run_id})")


def _one_dag_change(repo: Path, message: str) -> None:
    dag = repo / "dags" / "publish_revenue_report.py"
    dag.write_text(dag.read_text() + f"\n# benchmark: {message}\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1, help="one-DAG releases to time")
    parser.add_argument("--rollbacks", type=int, default=3, help="rollbacks to time")
    parser.add_argument("--root", type=Path, default=None, help="the profile's folder")
    args = parser.parse_args()

    from release_assets.runtimes.processes import wait_until
    from tests.aws_profile import state
    from tests.aws_profile.release import ProfileRelease, environment, failures, release_env
    from tests.aws_profile.stack import fake_aws_credentials, up
    from tests.paths import SHARED_RUNTIMES

    work = Path(tempfile.mkdtemp(prefix="bench-aws-profile-"))
    work.chmod(0o755)  # the postgres user reaches the profile's cluster folder through it
    root = (args.root or work / "aws-profile").resolve()
    was_running = any(s.pid for s in state.status(root)) if root.exists() else False
    warm_up: list[float] = []
    releases: list[float] = []
    steps: dict[str, list[float]] = {}
    rollbacks: list[float] = []
    try:
        with fake_aws_credentials():
            began = time.monotonic()
            profile = up(root, SHARED_RUNTIMES, say=lambda _: None)
            print(f"AWS-shaped profile up in {time.monotonic() - began:.0f}s", flush=True)
            repo, keys = ProfileRelease.prepare(profile, work / "release")
            with (
                environment(release_env(profile, work / "release", repo.path)),
                dg.DagsterInstance.get() as instance,
            ):
                release = ProfileRelease(profile, repo, keys, instance)

                def to_prod(tag: str) -> float:
                    started = time.monotonic()
                    runs = release.to_prod(tag)
                    took = time.monotonic() - started
                    if not all(r.success for r in runs) or release.served() != {tag}:
                        problems = [m for r in runs for m in failures(r)]
                        raise SystemExit(f"release {tag} did not go live: {problems}")
                    for run in runs:
                        for step, seconds in step_times(instance, run.run_id).items():
                            if tag != "v1":
                                steps.setdefault(step, []).append(seconds)
                    return took

                warm_up.append(to_prod("v1"))
                previous, last = "v1", "v1"
                for i in range(max(1, args.runs)):
                    previous = last
                    last = f"v{i + 2}"
                    _one_dag_change(repo.path, f"one-DAG change {i + 1}")
                    repo.commit(f"one-DAG change {i + 1}")
                    releases.append(to_prod(last))
                for _ in range(args.rollbacks):
                    started = time.monotonic()
                    code, output = release.rollback(last)
                    if code != 0:
                        raise SystemExit(f"rollback of {last} failed: {output}")
                    wait_until(
                        lambda: release.served() == {previous},
                        300,
                        f"prod to serve {previous}",
                        0.2,
                    )
                    rollbacks.append(time.monotonic() - started)
                    _redeploy(instance, last)
    finally:
        if not was_running:
            state.down(root, lambda _: None)
        shutil.rmtree(work, ignore_errors=True)
    print("AWS-shaped profile (MWAA stand-in, Airflow 3, Snowflake on fakesnow, moto):")
    print(_figures("first release v1 (full validation, approvals)", warm_up))
    print(_figures("tag -> prod swap, one-DAG change", releases))
    for step, values in steps.items():
        print(f"  {step:40} median {statistics.median(values):5.1f} s")
    if rollbacks:
        print(_figures("rollback (in process) -> previous served", rollbacks))


if __name__ == "__main__":
    main()
