"""Spark on EMR Serverless: a release's jobs staged in S3 and run on one application.

Why boto3 (through ``AwsClients``) and not dagster-aws's ``PipesEMRServerlessClient``: that
client runs inside a Dagster step (``run(context=...)`` opens a Pipes session and needs an
op/asset context), expects the job to speak the Pipes protocol (messages read from CloudWatch),
polls without a time bound and fails with a message that names neither the environment nor the
job. A release's smoke run is a resource method called with a release's own job, which knows
nothing of Pipes, and must be bounded and say what failed. The calls are the same
(``start_job_run``, ``get_job_run``, ``get_dashboard_for_job_run``, ``cancel_job_run``).
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Sequence
from typing import Any

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

# EMR Serverless job run states (API reference, JobRun.state).
SUCCESS = "SUCCESS"
FAILED_STATES = frozenset({"FAILED", "CANCELLED"})
_MIN_RUN_TIMEOUT_MIN = 5  # start_job_run refuses executionTimeoutMinutes below 5


class EmrServerlessSpark(EmrSpark):
    """An environment's Spark jobs on the EMR Serverless application ``application_id``.

    ``execution_role_arn``: the IAM role job runs assume (reads the staged code and the data);
    ``bucket``/``prefix``: where code is staged (``<prefix>/releases/<release>/spark/<job>/``)
    and logs written (``<prefix>/spark-logs/<environment>/``); ``release_label``: the EMR
    release the jobs were tested on (e.g. ``emr-7.1.0``), refused when the application runs
    another, None to accept any; ``spark_submit_parameters``: extra ``--conf`` options;
    ``poll_interval_s``: seconds between two ``get_job_run`` calls; ``aws``: the clients.
    """

    application_id: str
    execution_role_arn: str
    release_label: str | None = None
    spark_submit_parameters: str = ""

    @property
    def _what(self) -> str:
        return f"{self.environment} spark (EMR Serverless application {self.application_id})"

    @property
    def log_uri(self) -> str:
        """Where the application writes this environment's job logs (``s3://`` prefix)."""
        prefix = "/".join(p for p in (self.prefix.strip("/"), "spark-logs", self.environment) if p)
        return f"s3://{self.bucket}/{prefix}/"

    def _check_application(self, emr: Any, job: str) -> None:
        try:
            app = emr.get_application(applicationId=self.application_id)["application"]
        except AWS_ERRORS as exc:
            raise self._fail(exc, f"job {job}") from exc
        label = app.get("releaseLabel")
        if self.release_label is not None and label != self.release_label:
            raise SparkRunFailed(
                f"{self._what}, job {job}: the application runs {label}, the environment "
                f"expects {self.release_label}; update the application or release_label"
            )
        if app.get("state") in {"TERMINATED", "STOPPING"}:
            raise SparkRunFailed(
                f"{self._what}, job {job}: the application is {app.get('state')}; start it "
                "or configure another application_id"
            )

    def _start(
        self, emr: Any, release_id: str, job: StagedJob, args: Sequence[str], timeout_s: float
    ) -> str:
        params = " ".join(
            p
            for p in (
                f"--py-files {job.py_files.uri}" if job.py_files else "",
                self.spark_submit_parameters.strip(),
            )
            if p
        )
        try:
            started = emr.start_job_run(
                applicationId=self.application_id,
                clientToken=uuid.uuid4().hex,
                executionRoleArn=self.execution_role_arn,
                name=f"{release_id}-{job.name}"[:256],
                jobDriver={
                    "sparkSubmit": {
                        "entryPoint": job.entry_point.uri,
                        "entryPointArguments": list(args),
                        "sparkSubmitParameters": params,
                    }
                },
                configurationOverrides={
                    "monitoringConfiguration": {
                        "s3MonitoringConfiguration": {"logUri": self.log_uri}
                    }
                },
                executionTimeoutMinutes=max(_MIN_RUN_TIMEOUT_MIN, math.ceil(timeout_s / 60)),
                tags={"release-id": release_id, "spark-job": job.name},
            )
        except AWS_ERRORS as exc:
            raise self._fail(exc, f"job {job.name}") from exc
        return str(started["jobRunId"])

    def _dashboard(self, emr: Any, run_id: str, say: Say) -> str | None:
        """The run's dashboard link, when the service gives one (not every endpoint does)."""
        try:
            url = emr.get_dashboard_for_job_run(applicationId=self.application_id, jobRunId=run_id)
        except AWS_ERRORS as exc:
            why = describe_aws_error(exc, f"dashboard of run {run_id}", self.aws.where)
            say(f"  no dashboard link: {why}")
            return None
        return str(url.get("url")) if url.get("url") else None

    def run(
        self,
        release_id: str,
        job: StagedJob,
        args: Sequence[str],
        timeout_s: float,
        *,
        say: Say = default_say,
    ) -> SparkRunResult:
        """See ``SparkRuntime.run``. The service's own time bound
        (``executionTimeoutMinutes``) is ``timeout_s`` rounded up to minutes, at least 5."""
        check_release(release_id, job)
        self._staging().verify(job)
        emr = self._client("emr-serverless")
        self._check_application(emr, job.name)
        started_at = time.monotonic()
        run_id = self._start(emr, release_id, job, args, timeout_s)
        logs = f"{self.log_uri}applications/{self.application_id}/jobs/{run_id}/"
        say(f"{self._what}: started run {run_id} of job {job.name} ({release_id}); logs: {logs}")
        seen: dict[str, Any] = {}

        def observe() -> tuple[bool, str]:
            try:
                seen.update(emr.get_job_run(applicationId=self.application_id, jobRunId=run_id))
            except AWS_ERRORS as exc:
                what = f"{self._what}, job {job.name}, run {run_id}"
                raise SparkRunFailed(describe_aws_error(exc, what, self.aws.where)) from exc
            state = str(seen["jobRun"]["state"])
            return state == SUCCESS or state in FAILED_STATES, f"run {run_id} {state}"

        what = f"run {run_id} of job {job.name} on {self._what}"
        try:
            watch(observe, timeout_s, what, say, interval_s=self.poll_interval_s)
        except TimeoutExpired as exc:
            self._cancel(emr, run_id, say)
            raise SparkRunTimeout(
                f"{exc}; asked EMR Serverless to cancel it; logs: {logs}"
            ) from exc
        state = str(seen["jobRun"]["state"])
        duration = time.monotonic() - started_at
        dashboard = self._dashboard(emr, run_id, say)
        if state != SUCCESS:
            details = " ".join(str(seen["jobRun"].get("stateDetails") or "").split())
            raise SparkRunFailed(
                f"{self._what}, job {job.name} of release {release_id}: run {run_id} ended "
                f"{state}" + (f": {details}" if details else "") + f"; logs: {logs}"
            )
        say(f"{self._what}: run {run_id} of job {job.name} {state} in {duration:.0f}s")
        return SparkRunResult(job.name, run_id, state, logs, duration, dashboard)

    def _cancel(self, emr: Any, run_id: str, say: Say) -> None:
        try:
            emr.cancel_job_run(applicationId=self.application_id, jobRunId=run_id)
        except AWS_ERRORS as exc:
            say(describe_aws_error(exc, f"{self._what}: cancelling run {run_id}", self.aws.where))
