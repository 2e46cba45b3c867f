"""Spark on EMR on EC2: a release's jobs staged in S3 and added as steps to a running cluster
(``command-runner.jar spark-submit --deploy-mode cluster``).

Why boto3 (through ``AwsClients``) and not dagster-aws's ``PipesEMRClient``: that client starts
a new cluster per invocation (``run_job_flow``) from inside a Dagster step and reads Pipes
messages from S3; a release's smoke run adds one step to the environment's existing cluster
from a resource method, bounded in time, with a message naming what failed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from release_assets.runtimes.aws import describe_aws_error
from release_assets.runtimes.processes import TimeoutExpired, watch
from release_assets.runtimes.spark.base import Say, check_release, default_say
from release_assets.runtimes.spark.emr_base import AWS_ERRORS, EmrSpark
from release_assets.runtimes.spark.types import (
    SparkRunFailed,
    SparkRunResult,
    SparkRunTimeout,
    StagedJob,
)

# EMR step states (API reference, StepStatus.State).
COMPLETED = "COMPLETED"
ENDED = frozenset({COMPLETED, "CANCELLED", "FAILED", "INTERRUPTED"})


class EmrStepsSpark(EmrSpark):
    """An environment's Spark jobs as steps of the running EMR cluster ``cluster_id``.

    ``bucket``/``prefix``: where code is staged (as ``EmrServerlessSpark``); logs are where the
    cluster's ``LogUri`` puts them (``<LogUri><cluster>/steps/<step>/``);
    ``spark_submit_args``: extra spark-submit arguments; ``poll_interval_s``: seconds between
    two ``describe_step`` calls; ``aws``: the clients.
    """

    cluster_id: str
    spark_submit_args: list[str] = Field(default_factory=list)

    @property
    def _what(self) -> str:
        return f"{self.environment} spark (EMR cluster {self.cluster_id})"

    def _log_root(self, emr: Any, job: str) -> str:
        try:
            cluster = emr.describe_cluster(ClusterId=self.cluster_id)["Cluster"]
        except AWS_ERRORS as exc:
            raise self._fail(exc, f"job {job}") from exc
        state = cluster.get("Status", {}).get("State")
        if state not in {"WAITING", "RUNNING"}:
            raise SparkRunFailed(
                f"{self._what}, job {job}: the cluster is {state}, not WAITING or RUNNING; "
                "start one and set cluster_id"
            )
        return str(cluster.get("LogUri") or "")

    def _command(self, job: StagedJob, args: Sequence[str]) -> list[str]:
        command = ["spark-submit", "--deploy-mode", "cluster", *self.spark_submit_args]
        if job.py_files is not None:
            command += ["--py-files", job.py_files.uri]
        return [*command, job.entry_point.uri, *args]

    def run(
        self,
        release_id: str,
        job: StagedJob,
        args: Sequence[str],
        timeout_s: float,
        *,
        say: Say = default_say,
    ) -> SparkRunResult:
        """See ``SparkRuntime.run``; ``run_id`` is the step id. A step outliving ``timeout_s``
        is cancelled (``cancel_steps``)."""
        check_release(release_id, job)
        self._staging().verify(job)
        emr = self._client("emr")
        log_root = self._log_root(emr, job.name)
        started_at = time.monotonic()
        step = {
            "Name": f"{release_id}-{job.name}",
            "ActionOnFailure": "CONTINUE",
            "HadoopJarStep": {"Jar": "command-runner.jar", "Args": self._command(job, args)},
        }
        try:
            step_id = str(
                emr.add_job_flow_steps(JobFlowId=self.cluster_id, Steps=[step])["StepIds"][0]
            )
        except AWS_ERRORS as exc:
            raise self._fail(exc, f"job {job.name}") from exc
        logs = f"{log_root}{self.cluster_id}/steps/{step_id}/" if log_root else "(no LogUri)"
        say(f"{self._what}: added step {step_id} for job {job.name} ({release_id}); logs: {logs}")
        seen: dict[str, Any] = {}

        def observe() -> tuple[bool, str]:
            try:
                seen.update(emr.describe_step(ClusterId=self.cluster_id, StepId=step_id)["Step"])
            except AWS_ERRORS as exc:
                raise self._fail(exc, f"job {job.name}, step {step_id}") from exc
            state = str(seen["Status"]["State"])
            return state in ENDED, f"step {step_id} {state}"

        try:
            watch(
                observe,
                timeout_s,
                f"step {step_id} of job {job.name} on {self._what}",
                say,
                interval_s=self.poll_interval_s,
            )
        except TimeoutExpired as exc:
            self._cancel(emr, step_id, say)
            raise SparkRunTimeout(f"{exc}; asked EMR to cancel it; logs: {logs}") from exc
        state = str(seen["Status"]["State"])
        if state != COMPLETED:
            failure = seen["Status"].get("FailureDetails") or {}
            reason = " ".join(
                str(part) for part in (failure.get("Reason"), failure.get("Message")) if part
            )
            raise SparkRunFailed(
                f"{self._what}, job {job.name} of release {release_id}: step {step_id} ended "
                f"{state}" + (f": {' '.join(reason.split())}" if reason else "") + f"; logs: {logs}"
            )
        duration = time.monotonic() - started_at
        say(f"{self._what}: step {step_id} of job {job.name} {state} in {duration:.0f}s")
        return SparkRunResult(job.name, step_id, "SUCCESS", logs, duration)

    def _cancel(self, emr: Any, step_id: str, say: Say) -> None:
        try:
            emr.cancel_steps(ClusterId=self.cluster_id, StepIds=[step_id])
        except AWS_ERRORS as exc:
            say(describe_aws_error(exc, f"{self._what}: cancelling step {step_id}", self.aws.where))
