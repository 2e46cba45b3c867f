"""Data safety of a rollback, end to end on real Airflow, dbt and DuckDB: after a release with
a bad loader (whose prod swap is killed, SIGKILL, between the code switch and the warehouse
switch, then run again), loads under it, a rollback, a retry and a backfill under the previous
release, every prod table equals what the live release's dbt project computes from scratch on
the same raw data (the oracle: a separate DuckDB file), with no row loaded twice.

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
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from release_assets.defs.assets.prod_swap import prod_swap
from release_assets.defs.assets.rollback import rollback
from release_assets.defs.jobs import RELEASE_ASSETS
from release_assets.local import environments, stack
from release_assets.runtimes.airflow.base import AirflowTarget
from tests.defs.release_stack import ReleaseStack, failures, note_run, phase, release_stack
from tests.fakes import metadata_of
from tests.pipelines_git import materialize_release

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

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


@pytest.fixture(scope="module")
def rolled_back(
    tmp_path_factory: pytest.TempPathFactory, shared_cache: Path
) -> Iterator[tuple[ReleaseStack, dict[str, object]]]:
    """The sequence: v1 live, a load; v2 (bad loader) live after a killed swap and its re-run,
    two loads (one re-loads a day v1 loaded); rollback of v2; under v1 again, a retry of a load
    and a backfill of the first day. Yields the stack and the rollback's metadata."""
    with release_stack(tmp_path_factory.mktemp("safety"), slot=0, cache=shared_cache) as env:
        target = environments.local_airflow(env.settings, "prod")
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

        # Loads under v2: a day v1 loaded, and a new one.
        _load_day(target, "2026-11-02", "v2")
        _load_day(target, "2026-11-03", "v2")

        with phase("rollback v2"):
            result = materialize_release(env.instance, [rollback], "v2")
        assert result.success, failures(result)
        meta = metadata_of(result, rollback.op.name)
        env.wait_served("prod", "v1")

        # Under v1 again: a retry of a load that already ran (the same run id: reused, never
        # loaded twice) and a backfill of the first day.
        _run(target, "ingest_orders", "load_2026-11-02_v1", {"data_date": "2026-11-02"})
        _load_day(target, "2026-11-01", "v1-backfill")
        yield env, meta


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
    rolled_back: tuple[ReleaseStack, dict[str, object]], tmp_path: Path
) -> None:
    env, meta = rolled_back
    assert meta["live_release"] == "v1"
    assert meta["loads_replayed"] == "ingest_orders 2026-11-02, ingest_orders 2026-11-03"
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
        for table, key in (
            ("marts.fct_orders", "order_id"),
            ("marts.dim_customers", "customer_id"),
        ):
            dupes = con.execute(f"SELECT count(*) - count(DISTINCT {key}) FROM oracle.{table}")
            assert dupes.fetchone() == (0,), table
