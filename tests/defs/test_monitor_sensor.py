"""`post_release_monitor`: after v2 goes live, a breach (a failed run of a live DAG, a table past
its freshness SLO, a load that breaks a quality limit) requests the `rollback` job once, and
running it like the CLI does puts v1 back with the breach in the audit trail; "alert only"
records and rolls nothing back; outside the bake, or with Airflow unreachable, nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import yaml

from release_assets.config.monitor_config import MonitorPolicy
from release_assets.core.history import environment_history
from release_assets.defs.assets.prod_swap import prod_swap
from release_assets.defs.assets.redeploy import redeploy
from release_assets.defs.assets.rollback import rollback
from release_assets.defs.audit_log import ACTOR_TAG, REASON_TAG
from release_assets.defs.jobs import rollback_job
from release_assets.defs.monitor_sensor import build_post_release_monitor
from tests.fakes import PROD, FakeWorld, canary_relation, last_switch, materialize, table_sql
from tests.paths import NORTHSTAR

LIVE_TABLES = {"marts.fct_orders": 120, "marts.dim_customers": 40}
NEWEST_V2 = datetime(2026, 11, 1, 1, 19, tzinfo=UTC)  # table_sql's newest updated_at, 80 rows


def _release_yaml(**fct_orders: Any) -> str:
    """The example's release.yaml with two critical tables (``fct_orders`` with
    ``fct_orders``' extra fields), both present in the fake prod."""
    raw = yaml.safe_load((NORTHSTAR / "release.yaml").read_text())
    raw["critical_tables"] = [
        {"table": "marts.fct_orders", "keys": ["order_id"], **fct_orders},
        {"table": "marts.dim_customers", "keys": ["customer_id"]},
    ]
    return str(yaml.safe_dump(raw))


def _v2_live(world: FakeWorld, instance: dg.DagsterInstance, **fct_orders: Any) -> datetime:
    """v1 was live; v2 (its release.yaml with ``fct_orders``' fields) went live through
    prod_swap. Returns when it went live (the audit trail's time)."""
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", LIVE_TABLES)
    world.add_release(
        "v2",
        changed=["dbt_build"],
        dbt_models=["*"],
        base_release="v1",
        release_yaml=_release_yaml(**fct_orders),
    )
    world.write_table(PROD, canary_relation("marts.fct_orders", "v2"), 80)
    assert materialize(world, instance, [prod_swap], "v2").success
    assert world.airflow(PROD).live == "v2"
    return environment_history(world.audit.records())[PROD][-1].time


def _evaluate(
    world: FakeWorld,
    instance: dg.DagsterInstance,
    at: datetime,
    cursor: str | None = None,
    policy: MonitorPolicy | None = None,
) -> dg.SensorResult:
    sensor = build_post_release_monitor(policy or MonitorPolicy(), clock=lambda: at)
    with dg.build_sensor_context(
        instance=instance, resources=world.resources(), cursor=cursor
    ) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def _skip(result: dg.SensorResult) -> str:
    assert not result.run_requests
    assert result.skip_reason is not None
    return str(result.skip_reason.skip_message)


def _roll_back(
    world: FakeWorld, instance: dg.DagsterInstance, request: dg.RunRequest
) -> dg.ExecuteInProcessResult:
    """Run the requested `rollback` job as the daemon (and the CLI) would: the job of the
    definitions, the request's partition and tags."""
    defs = dg.Definitions(assets=[rollback], jobs=[rollback_job], resources=world.resources())
    assert request.job_name == "rollback" and request.partition_key
    return defs.resolve_job_def("rollback").execute_in_process(
        instance=instance,
        partition_key=request.partition_key,
        tags=request.tags,
        raise_on_error=False,
    )


def _breaches(world: FakeWorld) -> list[tuple[str | None, str]]:
    return [
        (r.event.release, r.event.data["breach"])
        for r in world.audit.records()
        if r.event.step == "monitor" and r.event.outcome == "breach"
    ]


def _rolled_back_for(
    world: FakeWorld, instance: dg.DagsterInstance, result: dg.SensorResult, reason: str
) -> None:
    """``result`` requested one rollback of v2 whose reason holds ``reason``; running it puts
    v1 back, and the audit trail's rollback record names the sensor and the breach."""
    (request,) = result.run_requests or []
    assert request.partition_key == "v2"
    assert request.tags[ACTOR_TAG] == "sensor:post_release_monitor"
    assert reason in request.tags[REASON_TAG]
    assert _roll_back(world, instance, request).success
    assert world.airflow(PROD).live == "v1"
    rolled = last_switch(world).event
    assert (rolled.action, rolled.release, rolled.data["live_release"]) == ("rollback", "v2", "v1")
    assert rolled.actor == "sensor:post_release_monitor"
    assert reason in rolled.data["reason"] and reason in rolled.detail


def test_a_failed_run_of_a_live_dag_after_the_swap_rolls_back_once(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    went_live = _v2_live(world, instance)
    airflow = world.airflow(PROD)
    # Before the swap (v1's run): not v2's doing.
    airflow.add_run("ingest_orders", "old", "failed", went_live - timedelta(minutes=5), ("load",))
    airflow.add_run("dbt_build", "ok", "success", went_live + timedelta(minutes=1))
    airflow.add_run(
        "dbt_build", "scheduled__1", "failed", went_live + timedelta(minutes=2), ("dbt_run",)
    )
    now = went_live + timedelta(minutes=3)

    first = _evaluate(world, instance, now)

    (request,) = first.run_requests or []
    assert request.run_key == f"monitor-rollback-v2-task_failure-{went_live:%Y%m%dT%H%M%S}"
    assert "DAG dbt_build failed: run scheduled__1" in request.tags[REASON_TAG]
    assert "failed in task(s) dbt_run" in request.tags[REASON_TAG]
    assert "ingest_orders" not in request.tags[REASON_TAG]
    assert _breaches(world) == [("v2", "task_failure:dbt_build")]
    # The same breach, evaluated again before the rollback ran: requested once only.
    again = _evaluate(world, instance, now + timedelta(seconds=30), first.cursor)
    assert "rollback already requested for task_failure:dbt_build" in _skip(again)
    assert _breaches(world) == [("v2", "task_failure:dbt_build")]

    _rolled_back_for(world, instance, first, "DAG dbt_build failed: run scheduled__1")
    # v1 went live through a rollback: not watched.
    after = _skip(_evaluate(world, instance, now + timedelta(minutes=1), again.cursor))
    assert after.startswith("v1 went live in prod through a rollback (of v2)")


def test_a_failed_canary_copy_does_not_roll_back(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    went_live = _v2_live(world, instance)
    world.airflow(PROD).add_run(
        "dbt_build__canary_v3", "canary", "failed", went_live + timedelta(minutes=1), ("run",)
    )

    reason = _skip(_evaluate(world, instance, went_live + timedelta(minutes=2)))

    assert reason.startswith("no breach: v2: 58 min of bake left")
    assert world.airflow(PROD).live == "v2" and _breaches(world) == []


def test_a_failed_run_someone_triggered_by_hand_does_not_roll_back(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    # A person's manual run of a live DAG with a mistaken conf is not the release's load.
    went_live = _v2_live(world, instance)
    world.airflow(PROD).add_run(
        "dbt_build",
        "manual__bad_conf",
        "failed",
        went_live + timedelta(minutes=1),
        ("plan_dbt_run",),
        run_type="manual",
    )

    reason = _skip(_evaluate(world, instance, went_live + timedelta(minutes=2)))

    assert reason.startswith("no breach: v2: 58 min of bake left")
    assert world.airflow(PROD).live == "v2" and _breaches(world) == []


def test_a_table_past_its_freshness_slo_rolls_back_with_the_minutes(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    went_live = _v2_live(world, instance, freshness_column="updated_at", freshness_slo_minutes=30)
    now = went_live + timedelta(minutes=31)  # the release had its SLO period to load
    age = (now - NEWEST_V2).total_seconds() / 60

    result = _evaluate(world, instance, now)

    _rolled_back_for(
        world,
        instance,
        result,
        f"marts.fct_orders is stale: newest updated_at 2026-11-01 01:19:00 is {age:.0f} min "
        f"old, {age - 30:.0f} min past its freshness SLO of 30 min",
    )


def test_a_stale_table_gets_one_slo_period_after_the_swap(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    went_live = _v2_live(world, instance, freshness_column="updated_at", freshness_slo_minutes=60)

    reason = _skip(_evaluate(world, instance, went_live + timedelta(minutes=30)))

    assert "freshness: 0 of 1 critical tables (0.0 %) updated within their SLO" in reason
    assert "the release has been live 30 min only: not a breach before 60 min" in reason


def test_a_null_rate_breach_on_a_new_load_rolls_back(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    went_live = _v2_live(
        world, instance, freshness_column="updated_at", thresholds={"max_null_rate": 0.1}
    )
    quiet = _evaluate(world, instance, went_live + timedelta(minutes=1))
    assert "quality judged on 2 new load(s)" in _skip(quiet)

    # The next load of fct_orders (newer rows) leaves 60 of 150 amounts null.
    world.warehouse(PROD).execute(
        table_sql(canary_relation("marts.fct_orders", "v2"), 150, null_amounts=60)
    )
    result = _evaluate(world, instance, went_live + timedelta(minutes=2), quiet.cursor)

    _rolled_back_for(
        world,
        instance,
        result,
        "marts.fct_orders after its load of 2026-11-01T02:29:00: null rate of amount is "
        "0.4000 (60 of 150 rows; allowed at most 0.1)",
    )


def test_alert_only_records_the_breach_once_and_rolls_nothing_back(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    went_live = _v2_live(world, instance)
    world.airflow(PROD).add_run(
        "ingest_orders", "scheduled__1", "failed", went_live + timedelta(minutes=1), ("load",)
    )
    alert = MonitorPolicy(on_breach="alert")

    first = _evaluate(world, instance, went_live + timedelta(minutes=2), policy=alert)
    second = _evaluate(world, instance, went_live + timedelta(minutes=3), first.cursor, alert)

    assert _skip(first).startswith("breach of v2, alert only (monitor policy): DAG ingest_orders")
    assert _skip(second) == _skip(first)
    assert _breaches(world) == [("v2", "task_failure:ingest_orders")]
    recorded = world.audit.records()[-1].event
    assert (recorded.action, recorded.actor) == ("step", "sensor:post_release_monitor")
    assert recorded.data["on_breach"] == "alert"
    assert world.airflow(PROD).live == "v2"


def test_outside_the_bake_window_nothing_is_watched(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    went_live = _v2_live(world, instance)
    world.airflow(PROD).add_run(
        "dbt_build", "late", "failed", went_live + timedelta(minutes=61), ("dbt_run",)
    )

    reason = _skip(_evaluate(world, instance, went_live + timedelta(minutes=62)))

    assert reason.startswith("the bake of v2 in prod ended at ")
    assert "(60 min after it went live at " in reason
    assert _breaches(world) == []


def test_nothing_live_is_a_skip(world: FakeWorld, instance: dg.DagsterInstance) -> None:
    reason = _skip(_evaluate(world, instance, datetime.now(UTC)))

    assert reason == "nothing is live in prod: nothing to watch"


def test_an_unreachable_airflow_is_a_skip_never_a_rollback(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    went_live = _v2_live(world, instance)
    airflow = world.airflow(PROD)
    airflow.add_run("dbt_build", "s1", "failed", went_live + timedelta(minutes=1), ("dbt_run",))
    airflow.unreachable = "Airflow 'prod' at http://127.0.0.1:8082 is unreachable (ConnectTimeout)"

    reason = _skip(_evaluate(world, instance, went_live + timedelta(minutes=2)))

    assert reason == (
        "cannot read Airflow of prod, nothing judged: Airflow 'prod' at http://127.0.0.1:8082 "
        "is unreachable (ConnectTimeout)"
    )
    assert _breaches(world) == [] and airflow.live == "v2"


def test_a_release_redeployed_after_a_monitor_rollback_is_a_new_bake(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    went_live = _v2_live(world, instance)
    airflow = world.airflow(PROD)
    airflow.add_run("dbt_build", "s1", "failed", went_live, ("dbt_run",))
    first = _evaluate(world, instance, went_live + timedelta(minutes=1))
    _rolled_back_for(world, instance, first, "DAG dbt_build failed: run s1")
    reason = "INC-7: the source feed was down, not v2's doing"
    assert materialize(world, instance, [redeploy], "v2", config={"reason": reason}).success
    redeployed = environment_history(world.audit.records())[PROD][-1].time

    # The failure before the redeploy is not the new bake's; a new one is.
    quiet = _evaluate(world, instance, redeployed + timedelta(minutes=1), first.cursor)
    assert _skip(quiet).startswith("no breach: v2: 59 min of bake left")
    airflow.add_run("dbt_build", "s2", "failed", redeployed + timedelta(minutes=2), ("dbt_run",))
    again = _evaluate(world, instance, redeployed + timedelta(minutes=3), quiet.cursor)

    (request,) = again.run_requests or []
    assert request.run_key == f"monitor-rollback-v2-task_failure-{redeployed:%Y%m%dT%H%M%S}"
    assert "run s2" in request.tags[REASON_TAG]


def test_a_live_release_without_its_record_is_a_skip_naming_it(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    went_live = _v2_live(world, instance)
    (world.root / "records" / "v2.json").unlink()

    reason = _skip(_evaluate(world, instance, went_live + timedelta(minutes=1)))

    assert reason == (
        "cannot read what v2 runs, nothing judged: release v2 has no release record: "
        "materialize release_candidate for v2 first"
    )
