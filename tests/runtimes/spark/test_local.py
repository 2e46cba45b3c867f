"""LocalSpark: staging is the bundle; runs are spark-submit processes. The fast tests stand a
small script in for spark-submit (what it is given, how it ends); the slow test runs the
example's job with the runtime virtualenv's pyspark on a tiny input."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.runtimes.spark.base import SparkIntegrityError, SparkRunFailed, SparkRunTimeout
from release_assets.runtimes.spark.local import LocalSpark
from tests.runtimes.spark.bundles import JOB, spark_bundle, spark_jobs


def _program(path: Path, body: str) -> str:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def _spark(tmp_path: Path, body: str) -> LocalSpark:
    return LocalSpark(
        environment="dev",
        spark_submit=_program(tmp_path / "spark-submit", body),
        work_dir=str(tmp_path / "work"),
    )


def test_stage_is_the_bundle_and_run_passes_the_job_and_its_arguments(tmp_path: Path) -> None:
    bundle = spark_bundle(tmp_path / "bundle")
    spark = _spark(tmp_path, 'echo "$@"')
    job = spark.stage("v1", bundle, spark_jobs())[JOB]
    assert job.entry_point.uri == str((bundle / "spark/jobs/inventory_positions.py").absolute())
    assert job.py_files is None

    result = spark.run("v1", job, ["--as-of", "2026-11-01"], timeout_s=60, say=lambda _: None)
    assert result.state == "SUCCESS"
    logged = Path(result.log_uri).read_text()
    assert "--master local[1]" in logged
    assert logged.rstrip().endswith(f"{job.entry_point.uri} --as-of 2026-11-01")


def test_a_changed_entry_point_is_refused(tmp_path: Path) -> None:
    bundle = spark_bundle(tmp_path / "bundle")
    spark = _spark(tmp_path, "exit 0")
    job = spark.stage("v1", bundle, spark_jobs())[JOB]
    (bundle / "spark/jobs/inventory_positions.py").write_text("print('changed')\n")
    with pytest.raises(
        SparkIntegrityError, match=r"^dev spark \(spark-submit --master local\[1\]\)"
    ):
        spark.run("v1", job, [], timeout_s=60, say=lambda _: None)


def test_a_failed_run_names_the_job_and_the_exception(tmp_path: Path) -> None:
    bundle = spark_bundle(tmp_path / "bundle")
    body = "echo 'Traceback (most recent call last):'\n"
    body += "echo 'RuntimeError: no inventory movements found under /in up to 2026-11-01'\n"
    body += "echo 'INFO ShutdownHookManager: Shutdown hook called'\nexit 1"
    spark = _spark(tmp_path, body)
    job = spark.stage("v1", bundle, spark_jobs())[JOB]
    with pytest.raises(SparkRunFailed) as caught:
        spark.run("v1", job, [], timeout_s=60, say=lambda _: None)
    message = str(caught.value)
    assert message.startswith(
        f"dev spark (spark-submit --master local[1]), job {JOB} of release v1: run local-"
    )
    assert "exited 1: RuntimeError: no inventory movements found under /in" in message


def test_a_run_outliving_its_wait_is_stopped_and_named(tmp_path: Path) -> None:
    bundle = spark_bundle(tmp_path / "bundle")
    spark = _spark(tmp_path, "exec sleep 60")
    job = spark.stage("v1", bundle, spark_jobs())[JOB]
    said: list[str] = []
    with pytest.raises(SparkRunTimeout, match=f"of job {JOB} on dev spark .*; stopped it"):
        spark.run("v1", job, [], timeout_s=0.5, say=said.append)
    assert any("RUNNING" in line for line in said)


def _movements(root: Path) -> Path:
    drop = root / "dt=2026-11-01"
    drop.mkdir(parents=True)
    rows = [
        {"movement_id": "m1", "store_id": "s1", "sku": "a", "movement_type": "receipt",
         "quantity": 5, "unit_cost": 1.5, "reference_id": None,
         "movement_ts": "2026-11-01T08:00:00Z"},
        {"movement_id": "m2", "store_id": "s1", "sku": "a", "movement_type": "sale",
         "quantity": 2, "unit_cost": 1.5, "reference_id": "o1",
         "movement_ts": "2026-11-01T09:00:00Z"},
    ]  # fmt: skip
    (drop / "part-0.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


@pytest.mark.slow
def test_the_example_job_runs_in_local_mode(tmp_path: Path, runtime: RuntimeVenv) -> None:
    bundle = spark_bundle(tmp_path / "bundle")
    spark = LocalSpark(
        environment="dev",
        spark_submit=str(runtime.bin_dir / "spark-submit"),
        work_dir=str(tmp_path / "work"),
    )
    job = spark.stage("v1.4.0", bundle, spark_jobs())[JOB]
    output = tmp_path / "lake" / "inventory_positions"
    args = ["--input", str(_movements(tmp_path / "in")), "--output", str(output)]
    result = spark.run(
        "v1.4.0", job, [*args, "--as-of", "2026-11-01", "--release-id", "v1.4.0"], timeout_s=300
    )
    assert result.state == "SUCCESS", Path(result.log_uri).read_text()
    assert list((output / "as_of=2026-11-01").glob("*.parquet"))
