"""`rollback`: the release live before the bad one is live again, code and tables together, or
a refusal that says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

from release_assets.core.record import DagEdges
from release_assets.defs.assets.prod_swap import prod_swap
from release_assets.defs.assets.redeploy import redeploy
from release_assets.defs.assets.rollback import rollback
from release_assets.runtimes.warehouse.base import Pointer
from tests.defs.test_deployment_step import CHANGES, UpdatingAirflow, bind_environment
from tests.fakes import (
    MODELS,
    NORTHSTAR_DAGS,
    PROD,
    FakeWorld,
    bundle_files,
    canary_relation,
    failure_of,
    last_switch,
    make_record,
    materialize,
    metadata_of,
    refusal_of,
)

ROLLBACK = rollback.op.name  # on_call__rollback
REDEPLOY = redeploy.op.name
LIVE_TABLES = {"marts.fct_orders": 120, "marts.dim_customers": 40}
V1_POINTERS = {
    "marts.dim_customers": Pointer("marts.dim_customers", "marts__r_v1.dim_customers", "v1"),
    "marts.fct_orders": Pointer("marts.fct_orders", "marts__r_v1.fct_orders", "v1"),
}


def _v2_swapped_in(world: FakeWorld, instance: dg.DagsterInstance) -> None:
    """v1 was live; v2 rebuilt fct_orders and added fct_daily_revenue, and prod_swap made it
    live."""
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", LIVE_TABLES)
    world.add_release("v2", changed=["dbt_build"], dbt_models=["*"], base_release="v1")
    world.write_table(PROD, canary_relation("marts.fct_orders", "v2"), 80)
    world.write_table(PROD, canary_relation("marts.fct_daily_revenue", "v2"), 30)
    assert materialize(world, instance, [prod_swap], "v2").success
    assert world.airflow(PROD).live == "v2"


def _unchanged_since_v2(world: FakeWorld) -> None:
    airflow = world.airflow(PROD)
    assert airflow.live == "v2" and set(airflow.served().values()) == {"v2"}
    pointers = world.warehouse(PROD).pointers()
    assert pointers["marts.fct_orders"].source == "marts__r_v2.fct_orders"


def test_rollback_restores_the_previous_release_code_and_tables(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_swapped_in(world, instance)

    result = materialize(world, instance, [rollback], "v2")

    assert result.success
    meta = metadata_of(result, ROLLBACK)
    assert meta["environment"] == PROD
    assert meta["rolled_back"] == "v2"
    assert meta["live_release"] == "v1"
    assert meta["tables_restored"] == 2
    assert meta["tables_retired"] == "marts.fct_daily_revenue"  # v1 had no such table
    airflow = world.airflow(PROD)
    assert airflow.live == "v1"
    assert set(airflow.served().values()) == {"v1"}
    warehouse = world.warehouse(PROD)
    assert warehouse.pointers() == V1_POINTERS
    assert warehouse.query("select count(*) from marts.fct_orders") == [(120,)]
    assert "marts.fct_daily_revenue" not in warehouse.tables()
    # Nothing was rebuilt: v2's relations are still there to swap forward again.
    assert "marts__r_v2.fct_orders" in warehouse.tables()
    # prod's history asset records the rollback: what is live now, what it replaced, who.
    (history,) = [
        m
        for m in result.asset_materializations_for_node(ROLLBACK)
        if m.asset_key == dg.AssetKey(["environments", PROD])
    ]
    seen = {k: v.value for k, v in history.metadata.items()}
    assert (seen["how"], seen["live_release"], seen["replaced_release"]) == ("rollback", "v1", "v2")
    assert seen["actor"] == "unattributed run"
    rolled = last_switch(world)
    assert seen["audit_record"] == rolled.seq
    assert (rolled.event.action, rolled.event.data["live_release"]) == ("rollback", "v1")


def test_rollback_of_a_release_that_is_not_live_is_refused_naming_the_live_one(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_swapped_in(world, instance)

    result = materialize(world, instance, [rollback], "v1")

    assert refusal_of(result, ROLLBACK) == (
        "release v1 is not live in prod (live: v2); only the live release can be rolled back"
    )
    refused = world.audit.records()[-1].event
    assert (refused.action, refused.step, refused.outcome) == ("refusal", "rollback", "refused")
    _unchanged_since_v2(world)


def test_rollback_with_nothing_live_is_refused(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1")

    result = materialize(world, instance, [rollback], "v1")

    assert refusal_of(result, ROLLBACK) == (
        "release v1 is not live in prod (live: nothing); only the live release can be rolled back"
    )


def test_rollback_of_a_first_release_is_refused(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", LIVE_TABLES)

    result = materialize(world, instance, [rollback], "v1")

    assert refusal_of(result, ROLLBACK) == (
        "release v1 replaced no earlier release in prod: nothing to go back to"
    )
    assert world.airflow(PROD).live == "v1"
    assert world.warehouse(PROD).pointers() == V1_POINTERS


def test_rollback_reads_the_previous_release_record_and_fails_clearly_without_it(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_swapped_in(world, instance)
    (world.root / "records" / "v1.json").unlink()

    result = materialize(world, instance, [rollback], "v2")

    assert not result.success
    assert failure_of(result, ROLLBACK) == (
        "release v1 has no release record: materialize release_candidate for v1 first"
    )
    _unchanged_since_v2(world)


def test_rollback_refuses_a_previous_bundle_that_no_longer_verifies(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_swapped_in(world, instance)
    world.bundles().tamper("v1", "_release/release.json", b'{"commit": "forged"}')

    result = materialize(world, instance, [rollback], "v2")

    assert not result.success
    assert failure_of(result, ROLLBACK).startswith(
        "release v1: stored file _release/release.json is missing or was altered"
    )
    _unchanged_since_v2(world)


def test_a_rolled_back_release_goes_live_again_only_by_a_redeploy_with_a_reason(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_swapped_in(world, instance)
    assert materialize(world, instance, [rollback], "v2").success

    stray = materialize(world, instance, [prod_swap], "v2")

    assert failure_of(stray, "prod_swap").startswith(
        "prod_swap refused for release v2: v2 was live in prod before (since "
    )
    assert "(live now: v1); make it live again with `release-assets redeploy v2" in failure_of(
        stray, "prod_swap"
    )
    assert world.airflow(PROD).live == "v1"

    no_reason = materialize(world, instance, [redeploy], "v2", {"reason": ""})
    assert refusal_of(no_reason, REDEPLOY).startswith("redeploy of v2 needs a reason")

    result = materialize(world, instance, [redeploy], "v2", {"reason": "INC-42: v1 misses the fix"})

    assert result.success
    meta = metadata_of(result, REDEPLOY)
    assert (meta["live_release"], meta["replaced_release"]) == ("v2", "v1")
    _unchanged_since_v2(world)
    done = last_switch(world).event
    assert (done.action, done.outcome, done.detail) == (
        "redeploy",
        "live",
        "reason: INC-42: v1 misses the fix",
    )


def test_a_release_that_never_went_live_is_not_redeployed(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_swapped_in(world, instance)
    world.add_release("v3", base_release="v2")

    result = materialize(world, instance, [redeploy], "v3", {"reason": "try v3 in prod now"})

    assert refusal_of(result, REDEPLOY) == (
        "release v3 was never live in prod: only a release that passed every step and went "
        "live can be redeployed"
    )
    _unchanged_since_v2(world)


def test_rollback_puts_back_the_previous_release_as_built_when_the_environment_lost_it(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_swapped_in(world, instance)
    airflow = world.airflow(PROD)
    built = dict(airflow.published["v1"])
    del airflow.published["v1"]  # e.g. pruned or removed by hand on the Airflow side

    result = materialize(world, instance, [rollback], "v2")

    assert result.success
    assert airflow.live == "v1" and airflow.published["v1"] == built


def test_rollback_into_an_environment_needing_an_update_fails_and_keeps_the_live_release(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_swapped_in(world, instance)
    bind_environment(
        world, PROD, UpdatingAirflow(environment=PROD, world=world.name, changes=CHANGES)
    )

    result = materialize(world, instance, [rollback], "v2")

    message = failure_of(result, ROLLBACK)
    assert message.startswith(f"{PROD}: release v1 is refused, nothing was published: ")
    assert "requirements.txt differs" in message
    _unchanged_since_v2(world)
    last = world.audit.records()[-1].event
    assert (last.step, last.action, last.outcome) == ("rollback", "rollback", "failed")


def test_a_rollback_turns_off_a_flag_whose_canary_never_ran_for_the_release_live_again(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    # order_size_band was canaried for v2 and turned on; v1's code never ran with it on.
    from release_assets.core.audit import AuditEvent
    from release_assets.core.flags import FLAG_CANARY_STEP, FLAG_STEP
    from release_assets.runtimes.flags.local_file import LocalFileFlags

    store = LocalFileFlags(environment=PROD, path=str(world.root / "prod-flags.json"))
    world.overrides["production"] = world.environment(PROD).model_copy(update={"flags": store})
    _v2_swapped_in(world, instance)
    manifest = world.store().manifest("v2")
    assert manifest is not None
    world.audit.append(
        AuditEvent(
            action="step",
            outcome="passed",
            actor="flag canary",
            step=FLAG_CANARY_STEP,
            environment=PROD,
            release="v2",
            digest=manifest.digest,
            data={"flag": "order_size_band"},
        )
    )
    store.set_flag("order_size_band", True)

    result = materialize(world, instance, [rollback], "v2")

    assert result.success and world.airflow(PROD).live == "v1"
    assert store.flags() == {"order_size_band": False}
    assert metadata_of(result, ROLLBACK)["flags_turned_off"] == "order_size_band"
    (off,) = [r.event for r in world.audit.records() if r.event.step == FLAG_STEP]
    assert (off.outcome, off.release, off.data["flag"]) == ("off", "v1", "order_size_band")
    assert off.detail == (
        "order_size_band turned off: rollback of v2 to v1; no flag canary has passed for v1"
    )


def _v2_changed_ingest_orders_and_went_live(
    world: FakeWorld,
    instance: dg.DagsterInstance,
    changed: tuple[str, ...] = ("ingest_orders", "ingest_returns"),
) -> datetime:
    """v1 live; v2 changed ingest_orders (and adds a DAG of its own), prod_swap made it live;
    returns when. Every dbt_build run in prod builds fct_orders (150) and dim_customers (50)
    into its run's schema suffix, as the real DAG does."""
    _v2_changing_ingest_orders(world, changed)
    assert materialize(world, instance, [prod_swap], "v2").success
    world.build_models_on_run(PROD, {"marts.fct_orders": 150, "marts.dim_customers": 50})
    return datetime.now(UTC)


def _v2_changing_ingest_orders(world: FakeWorld, changed: tuple[str, ...]) -> None:
    """v1 live; v2 (changed ``changed`` and adds ingest_returns) approved, its canary built."""
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", LIVE_TABLES)
    dags = {**NORTHSTAR_DAGS, "ingest_returns": DagEdges(produces=["duckdb://warehouse/raw.r"])}
    rec = make_record("v2", list(changed), ["*"], "v1", dags)
    world.records.write(rec)
    world.store().put_files("v2", bundle_files("v2", rec.dag_ids, MODELS, None))
    world.pass_steps("v2", "approval")
    world.airflow(PROD).define_release("v2", rec.dag_ids)
    for table in LIVE_TABLES:
        world.write_table(PROD, canary_relation(table, "v2"), 80)


def test_rollback_reloads_the_bad_releases_loads_with_the_previous_code_and_rebuilds_its_tables(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    live_at = _v2_changed_ingest_orders_and_went_live(world, instance)
    airflow = world.airflow(PROD)
    # While v2 was live (between its swap and now): two daily loads (one failed), a hand-made
    # re-load of an older day, and a load of a DAG v2 did not change (not replayed).
    airflow.add_run(
        "ingest_orders", "scheduled__d2", "success", live_at + timedelta(microseconds=2)
    )
    airflow.add_run("ingest_orders", "scheduled__d1", "failed", live_at + timedelta(microseconds=1))
    manual = {"data_date": "2026-10-30"}
    airflow.add_run(
        "ingest_orders",
        "manual__x",
        "success",
        live_at + timedelta(microseconds=3),
        (),
        "manual",
        manual,
    )
    airflow.add_run(
        "ingest_customers", "scheduled__c", "success", live_at + timedelta(microseconds=1)
    )

    result = materialize(world, instance, [rollback], "v2")

    assert result.success
    copies = [t for t in airflow.triggered if t.dag_id == "ingest_orders__canary_v1"]
    assert [(t.run_id, t.logical_date, t.conf) for t in copies] == [
        ("rollback_v2__scheduled__d1", (live_at + timedelta(microseconds=1)).isoformat(), {}),
        ("rollback_v2__scheduled__d2", (live_at + timedelta(microseconds=2)).isoformat(), {}),
        ("rollback_v2__manual__x", (live_at + timedelta(microseconds=3)).isoformat(), manual),
    ]
    assert not any(t.dag_id.startswith("ingest_customers") for t in airflow.triggered)
    (rebuild,) = [t for t in airflow.triggered if t.dag_id == "dbt_build"]
    assert rebuild.conf == {"schema_suffix": "__r_v1", "full_refresh": True, "release_id": "v1"}
    assert airflow.triggered.index(rebuild) > airflow.triggered.index(copies[-1])
    # The stable names read v1's relations, rebuilt from the raw data as it is now.
    warehouse = world.warehouse(PROD)
    assert warehouse.pointers() == V1_POINTERS
    assert warehouse.query("select count(*) from marts.fct_orders") == [(150,)]
    assert set(airflow.served().values()) == {"v1"}  # the replay copies are gone
    meta = metadata_of(result, ROLLBACK)
    assert meta["data"] == (
        "3 run(s) of changed DAGs re-run by v1's code, 1 dbt DAG(s) rebuilt (full refresh)"
    )
    # Every replayed run, in the order they ran: a scheduled run by its logical time (two
    # runs of one day stay two), a run triggered for a day by that day.
    at = f"{live_at:%Y-%m-%d %H:%M:%S}"
    assert meta["loads_replayed"] == (
        f"ingest_orders {at}, ingest_orders {at}, ingest_orders 2026-10-30"
    )
    assert meta["dbt_rebuilt"] == "dbt_build"
    assert meta["kept_as_loaded"] == "ingest_returns"
    data = world.audit.records()[-1].event
    assert (data.action, data.outcome, data.data["live_release"]) == (
        "rollback",
        "data_rebuilt",
        "v1",
    )


def test_a_rebuild_that_fails_leaves_the_previous_release_live_and_says_its_data_is_stale(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_changed_ingest_orders_and_went_live(world, instance)
    world.airflow(PROD).fail_runs("dbt_build", ("dbt_build",), "Compilation Error in model x")

    result = materialize(world, instance, [rollback], "v2")

    assert not result.success
    message = failure_of(result, ROLLBACK)
    assert message.startswith(
        "v1 is live again in prod in place of v2, but its data was not rebuilt: dbt_build run "
        "rollback_v2__rebuild_"
    )
    assert (
        "(dbt_build failed); v1 is live with its tables as they were when it was last live"
        in message
    )
    assert world.airflow(PROD).live == "v1"
    assert world.warehouse(PROD).pointers() == V1_POINTERS
    # The switch is on the record (the partition is materialized), and so is the failure.
    assert metadata_of(result, ROLLBACK)["data"].startswith("NOT rebuilt: dbt_build run")
    assert last_switch(world).event.data["live_release"] == "v1"
    assert world.audit.records()[-1].event.outcome == "data_failed"


def test_a_changed_dag_that_reads_the_marts_is_replayed_after_their_rebuild(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    live_at = _v2_changed_ingest_orders_and_went_live(
        world, instance, ("ingest_orders", "publish_revenue_report")
    )
    airflow = world.airflow(PROD)
    airflow.add_run("ingest_orders", "load", "success", live_at + timedelta(microseconds=1))
    airflow.add_run(
        "publish_revenue_report", "export", "success", live_at + timedelta(microseconds=2)
    )

    assert materialize(world, instance, [rollback], "v2").success

    order = [t.dag_id for t in airflow.triggered if t.run_id.startswith("rollback_v2__")]
    # The export re-run by v1's code reads v1's rebuilt marts, not the stale ones.
    assert order == ["ingest_orders__canary_v1", "dbt_build", "publish_revenue_report__canary_v1"]


def test_the_runs_of_a_swap_that_was_run_again_are_reloaded_from_its_first_attempt(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    """A swap killed after moving v2's code and run again later went live (as recorded) after
    v2's code first ran: the rollback re-loads from the first attempt's ``started`` event."""
    _v2_changing_ingest_orders(world, ("ingest_orders", "ingest_returns"))
    world.warehouse_state(PROD).fail_switches("the orchestrator's task was killed")
    assert not materialize(world, instance, [prod_swap], "v2").success
    (started,) = [r for r in world.audit.records() if r.event.outcome == "started"]
    assert (started.event.action, started.event.step, started.event.release) == (
        "switch",
        "prod_swap",
        "v2",
    )
    airflow = world.airflow(PROD)
    # A run between the first attempt and the swap that went live (v2's code, had the kill
    # come after the code moved and before the warehouse switch).
    between = started.time + timedelta(microseconds=1)
    airflow.add_run("ingest_orders", "scheduled__between", "success", between)
    world.warehouse_state(PROD).allow_switches()
    assert materialize(world, instance, [prod_swap], "v2").success

    result = materialize(world, instance, [rollback], "v2")

    assert result.success
    replayed = [t.run_id for t in airflow.triggered if t.dag_id == "ingest_orders__canary_v1"]
    assert replayed == ["rollback_v2__scheduled__between"]
