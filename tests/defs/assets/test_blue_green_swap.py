"""A requirements change in a blue/green production, through the release steps: `prod_swap`
cuts over to green (its metadata says so) and `rollback` cuts back to blue; a release with
the live runtime swaps in place."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from release_assets.core.deploy import publish_from_store
from release_assets.defs.assets.prod_swap import prod_swap
from release_assets.defs.assets.rollback import rollback
from release_assets.runtimes.airflow.blue_green import BlueGreenAirflow
from release_assets.runtimes.environment import Environment
from tests.fakes import PROD, FakeWorld, bundle_files, canary_relation, materialize, metadata_of
from tests.runtimes.airflow import blue_green_fakes as fakes

REQUIREMENTS = b"duckdb==2.0.0\n"
LIVE_TABLES = {"marts.fct_orders": 120, "marts.dim_customers": 40}


@pytest.fixture
def prod(world: FakeWorld) -> Iterator[BlueGreenAirflow]:
    """Production as blue/green over two fake colors, bound as `production`."""
    target = fakes.make_target(world.name, world.root / "prod-blue-green.json")
    env = world.environment(PROD)
    bound = Environment(
        name=PROD,
        airflow=target,
        warehouse=env.warehouse,
        artifacts=env.artifacts,
        secrets=env.secrets,
        flags=env.flags,
        spark=env.spark,
        locks_dir=env.locks_dir,
    )
    world.overrides.update({f"env_{PROD}": bound, "production": bound})
    yield target
    fakes.drop(world.name)


def _release(world: FakeWorld, tag: str, requirements: bytes, base: str | None = None) -> None:
    rec = world.add_release(tag, dbt_models=["*"], base_release=base, bundle=False)
    files = bundle_files(tag, rec.dag_ids)
    world.store().put_files(tag, {**files, "requirements.txt": requirements})
    fakes.define(world.name, tag, sorted(rec.dag_ids))


def _v1_live(world: FakeWorld, prod: BlueGreenAirflow) -> None:
    _release(world, "v1", REQUIREMENTS)
    publish_from_store(world.store(), world.store(), prod, "v1")
    prod.activate("v1")
    sources = {t: canary_relation(t, "v1") for t in LIVE_TABLES}
    for table, rows in LIVE_TABLES.items():
        world.write_table(PROD, sources[table], rows)
    world.warehouse(PROD).switch("v1", sources)


def test_a_requirements_change_is_cut_over_and_rolled_back_by_cutting_back(
    world: FakeWorld, instance: dg.DagsterInstance, prod: BlueGreenAirflow
) -> None:
    _v1_live(world, prod)
    _release(world, "v2", REQUIREMENTS + b"humanize==4.17.0\n", base="v1")
    world.write_table(PROD, canary_relation("marts.fct_orders", "v2"), 118)

    swap = materialize(world, instance, [prod_swap], "v2")

    assert swap.success
    meta = metadata_of(swap, "prod_swap")
    assert meta["airflow_color"] == "green"
    assert {k: meta["cutover"][k] for k in ("from_color", "to_color", "replaced")} == {  # type: ignore[index]
        "from_color": "blue",
        "to_color": "green",
        "replaced": "v1",
    }
    assert prod.live_release() == "v2"
    assert fakes.ensured(world.name)[0][0] == "green"  # green started from v2's runtime

    back = materialize(world, instance, [rollback], "v2")

    assert back.success
    assert prod.read_state().active == "blue" and prod.live_release() == "v1"
    assert [(c.from_color, c.to_color) for c in prod.read_state().cutovers] == [
        ("blue", "green"),
        ("green", "blue"),
    ]
    assert world.warehouse(PROD).query("select count(*) from marts.fct_orders") == [(120,)]


def test_a_release_with_the_live_runtime_swaps_in_place(
    world: FakeWorld, instance: dg.DagsterInstance, prod: BlueGreenAirflow
) -> None:
    _v1_live(world, prod)
    _release(world, "v2", REQUIREMENTS, base="v1")
    world.write_table(PROD, canary_relation("marts.fct_orders", "v2"), 118)

    swap = materialize(world, instance, [prod_swap], "v2")

    assert swap.success
    meta = metadata_of(swap, "prod_swap")
    assert (meta["airflow_color"], meta["cutover"]) == ("blue", "in place (same runtime)")
    assert prod.live_release() == "v2" and fakes.ensured(world.name) == []
