"""Spark in local mode on this host: ``spark-submit --master local[1]`` from the release bundle,
as the example's ``spark_inventory_positions`` DAG runs it inside Airflow.

Staging is the bundle itself: the entry point is run where the bundle keeps it (its folder is
on ``sys.path``, so modules beside it import as they do on a cluster from ``py_files.zip``).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from release_assets.config.release_config import SparkJob
from release_assets.runtimes.artifacts.types import sha256_file
from release_assets.runtimes.processes import TimeoutExpired, watch
from release_assets.runtimes.spark.base import Say, SparkRuntime, check_release, default_say
from release_assets.runtimes.spark.types import (
    SparkIntegrityError,
    SparkRunFailed,
    SparkRunResult,
    SparkRunTimeout,
    StagedFile,
    StagedJob,
)
from release_assets.settings import inherited_environment

_STOP_GRACE_S = 10.0
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)\b")


def _cause(log: Path) -> str:
    """The last exception line of ``log`` (a Python traceback ends with it; Spark's own
    shutdown lines may follow), else its last non-blank line."""
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if _EXCEPTION_LINE.match(line)]
    return (errors or lines or ["(no output)"])[-1]


class LocalSpark(SparkRuntime):
    """``spark_submit``: the program (a path, or a name looked up on PATH); ``master``:
    Spark's master URL; ``work_dir``: run logs (``logs/<release>/<job>-<run>.log``) and
    Spark's scratch space."""

    spark_submit: str = "spark-submit"
    master: str = "local[1]"
    work_dir: str

    @property
    def _what(self) -> str:
        return f"{self.environment} spark (spark-submit --master {self.master})"

    def stage(
        self, release_id: str, bundle_dir: Path, jobs: Sequence[SparkJob]
    ) -> dict[str, StagedJob]:
        """See ``SparkRuntime.stage``: each job's entry point where the bundle keeps it (an
        absolute path) and its sha256; nothing is copied."""
        out: dict[str, StagedJob] = {}
        for job in jobs:
            entry = (bundle_dir / job.entrypoint).absolute()
            if not entry.is_file():
                raise FileNotFoundError(
                    f"{self._what}: entry point {job.entrypoint} of job {job.name} is not in "
                    f"the bundle {bundle_dir} (release.yaml spark.jobs[].entrypoint)"
                )
            staged = StagedFile(str(entry), sha256_file(entry))
            out[job.name] = StagedJob(job.name, release_id, staged, None)
        return out

    def _command(self, job: StagedJob, args: Sequence[str], scratch: Path) -> list[str]:
        command = [self.spark_submit, "--master", self.master, "--name", f"{job.name}"]
        confs = {
            "spark.ui.enabled": "false",
            "spark.log.level": "WARN",
            "spark.sql.shuffle.partitions": "4",
            "spark.local.dir": str(scratch),
        }
        python = Path(self.spark_submit).with_name("python")
        if python.is_file():  # pyspark installed in a virtualenv: its interpreter runs the job
            confs["spark.pyspark.python"] = str(python)
            confs["spark.pyspark.driver.python"] = str(python)
        for key, value in confs.items():
            command += ["--conf", f"{key}={value}"]
        return [*command, job.entry_point.uri, *args]

    def _environment(self) -> dict[str, str]:
        env = inherited_environment()
        program = Path(self.spark_submit)
        if program.parent != Path():  # a path: its folder first on PATH (find-spark-home)
            env["PATH"] = f"{program.parent}:{env.get('PATH', '')}"
            if program.with_name("python").is_file():
                env["PYSPARK_PYTHON"] = str(program.with_name("python"))
        return env

    def run(
        self,
        release_id: str,
        job: StagedJob,
        args: Sequence[str],
        timeout_s: float,
        *,
        say: Say = default_say,
    ) -> SparkRunResult:
        """See ``SparkRuntime.run``; the log file is ``log_uri``. A run outliving
        ``timeout_s`` is stopped (its process group terminated, then killed)."""
        check_release(release_id, job)
        entry = Path(job.entry_point.uri)
        if not entry.is_file() or sha256_file(entry) != job.entry_point.sha256:
            raise SparkIntegrityError(
                f"{self._what}: {entry} (job {job.name} of release {release_id}) is missing or "
                "changed since it was staged; refusing to run it"
            )
        run_id = f"local-{uuid.uuid4().hex[:12]}"
        log = Path(self.work_dir) / "logs" / release_id / f"{job.name}-{run_id}.log"
        scratch = Path(self.work_dir) / "scratch" / run_id
        log.parent.mkdir(parents=True, exist_ok=True)
        scratch.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with log.open("wb") as out:
            try:
                proc = subprocess.Popen(
                    self._command(job, args, scratch),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=self._environment(),
                    start_new_session=True,
                )
            except OSError as exc:
                raise SparkRunFailed(
                    f"{self._what}, job {job.name}: cannot start {self.spark_submit}: {exc}"
                ) from exc
            say(f"{self._what}: started run {run_id} of job {job.name}; log: {log}")
            what = f"run {run_id} of job {job.name} on {self._what}"
            try:
                watch(
                    lambda: (proc.poll() is not None, f"run {run_id} RUNNING"),
                    timeout_s,
                    what,
                    say,
                    interval_s=1.0,
                )
            except TimeoutExpired as exc:
                self._stop(proc)
                raise SparkRunTimeout(f"{exc}; stopped it; log: {log}") from exc
        duration = time.monotonic() - started
        if proc.returncode != 0:
            raise SparkRunFailed(
                f"{self._what}, job {job.name} of release {release_id}: run {run_id} exited "
                f"{proc.returncode}: {_cause(log)}; log: {log}"
            )
        say(f"{self._what}: run {run_id} of job {job.name} SUCCESS in {duration:.0f}s")
        return SparkRunResult(job.name, run_id, "SUCCESS", str(log), duration)

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes]) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=_STOP_GRACE_S)
                return
            except subprocess.TimeoutExpired:
                continue
