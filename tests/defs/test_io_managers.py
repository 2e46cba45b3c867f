"""The release record IO manager: `release_candidate`'s typed output, stored per release and
loaded by every later step; a record it cannot trust is refused naming the release."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from release_assets.core.record import RecordError, ReleaseRecord
from release_assets.defs.assets.staging_deployment import staging_deployment
from release_assets.defs.io_managers import ReleaseRecordIOManager
from release_assets.defs.partitions import releases
from tests.fakes import STAGING, FakeWorld, failure_of, make_record, materialize


def test_a_record_round_trips_through_the_io_manager(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    instance.add_dynamic_partitions("releases", ["v1"])
    manager = ReleaseRecordIOManager(store=world.records)
    record = make_record("v1", changed=["ingest_orders"])

    manager.handle_output(dg.build_output_context(partition_key="v1"), record)
    loaded = manager.load_input(
        dg.build_input_context(
            partition_key="v1",
            asset_key="release_candidate",
            asset_partitions_def=releases,
            instance=instance,
        )
    )

    assert loaded == record
    assert isinstance(loaded, ReleaseRecord)
    assert loaded.run_order() == ["ingest_orders", "dbt_build", "publish_revenue_report"]


def test_a_record_emitted_for_another_partition_is_refused(world: FakeWorld) -> None:
    manager = ReleaseRecordIOManager(store=world.records)

    with pytest.raises(dg.Failure, match="record of release v1 emitted for partition v2"):
        manager.handle_output(dg.build_output_context(partition_key="v2"), make_record("v1"))
    assert not (world.root / "records" / "v1.json").exists()


def test_a_record_of_an_unknown_version_is_refused_naming_the_release(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1")
    path = world.root / "records" / "v1.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "version": 2}))

    result = materialize(world, instance, [staging_deployment], "v1")

    assert not result.success
    message = failure_of(result, "staging_deployment")
    assert (
        "release record of release v1 cannot be read (record version 1 expected): "
        "version: Input should be 1"
    ) in message
    assert world.airflow(STAGING).published == {}
    with pytest.raises(RecordError, match="release v1"):
        world.records.read("v1")


def test_an_unreadable_record_is_refused_naming_the_release(world: FakeWorld) -> None:
    world.add_release("v1")
    (world.root / "records" / "v1.json").write_text('{"version": 1, "release": ')

    with pytest.raises(RecordError, match=r"^release record of release v1 cannot be read"):
        world.records.read("v1")


def test_a_step_of_a_release_without_a_record_says_to_make_one(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1", record=False)

    result = materialize(world, instance, [staging_deployment], "v1")

    assert not result.success
    assert (
        "release v1 has no release record: materialize release_candidate for v1 first"
        in failure_of(result, "staging_deployment")
    )
