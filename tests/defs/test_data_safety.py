"""Data safety of a rollback, end to end on real Airflow, dbt and DuckDB, with prod running its
schedules (the demo's compressed clock: a day is 5 minutes). The sequence: v1 live and loads;
v2 (a bad loader) live after its prod swap is killed (SIGKILL, between the code switch and the
warehouse switch) and run again; loads under v2, triggered and scheduled; a rollback; under v1
again a load that fails (its extract has not landed), then lands and is retried, and a
backfill of a day. Then prod is brought to one point in time (its DAGs paused at run
boundaries, then the live release's next dbt build), and every prod table must equal what the
live release's dbt project computes from scratch on the same raw data (the oracle: a separate
DuckDB file), with no row loaded twice.

The bad release (v2) changes one loader, ``ingest_orders``: it multiplies the day's
``unit_price`` by 100 after loading ("prices arrive in cents"). Its canary cannot see this (the
canary's dbt reads prod's raw data, not the canary loader's), so it goes live, which is the
case the rollback's data rules are for (docs/runbook.md, "What a rollback does to data")."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from release_assets.cli.demo import ORDERS_PER_DAY
from release_assets.defs.assets.prod_swap import prod_swap
from release_assets.defs.assets.rollback import rollback
from release_assets.defs.jobs import RELEASE_ASSETS
from release_assets.local import environments, stack
from release_assets.runtimes.airflow.base import AirflowTarget
from release_assets.runtimes.airflow.blue_green_cutover import pause_at_run_boundaries
from release_assets.runtimes.airflow.local import LocalAirflow
from release_assets.runtimes.airflow.types import DagRunResult
from release_assets.runtimes.processes import wait_until
from tests.defs.release_stack import ReleaseStack, failures, note_run, phase, release_stack
from tests.fakes import metadata_of
from tests.paths import NORTHSTAR
from tests.pipelines_git import materialize_release

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3000)]

COMPRESSION = 288
"""Prod's schedules as in the demo: a day is 5 minutes, so ``ingest_orders`` runs every 5
minutes and ``ingest_customers`` (hourly, floored at a minute) every minute, each followed by
the Dataset-triggered ``dbt_build``."""
LATE_DAY = "2026-11-04"
"""The day whose extract lands late: prod's sources hold 2026-11-01..03 until then."""

BAD_LOAD = """
        with open_warehouse(settings) as warehouse:
            run = load_run(context, settings)
            loaded = load_orders_extract(warehouse, settings.source_root, run)
            # Prices arrive in cents now (they do not): the day's items are 100x too dear.
            warehouse.execute(
                f"UPDATE {run.schema}.order_items SET unit_price = unit_price * 100 "
                "WHERE _load_date = ?",
                [run.load_date],
            )
            return loaded
"""
GOOD_LOAD = """
        with open_warehouse(settings) as warehouse:
            return load_orders_extract(warehouse, settings.source_root, load_run(context, settings))
"""
RUN_TIMEOUT_S = 600.0
SWAP_IN_A_CHILD = """
import dagster as dg
from release_assets.cli.demo import ORDERS_PER_DAY
from release_assets.defs.assets.prod_swap import prod_swap
from tests.pipelines_git import materialize_release
with dg.instance_for_test() as instance:
    materialize_release(instance, [prod_swap], {tag!r})
"""


def _release(env: ReleaseStack, tag: str) -> None:
    """Release ``tag`` (committed and tagged) up to prod_swap, the gates' verdict recorded
    instead of run (their own tests cover them; this module is about data)."""
    env.sensor()
    with phase(f"{tag} candidate (no gates)"):
        candidate = materialize_release(env.instance, RELEASE_ASSETS[:1], tag)
    assert candidate.success, failures(candidate)
    env.record_gates_passed(tag)
    with phase(f"{tag} artifact to prod swap"):
        result = materialize_release(env.instance, RELEASE_ASSETS[1:], tag)
    note_run(env.instance, result)
    assert result.success, failures(result)
    env.wait_served("prod", tag)


def _swap_killed_mid_way(env: ReleaseStack, tag: str) -> None:
    """``prod_swap`` of ``tag`` in a child process, killed (SIGKILL, its process group) the
    moment prod's code pointer names ``tag``: before the warehouse switch, which waits for
    Airflow to serve the release first."""
    current = environments.layout(env.settings, "prod").root / "current"
    child = subprocess.Popen(
        [sys.executable, "-c", SWAP_IN_A_CHILD.format(tag=tag)],
        cwd=Path(__file__).resolve().parents[2],
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        while os.path.realpath(current).rsplit("/", 1)[-1] != tag:
            assert child.poll() is None, f"the swap of {tag} ended before it was killed"
            assert time.monotonic() < deadline, f"prod's code never switched to {tag}"
            time.sleep(0.02)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(30)


def _run(target: AirflowTarget, dag_id: str, run_id: str, conf: dict[str, object]) -> None:
    """Trigger a prod DAG as a person or the scheduler would, and wait for it (bounded)."""
    target.trigger(dag_id, run_id, conf)
    result = target.wait_for_run(dag_id, run_id, RUN_TIMEOUT_S)
    assert result.succeeded, (dag_id, run_id, result.failed_tasks, result.log_excerpt)


def _load_day(target: AirflowTarget, day: str, tag: str) -> None:
    """A day's orders loaded under ``tag``, then dbt_build (as the Dataset schedule would)."""
    _run(target, "ingest_orders", f"load_{day}_{tag}", {"data_date": day})
    _run(target, "dbt_build", f"dbt_{day}_{tag}", {})


def _scheduled_run(target: AirflowTarget, dag_id: str, since: datetime) -> DagRunResult:
    """The first scheduled run of ``dag_id`` started after ``since`` that succeeded, waited
    for (bounded: two of its periods and its run)."""
    found: list[DagRunResult] = []

    def ran() -> bool:
        runs = target.recent_runs(dag_id, since, 25)
        found[:] = [r for r in runs if r.run_type == "scheduled" and r.succeeded]
        return bool(found)

    wait_until(ran, 900, f"a scheduled run of {dag_id} after {since:%H:%M:%S}", interval_s=5)
    return found[-1]


def _task_state(target: LocalAirflow, dag_id: str, run_id: str, task_id: str) -> str | None:
    body = target.client.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
    return str(body.get("state")) if body.get("state") else None


def _land_late_day(source_root: Path) -> None:
    """``LATE_DAY``'s sources land, the whole day at once as the generator makes it after
    2026-11-03 (its order and customer ids go on from that day's): every file and folder of
    the day (orders extract, customer batches, inventory partition) moved into place."""
    generator = NORTHSTAR / "tools" / "generate_sources.py"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, str(generator), "--out", tmp, "--days", "4",
             "--orders-per-day", str(ORDERS_PER_DAY)],
            check=True, timeout=120,
        )  # fmt: skip
        landed = [p for p in Path(tmp).rglob(f"*{LATE_DAY}*") if LATE_DAY not in p.parent.name]
        assert landed, f"the generator made nothing for {LATE_DAY}"
        for path in landed:
            path.replace(source_root / path.relative_to(tmp))


def _failed_load_retried(target: LocalAirflow, source_root: Path) -> None:
    """A load whose first attempt fails (``LATE_DAY``'s extract has not landed: the DAG's
    ``check_extract`` fails and is up for retry), then the day lands, its customers are loaded
    and on-call clears the failed task, as the runbook says: the run loads the day once."""
    run_id = f"load_{LATE_DAY}_late"
    target.trigger("ingest_orders", run_id, {"data_date": LATE_DAY})

    def first_attempt_failed() -> bool:
        state = _task_state(target, "ingest_orders", run_id, "check_extract")
        assert state not in {"success", "skipped"}, f"{LATE_DAY}'s load did not fail: {state}"
        return state in {"up_for_retry", "failed"}

    wait_until(first_attempt_failed, RUN_TIMEOUT_S, f"{run_id}'s first attempt to fail", 2)
    _land_late_day(source_root)
    # The day's orders reference its new customers (dbt's relationships test): load them first.
    _run(target, "ingest_customers", f"customers_{LATE_DAY}", {"data_date": LATE_DAY})
    target.client.request(
        "POST",
        "/dags/ingest_orders/clearTaskInstances",
        json={
            "dag_run_id": run_id,
            "task_ids": ["check_extract"],
            "include_downstream": True,
            "only_failed": False,
            "reset_dag_runs": True,
            "dry_run": False,
        },
    )
    result = target.wait_for_run("ingest_orders", run_id, RUN_TIMEOUT_S)
    assert result.succeeded, (run_id, result.failed_tasks, result.log_excerpt)


def _quiesce(target: LocalAirflow) -> None:
    """Prod at one point in time: every DAG paused at a run boundary (runs in flight end
    first), then one more ``dbt_build`` of the live release (the build the schedule would make
    next, from the raw data as it now stays), paused again after it."""
    with phase("quiesce prod"):
        pause_at_run_boundaries(target, [d.dag_id for d in target.list_dags()], 900)
        _run(target, "dbt_build", "dbt_final", {})  # a trigger unpauses the DAG
        pause_at_run_boundaries(target, ["dbt_build"], 900)


@pytest.fixture(scope="module")
def rolled_back(
    tmp_path_factory: pytest.TempPathFactory, shared_cache: Path
) -> Iterator[tuple[ReleaseStack, dict[str, object], DagRunResult]]:
    """The sequence of the module docstring. Yields the stack, the rollback's metadata and the
    scheduled run of v2's ``ingest_orders`` that the rollback had to replay."""
    root = tmp_path_factory.mktemp("safety")
    with release_stack(root, slot=0, cache=shared_cache, prod_schedules=COMPRESSION) as env:
        target = environments.local_airflow(env.settings, "prod")
        assert isinstance(target, LocalAirflow)
        env.repo.tag("v1")
        _release(env, "v1")
        _load_day(target, "2026-11-02", "v1")

        # v2: its prod swap is killed between the code switch and the warehouse switch, then
        # run again (it converges: the code stays, the stable names follow).
        dag = env.repo.path / "dags" / "ingest_orders.py"
        dag.write_text(dag.read_text().replace(GOOD_LOAD, BAD_LOAD, 1))
        assert BAD_LOAD in dag.read_text()
        env.repo.commit("ingest_orders: prices arrive in cents")
        env.repo.tag("v2")
        env.sensor()
        assert materialize_release(env.instance, RELEASE_ASSETS[:1], "v2").success
        env.record_gates_passed("v2")
        up_to_approval = [a for a in RELEASE_ASSETS[1:] if a is not prod_swap]
        with phase("v2 artifact to approval"):
            before = materialize_release(env.instance, up_to_approval, "v2")
        assert before.success, failures(before)
        with phase("v2 swap killed mid-way"):
            _swap_killed_mid_way(env, "v2")
        assert env.pointer("marts.fct_orders") == "marts__r_v1.fct_orders"  # data: still v1
        again = materialize_release(env.instance, [prod_swap], "v2")
        assert again.success, failures(again)
        assert env.pointer("marts.fct_orders") == "marts__r_v2.fct_orders"
        env.wait_served("prod", "v2")
        v2_serves = datetime.now(UTC)

        # Loads under v2: a day v1 loaded, a new one, and what the schedule loads.
        _load_day(target, "2026-11-02", "v2")
        _load_day(target, "2026-11-03", "v2")
        with phase("a scheduled load under v2"):
            scheduled = _scheduled_run(target, "ingest_orders", v2_serves)

        with phase("rollback v2"):
            result = materialize_release(env.instance, [rollback], "v2")
        assert result.success, failures(result)
        meta = metadata_of(result, rollback.op.name)
        env.wait_served("prod", "v1")

        # Under v1 again: a load that fails, then lands and is retried; a backfill of a day.
        with phase("a failed load retried"):
            _failed_load_retried(target, environments.layout(env.settings, "prod").source_root)
        _load_day(target, "2026-11-01", "v1-backfill")
        _quiesce(target)
        yield env, meta, scheduled


def _oracle(env: ReleaseStack, release: str, out: Path) -> Path:
    """``release``'s dbt project (as published in prod) built from scratch with ``dbt build``
    on a copy of prod's raw tables, into the DuckDB file ``out``."""
    prod = environments.layout(env.settings, "prod")
    with duckdb.connect(str(out)) as con:
        con.execute(f"ATTACH '{prod.warehouse_path}' AS prod (READ_ONLY)")
        raw = con.execute(
            "SELECT table_name FROM duckdb_tables() "
            "WHERE database_name = 'prod' AND schema_name = 'raw'"
        ).fetchall()
        con.execute("CREATE SCHEMA raw")
        for (name,) in raw:
            con.execute(f'CREATE TABLE raw."{name}" AS SELECT * FROM prod.raw."{name}"')
    project = prod.root / "releases" / release / "dbt"
    runtime = stack.runtime_for(env.settings)
    dbt_vars = {"schema_suffix": "", "release_suffix": "", "source_suffix": "", "feature_flags": {}}
    done = subprocess.run(
        [
            str(runtime.bin_dir / "dbt"),
            "build",
            "--project-dir", str(project),
            "--profiles-dir", str(project),
            "--target", "duckdb",
            "--target-path", str(out.parent / "target"),
            "--log-path", str(out.parent / "logs"),
            "--vars", json.dumps(dbt_vars),
        ],
        env={
            **os.environ,
            "NORTHSTAR_DUCKDB_PATH": str(out),
            "NORTHSTAR_LAKE_ROOT": str(prod.lake_root),
            "NORTHSTAR_RELEASE_ID": release,
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    return out


def test_after_the_rollback_every_prod_table_equals_the_oracle(
    rolled_back: tuple[ReleaseStack, dict[str, object], DagRunResult], tmp_path: Path
) -> None:
    env, meta, scheduled = rolled_back
    assert meta["live_release"] == "v1"
    # v2's triggered loads and its scheduled ones were re-run by v1's code.
    replayed = str(meta["loads_replayed"]).split(", ")
    assert {"ingest_orders 2026-11-02", "ingest_orders 2026-11-03"} <= set(replayed), replayed
    when = datetime.fromisoformat(scheduled.logical_date.replace("Z", "+00:00"))
    assert f"ingest_orders {when:%Y-%m-%d %H:%M:%S}" in replayed, (scheduled, replayed)
    assert meta["dbt_rebuilt"] == "dbt_build"
    oracle = _oracle(env, "v1", tmp_path / "oracle.duckdb")
    prod = environments.layout(env.settings, "prod").warehouse_path
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{prod}' AS prod (READ_ONLY)")
        con.execute(f"ATTACH '{oracle}' AS oracle (READ_ONLY)")
        pointers = con.execute(
            "SELECT table_name, source FROM prod._release_assets.pointers ORDER BY 1"
        ).fetchall()
        assert pointers, "prod has no stable names"
        differing = {}
        for stable, source in pointers:
            assert source.split(".")[0].endswith("__r_v1"), (stable, source)
            theirs, ours = f"prod.{source}", f"oracle.{stable}"
            # One query at a time: a DuckDB connection holds one result (execute returns it).
            extra = con.execute(f"SELECT count(*) FROM (FROM {theirs} EXCEPT ALL FROM {ours})")
            only_prod = extra.fetchone()
            missing = con.execute(f"SELECT count(*) FROM (FROM {ours} EXCEPT ALL FROM {theirs})")
            only_oracle = missing.fetchone()
            counts = (only_prod, only_oracle)
            if counts != ((0,), (0,)):
                differing[stable] = counts
        # (rows only in prod, rows only in the oracle) per stable table: none.
        assert differing == {}
        # No row loaded twice, and no row of the bad loader left.
        for table, key in (("orders", "order_id"), ("order_items", "order_item_id")):
            dupes = con.execute(
                f"SELECT count(*) - count(DISTINCT {key}) FROM prod.raw.{table}"
            ).fetchone()
            assert dupes == (0,), table
        left = con.execute(
            "SELECT count(*) FROM prod.raw.order_items WHERE _release_id = 'v2'"
        ).fetchone()
        assert left == (0,)
        # The late day's retried load is there (its rows are in raw, loaded by v1's code).
        late = con.execute(
            "SELECT count(*), count(DISTINCT _release_id), min(_release_id) "
            f"FROM prod.raw.order_items WHERE _load_date = '{LATE_DAY}'"
        ).fetchone()
        assert late is not None and late[0] > 0 and late[1:] == (1, "v1"), late
        for table, key in (
            ("marts.fct_orders", "order_id"),
            ("marts.dim_customers", "customer_id"),
        ):
            twice = con.execute(f"SELECT count(*) - count(DISTINCT {key}) FROM oracle.{table}")
            assert twice.fetchone() == (0,), table
