"""`flag_canary`: the live release's code with a flag off and on, from the same inputs, in
production, judged table by table; `feature_flag` turns the flag on in prod only after it."""

from __future__ import annotations

import dagster as dg
import pytest

from release_assets.core.flags import FLAG_CANARY_STEP
from release_assets.defs.assets.feature_flag import NODE, build_feature_flag
from release_assets.defs.assets.flag_canary import CHECK, flag_canary
from release_assets.defs.audit_log import ACTOR_TAG
from release_assets.defs.partitions import feature_flags
from release_assets.runtimes.flags.local_file import LocalFileFlags
from tests.fakes import PROD, STAGING, FakeWorld, failure_of, table_sql

FLAG = "order_size_band"  # declared by the example's release.yaml, read by dbt_build
SWITCH = build_feature_flag([STAGING, PROD])


@pytest.fixture
def live(world: FakeWorld) -> FakeWorld:
    """v1 (the example's release.yaml) live in prod with fct_orders of 300 rows; prod's flags
    in a JSON file of the test; each run of v1's dbt_build builds fct_orders again."""
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", {"marts.fct_orders": 300})
    store = LocalFileFlags(environment=PROD, path=str(world.root / "flags" / "prod.json"))
    bound = world.environment(PROD).model_copy(update={"flags": store})
    world.overrides[f"env_{PROD}"] = bound
    world.overrides["production"] = bound
    world.build_models_on_run(PROD, {"marts.fct_orders": 300}, code="v1")
    return world


def run_canary(world: FakeWorld, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    instance.add_dynamic_partitions(feature_flags.name or "", [FLAG])
    return dg.materialize(
        [flag_canary],
        partition_key=FLAG,
        instance=instance,
        resources=world.resources(),
        raise_on_error=False,
        tags={ACTOR_TAG: "olivia"},
    )


def turn_on(world: FakeWorld, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    instance.add_dynamic_partitions(feature_flags.name or "", [FLAG])
    config = {"environment": PROD, "state": "on", "reason": "size bands for the finance report"}
    return dg.materialize(
        [SWITCH],
        partition_key=FLAG,
        instance=instance,
        resources=world.resources(),
        raise_on_error=False,
        run_config={"ops": {NODE: {"config": config}}},
    )


def check_of(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == CHECK]
    return check


def flag_canary_records(world: FakeWorld) -> list[tuple[str, str | None, str | None]]:
    return [
        (r.event.outcome, r.event.release, r.event.data.get("flag"))
        for r in world.audit.records()
        if r.event.step == FLAG_CANARY_STEP
    ]


def test_a_flag_whose_canary_passes_can_be_turned_on_in_prod(
    live: FakeWorld, instance: dg.DagsterInstance
) -> None:
    assert not turn_on(live, instance).asset_materializations_for_node(NODE)  # refused first

    result = run_canary(live, instance)

    assert result.success
    check = check_of(result)
    assert check.passed, check.description
    prod = live.airflow(PROD)
    # v1's code twice, the flag off then on, each into its own schemas; dbt_build reads the
    # flag and publish_revenue_report is downstream of it. Nothing else runs.
    started = [(r.dag_id, r.conf["schema_suffix"], r.conf["feature_flags"]) for r in prod.triggered]
    assert started == [
        ("dbt_build__canary_v1", f"__fo_{FLAG}", {FLAG: False}),
        ("publish_revenue_report__canary_v1", f"__fo_{FLAG}", {FLAG: False}),
        ("dbt_build__canary_v1", f"__fn_{FLAG}", {FLAG: True}),
        ("publish_revenue_report__canary_v1", f"__fn_{FLAG}", {FLAG: True}),
    ]
    assert flag_canary_records(live) == [("passed", "v1", FLAG)]
    # Prod itself is untouched: v1 live, the flag still off, the stable names on v1.
    assert prod.live == "v1"
    assert (
        LocalFileFlags(environment=PROD, path=str(live.root / "flags" / "prod.json")).flags() == {}
    )

    switched = turn_on(live, instance)

    assert switched.success and switched.asset_materializations_for_node(NODE)
    store = LocalFileFlags(environment=PROD, path=str(live.root / "flags" / "prod.json"))
    assert store.flags() == {FLAG: True}


def test_a_flagged_path_that_shifts_amounts_fails_and_the_flag_stays_off(
    live: FakeWorld, instance: dg.DagsterInstance
) -> None:
    def flagged_path_shifts_amounts(dag_id: str, conf: dict[str, object]) -> None:
        flags = conf.get("feature_flags")
        if dag_id == "dbt_build__canary_v1" and isinstance(flags, dict) and flags.get(FLAG):
            relation = f"marts{conf['schema_suffix']}.fct_orders"
            live.warehouse(PROD).execute(table_sql(relation, 300, amount_shift=150.0))

    live.on_run(PROD, flagged_path_shifts_amounts)

    result = run_canary(live, instance)

    check = check_of(result)
    assert not check.passed
    assert "amount" in (check.description or "") and "p=" in (check.description or "")
    assert flag_canary_records(live) == [("failed", "v1", FLAG)]
    refused = turn_on(live, instance)
    assert not refused.asset_materializations_for_node(NODE)
    store = LocalFileFlags(environment=PROD, path=str(live.root / "flags" / "prod.json"))
    assert store.flags() == {}


def test_a_flag_the_live_release_does_not_declare_is_refused_and_nothing_runs(
    live: FakeWorld, instance: dg.DagsterInstance
) -> None:
    instance.add_dynamic_partitions(feature_flags.name or "", ["no_such_flag"])

    result = dg.materialize(
        [flag_canary],
        partition_key="no_such_flag",
        instance=instance,
        resources=live.resources(),
        raise_on_error=False,
    )

    assert failure_of(result, "on_call__flag_canary") == (
        "no_such_flag is not declared by v1, live in prod (its release.yaml declares: "
        "order_size_band)"
    )
    assert live.airflow(PROD).triggered == []
    (refusal,) = [r for r in live.audit.records() if r.event.step == FLAG_CANARY_STEP]
    assert refusal.event.outcome == "refused"


def test_a_flag_declared_as_read_by_a_dag_the_release_lacks_is_refused(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    from tests.paths import NORTHSTAR

    text = (
        (NORTHSTAR / "release.yaml").read_text().replace("dags: [dbt_build]", "dags: [dbt_biuld]")
    )
    assert "dbt_biuld" in text
    world.add_release("v1", changed=[], dbt_models=["*"], release_yaml=text)
    world.seed_live(PROD, "v1", {"marts.fct_orders": 300})

    result = run_canary(world, instance)

    message = failure_of(result, "on_call__flag_canary")
    assert message.startswith(
        "v1's release.yaml says order_size_band is read by dbt_biuld, which v1 does not define"
    ), message
    assert world.airflow(PROD).triggered == []
