"""Real local environments for the slow release-graph modules, and releasing a tag the way
the demo does: ``merged_tag_sensor`` evaluates the new tag, and its run request is executed as
the ``release`` job (every release step plus the blocking validation gates).

Each module brings up its own staging and prod Airflow on ports of its own: a slot of
``worker_ports()`` per pytest-xdist worker, so two modules on two workers never collide, nor
two modules one after the other on one worker, nor ``tests/local`` (18500-18599)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner, Result

from release_assets.cli.demo import ORDERS_PER_DAY, PROD_INGESTION
from release_assets.cli.demo_approvals import allowed_signers
from release_assets.cli.main import main
from release_assets.core.audit import AuditEvent
from release_assets.core.evidence import GATES_STEP, RECORD_KEY
from release_assets.defs.approval_sensor import approval_sensor
from release_assets.defs.definitions import bound_resources, defs
from release_assets.defs.sensors import merged_tag_sensor
from release_assets.local import environments, stack
from release_assets.local.seed import seed_environment
from release_assets.runtimes.processes import wait_until
from release_assets.runtimes.warehouse.duckdb import DuckDBWarehouse
from release_assets.settings import Settings, load_settings
from release_assets.settings import settings as settings_cache
from release_assets.validation.runner import GATES
from tests.deployments import write_local_deployment
from tests.local.conftest import worker_ports
from tests.paths import NORTHSTAR, SHARED_RUNTIMES
from tests.pipelines_git import PipelinesGit, make_pipelines_git
from tests.postgres_server import postgres_instance, running_postgres

# 18600-18699: the range the release-graph modules bind; per worker 2 slots of (staging, prod).
PORT_BASE = 18600
SLOTS = 2
POINTER = "select source from _release_assets.pointers where table_name = '{table}'"
# A file to append where the slow modules spend their time (phases, steps, gates), when set.
TIMINGS = "RELEASE_STACK_TIMINGS"


def note_time(line: str) -> None:
    """Append ``line`` to the file ``$RELEASE_STACK_TIMINGS`` names (nothing when unset)."""
    path = os.environ.get(TIMINGS)
    if path:
        with open(path, "a") as out:
            out.write(f"{os.environ.get('PYTEST_XDIST_WORKER', '-')} {line}\n")


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Time the block as ``name`` (see ``note_time``)."""
    started = time.monotonic()
    try:
        yield
    finally:
        note_time(f"{time.monotonic() - started:8.1f}s {name}")


def note_run(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> None:
    """Each step's seconds in the run of ``result``, and each validation gate's (see
    ``note_time``; nothing is read when ``$RELEASE_STACK_TIMINGS`` is unset)."""
    if not os.environ.get(TIMINGS):
        return
    started: dict[str, float] = {}
    for entry in instance.all_logs(result.run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            begun = started.get(event.step_key, entry.timestamp)
            note_time(f"{entry.timestamp - begun:8.1f}s   step {event.step_key}")
    for e in result.all_events:
        data = e.event_type_value == "ASSET_CHECK_EVALUATION" and e.asset_check_evaluation_data
        if data and data.check_name in GATES and "seconds" in data.metadata:
            note_time(f"{data.metadata['seconds'].value:8.1f}s     gate {data.check_name}")


def approve_prod(tag: str, key: Path, principal: str) -> Result:
    """``release-assets approve <tag> --environment prod --key <key> --as <principal>``, as an
    approver types it; the CLI's result."""
    return CliRunner().invoke(
        main, ["approve", tag, "--environment", "prod", "--key", str(key), "--as", principal]
    )


def evaluate_tag_sensor(
    instance: dg.DagsterInstance, cursor: str | None
) -> tuple[dg.SensorResult | dg.SkipReason, str | None]:
    """Evaluate ``merged_tag_sensor`` once from ``cursor`` as the daemon does: the release
    partitions it requests are added to ``instance``; returns the result and the new cursor."""
    with dg.build_sensor_context(
        instance=instance, resources=defs().resources, cursor=cursor
    ) as context:
        result = merged_tag_sensor(context)
    assert isinstance(result, dg.SensorResult | dg.SkipReason)
    if isinstance(result, dg.SkipReason):
        return result, cursor
    for request in result.dynamic_partitions_requests or []:
        assert isinstance(request, dg.AddDynamicPartitionsRequest)
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result, result.cursor


@dataclass
class ReleaseStack:
    """One module's environments, pipelines repository, Dagster instance and sensor cursor."""

    settings: Settings
    repo: PipelinesGit
    instance: dg.DagsterInstance
    keys: dict[str, Path]
    cursor: str | None = None

    def sensor(self) -> dg.SensorResult | dg.SkipReason:
        """Evaluate ``merged_tag_sensor`` once from the current cursor (the cursor advances)."""
        result, self.cursor = evaluate_tag_sensor(self.instance, self.cursor)
        return result

    def release(self, tag: str) -> dg.ExecuteInProcessResult:
        """Release the newly tagged ``tag`` as the running demo does: the sensor's one run
        request, executed as the job it names, with its tags (``release=<tag>``)."""
        result = self.sensor()
        assert isinstance(result, dg.SensorResult), result
        (request,) = result.run_requests or []
        assert request.partition_key == tag and request.tags["release"] == tag
        assert request.tags["commit"] == self.repo.git("rev-parse", f"{tag}^{{commit}}").strip()
        job = defs().resolve_job_def(request.job_name or "release")
        with phase(f"release {tag}"):
            run = job.execute_in_process(
                run_config=request.run_config,
                partition_key=tag,
                instance=self.instance,
                tags=request.tags,
                raise_on_error=False,
            )
        note_run(self.instance, run)
        return run

    def approve(self, tag: str, principal: str) -> str:
        """``release-assets approve <tag> --environment prod`` as ``principal`` (one of
        ``APPROVERS``) with their key; the command's output (it must succeed)."""
        result = approve_prod(tag, self.keys[principal], principal)
        assert result.exit_code == 0, result.output
        return result.output

    def resume(self, tag: str) -> dg.ExecuteInProcessResult:
        """Evaluate ``approval_sensor`` once; it must request the `promote` run of ``tag``,
        which is executed as the job it names."""
        with dg.build_sensor_context(instance=self.instance, resources=defs().resources) as ctx:
            result = approval_sensor(ctx)
        assert isinstance(result, dg.SensorResult), result
        (request,) = result.run_requests or []
        assert request.partition_key == tag and request.job_name == "promote"
        with phase(f"promote {tag}"):
            run = (
                defs()
                .resolve_job_def("promote")
                .execute_in_process(
                    partition_key=tag,
                    instance=self.instance,
                    tags=request.tags,
                    raise_on_error=False,
                )
            )
        note_run(self.instance, run)
        return run

    def record_gates_passed(self, tag: str) -> None:
        """Append to the audit trail a pass of every validation gate for ``tag``, as the
        gates would, for fixtures that skip them to save time (never in a tested release)."""
        record = bound_resources()["records"].read(tag)
        bound_resources()["audit"].append(
            AuditEvent(
                action="gate",
                outcome="passed",
                actor="test fixture (gates skipped)",
                release=tag,
                step=GATES_STEP,
                commit=record.commit,
                gates=dict.fromkeys(GATES, "passed"),
                data={RECORD_KEY: record.fingerprint()},
            )
        )

    def served(self, env: str) -> set[str | None]:
        """The releases ``env``'s Airflow serves DAGs of (canary DAGs left out)."""
        target = environments.local_airflow(self.settings, env)
        return {d.release for d in target.list_dags() if "__canary_" not in d.dag_id}

    def wait_served(self, env: str, release: str) -> None:
        wait_until(lambda: self.served(env) == {release}, 120, f"{env} to serve {release}")

    def warehouse(self, env: str) -> Path:
        return environments.layout(self.settings, env).warehouse_path

    def pointer(self, table: str) -> object:
        """The relation prod's stable name ``table`` points at."""
        return scalar(self.warehouse("prod"), POINTER.format(table=table))


def scalar(warehouse: Path, sql: str) -> object:
    """The first column of ``sql``'s first row in the DuckDB file ``warehouse`` (``None`` for
    no row); a file a DAG run holds is retried for up to 300 s (as the platform's reads do)."""
    rows = DuckDBWarehouse.at("test", warehouse, lock_timeout_s=300).query(sql)
    return rows[0][0] if rows else None


def gate_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    """Gate name -> passed, for every validation gate evaluated in the run."""
    return {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.asset_check_evaluation_data.check_name in GATES
    }


def gate_findings(result: dg.ExecuteInProcessResult, gate: str) -> list[dict[str, str]]:
    """The ``findings`` metadata (raw findings as JSON) of ``gate``'s evaluation."""
    for e in result.all_events:
        data = e.event_type_value == "ASSET_CHECK_EVALUATION" and e.asset_check_evaluation_data
        if data and data.check_name == gate:
            findings = data.metadata["findings"].value
            assert isinstance(findings, list)
            return findings
    raise AssertionError(f"no evaluation of {gate}")


def failures(result: dg.ExecuteInProcessResult) -> list[str]:
    return [e.message or "" for e in result.all_events if e.is_failure]


APPROVERS = {"ana@northstar.example": "ana", "pat@northstar.example": "pat"}
"""Approvers of the test repository (not authors of its commits, which Dana makes)."""


def approver_keys(folder: Path) -> dict[str, Path]:
    """An ed25519 key per approver: principal -> private key."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = {}
    for principal, name in APPROVERS.items():
        key = folder / name
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", str(key)],
            check=True,
            timeout=30,
        )
        keys[principal] = key
    return keys


@contextmanager
def release_stack(
    root: Path,
    slot: int,
    prod_promotion: dict[str, object] | None = None,
    cache: Path | None = None,
    prod_schedules: int | None = None,
) -> Iterator[ReleaseStack]:
    """Staging and prod up on this worker's ports of ``slot`` (0 <= slot < SLOTS), both
    seeded with generated sources, prod with its existing ingestion data; a git repository of
    the example pipelines whose allowed signers are ``APPROVERS``; a Dagster instance; prod's
    ``promotion`` policy as given (none by default); ``cache`` the cache folder (the session's
    shared one, so both modules reuse each other's gate results); a Dagster instance stored
    on a PostgreSQL cluster of its own; prod runs its schedules at the compression
    ``prod_schedules`` when given (off by default: DAGs run when triggered). Everything is
    stopped on exit."""
    staging_port, prod_port = worker_ports(PORT_BASE, per_worker=2 * SLOTS)[2 * slot : 2 * slot + 2]
    keys = approver_keys(root / "keys")
    repo = make_pipelines_git(root / "northstar-git", allowed_signers(keys))
    with (
        pytest.MonkeyPatch.context() as mp,
        phase("release_stack, from PostgreSQL up to its stop"),
        running_postgres() as pg,
        # The orchestrator's storage as in production (deploy/production): PostgreSQL.
        postgres_instance(pg, pg.create_database("release_stack")) as instance,
    ):
        mp.setenv("RELEASE_ASSETS_STATE_DIR", str(root / "state"))
        mp.setenv("RELEASE_ASSETS_CACHE_DIR", str(cache or root / "cache"))
        mp.setenv("RELEASE_ASSETS_RUNTIMES_DIR", str(SHARED_RUNTIMES))
        mp.setenv("RELEASE_ASSETS_REPO", str(NORTHSTAR))
        mp.setenv("RELEASE_ASSETS_GIT_REPO", str(repo.path))
        deployment = write_local_deployment(
            root / "deployment.yaml",
            {"staging": staging_port, "prod": prod_port},
            promotion={"prod": prod_promotion} if prod_promotion else None,
            schedules={"prod": prod_schedules} if prod_schedules else None,
        )
        mp.setenv("RELEASE_ASSETS_DEPLOYMENT", str(deployment))
        settings_cache.cache_clear()
        settings = load_settings()
        try:
            with phase("stack.up"):
                stack.up(settings)
            runtime = stack.runtime_for(settings)
            generator = NORTHSTAR / "tools" / "generate_sources.py"
            with phase("generate sources"):
                for env in ("staging", "prod"):
                    layout = environments.layout(settings, env)
                    subprocess.run(
                        [
                            sys.executable,
                            str(generator),
                            "--out",
                            str(layout.source_root),
                            "--orders-per-day",
                            str(ORDERS_PER_DAY),
                        ],
                        check=True,
                        timeout=120,
                    )
            prod = environments.layout(settings, "prod")
            with phase("seed prod"):
                seed_environment(prod, runtime, NORTHSTAR / "dags", PROD_INGESTION, "2026-11-01")
            yield ReleaseStack(settings, repo, instance, keys)
        finally:
            with phase("stack.down"):
                stack.down(settings)
            settings_cache.cache_clear()
