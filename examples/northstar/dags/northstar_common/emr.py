"""The positions job as an EMR Serverless job run (``spark_runner=emr_serverless``).

The release platform stages each Spark job of a release to S3 and lists the locations in
``<release root>/_release/spark_jobs.json``: ``{"<job name>": {"entry_point": "s3://...",
"py_files": "s3://..." | null}}``. The job's arguments are the same as ``spark-submit`` gets on
the local runner (``commands.spark_positions_env``), but its input is the ``inventory_input_uri``
Variable (S3): EMR Serverless cannot read the worker's ``source_root``.

Each job run carries a deterministic client token (``job_run_token``): Airflow's retry of the
task re-attaches to the job run its first try started instead of starting a duplicate (EMR
Serverless ``StartJobRun`` is idempotent per ``clientToken``, AWS API reference).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from northstar_common.settings import Settings

RELEASE_ROOT = Path(__file__).resolve().parents[2]
SPARK_JOBS_FILE = RELEASE_ROOT / "_release" / "spark_jobs.json"
POSITIONS_JOB = "inventory_positions"
SPARK_CONF = (
    "spark.sql.shuffle.partitions=4",
    "spark.sql.session.timeZone=UTC",
)


def job_run_token(dag_id: str, run_id: str, as_of: str, clear_number: int = 0) -> str:
    """EMR Serverless ``clientToken`` of one positions run: the SHA-256 hex (64 characters,
    EMR's maximum) of the DAG, run, as-of date and how often the run was cleared. Retries of a
    try keep it (they re-attach to the running job run); clearing a finished DAG run, which
    Airflow counts in ``dag_run.clear_number``, starts a new job run."""
    key = json.dumps([dag_id, run_id, as_of, clear_number])
    return hashlib.sha256(key.encode()).hexdigest()


class StagedJobError(RuntimeError):
    """The release does not say where its Spark job was staged."""


def staged_job(name: str, jobs_file: Path = SPARK_JOBS_FILE) -> dict[str, Any]:
    """``{"entry_point": uri, "py_files": uri | None}`` of job ``name``; ``StagedJobError``
    naming the file when it is missing, unreadable or has no entry point for the job."""
    try:
        jobs = json.loads(jobs_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise StagedJobError(
            f"{jobs_file}: cannot read the release's staged Spark jobs ({error}); "
            "spark_runner=emr_serverless needs a release deployed with its Spark jobs staged"
        ) from None
    job = jobs.get(name) if isinstance(jobs, dict) else None
    if not isinstance(job, dict) or not job.get("entry_point"):
        raise StagedJobError(f"{jobs_file}: no entry_point for Spark job {name!r}")
    return {"entry_point": str(job["entry_point"]), "py_files": job.get("py_files") or None}


def positions_job_run(
    settings: Settings,
    env: dict[str, str],
    jobs_file: Path = SPARK_JOBS_FILE,
    *,
    client_token: str,
) -> dict[str, Any]:
    """The ``EmrServerlessStartJobOperator`` arguments for one positions run: application,
    role, run name, the ``sparkSubmit`` job driver, from the Variables and ``env`` (the output
    of ``commands.spark_positions_env``), and ``config`` carrying ``client_token``
    (``job_run_token``) as ``clientToken``: the operator's ``client_request_token`` is not a
    template field, so it cannot take the planning task's output, while ``config`` is and its
    keys override the operator's random token in the ``StartJobRun`` call
    (apache-airflow-providers-amazon 9.39.0). ``StagedJobError`` as ``staged_job``."""
    job = staged_job(POSITIONS_JOB, jobs_file)
    parameters = [f"--conf {item}" for item in SPARK_CONF]
    if job["py_files"]:
        parameters.append(f"--conf spark.submit.pyFiles={job['py_files']}")
    arguments = [
        "--input",
        env["NORTHSTAR_INVENTORY_INPUT"],
        "--output",
        env["NORTHSTAR_POSITIONS_OUTPUT"],
        "--as-of",
        env["NORTHSTAR_AS_OF"],
        "--release-id",
        env["NORTHSTAR_RELEASE_ID"],
    ]
    return {
        "application_id": settings.emr_application_id,
        "execution_role_arn": settings.emr_execution_role_arn,
        "name": f"northstar-inventory-positions-{env['NORTHSTAR_AS_OF']}",
        "config": {"clientToken": client_token},
        "job_driver": {
            "sparkSubmit": {
                "entryPoint": job["entry_point"],
                "entryPointArguments": arguments,
                "sparkSubmitParameters": " ".join(parameters),
            }
        },
    }
