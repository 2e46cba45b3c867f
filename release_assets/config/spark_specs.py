"""Where an environment runs its Spark jobs: the ``spark:`` block of an environment.

``kind: local`` runs ``spark-submit --master local[1]`` on the orchestrator's host, from the
release bundle (as the example's DAG does); ``kind: emr_serverless`` stages each job in S3 and
runs it on an EMR Serverless application; ``kind: emr_steps`` stages it the same way and adds it
as a step to a running EMR on EC2 cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from release_assets.config.aws_specs import AwsConnectionSpec
from release_assets.config.deployment_specs import STATE_DIR_PLACEHOLDER, StatePath, expand_path

_BUCKET = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
_PREFIX = r"^[A-Za-z0-9!_.*'()/-]*$"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalSparkSpec(_Spec):
    """``spark_submit``: the ``spark-submit`` program (a path, or a name looked up on PATH;
    pyspark installs one); ``work_dir``: where runs keep their logs and scratch files
    (default ``{state_dir}/envs/<env>/spark``); ``master``: Spark's master URL."""

    kind: Literal["local"]
    spark_submit: str = Field(default="spark-submit", min_length=1)
    master: str = "local[1]"
    work_dir: StatePath | None = None

    def resolve(self, state_dir: Path, env: str) -> Self:
        """``work_dir`` defaults to ``{state_dir}/envs/<env>/spark``; made absolute."""
        work_dir = self.work_dir or f"{STATE_DIR_PLACEHOLDER}/envs/{env}/spark"
        return self.model_copy(update={"work_dir": expand_path(work_dir, state_dir)})


class _S3StagedSpec(_Spec):
    bucket: str = Field(pattern=_BUCKET)
    prefix: str = Field(default="release-assets", pattern=_PREFIX)
    poll_interval_s: float = Field(default=10.0, gt=0, le=300)
    aws: AwsConnectionSpec

    def resolve(self, state_dir: Path, env: str) -> Self:
        """Nothing to fill in."""
        return self


class EmrServerlessSparkSpec(_S3StagedSpec):
    """``application_id``: the EMR Serverless application (type Spark); ``execution_role_arn``:
    the role its job runs assume; ``bucket``/``prefix``: where jobs are staged
    (``<prefix>/releases/<release>/spark/<job>/``) and logs kept
    (``<prefix>/spark-logs/<env>/``); ``release_label``: the EMR release the jobs are tested on,
    None to accept the application's; ``spark_submit_parameters``: extra ``--conf`` options;
    ``poll_interval_s``: seconds between status calls; ``aws``: region/endpoint."""

    kind: Literal["emr_serverless"]
    application_id: str = Field(pattern=r"^[0-9a-z]+$", min_length=1, max_length=64)
    execution_role_arn: str = Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
    release_label: str | None = Field(default=None, pattern=r"^emr-\d+\.\d+\.\d+$")
    spark_submit_parameters: str = ""


class EmrStepsSparkSpec(_S3StagedSpec):
    """``cluster_id``: a running EMR on EC2 cluster (``j-...``) whose steps run the jobs
    (``command-runner.jar spark-submit --deploy-mode cluster``); ``bucket``/``prefix``: as for
    ``emr_serverless`` (logs go where the cluster's ``LogUri`` says); ``spark_submit_args``:
    extra spark-submit arguments; ``poll_interval_s``; ``aws``."""

    kind: Literal["emr_steps"]
    cluster_id: str = Field(pattern=r"^j-[A-Z0-9]+$")
    spark_submit_args: tuple[str, ...] = ()


SparkSpec = Annotated[
    LocalSparkSpec | EmrServerlessSparkSpec | EmrStepsSparkSpec, Field(discriminator="kind")
]
