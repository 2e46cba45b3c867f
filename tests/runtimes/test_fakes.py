"""The in-memory fakes behave as the runtimes they stand in for, where the release steps can
tell the difference (errors, idempotency, what is served, digests, read-only reads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from release_assets.core.deploy import DeploymentError, wait_until_serving
from release_assets.runtimes.airflow.base import AirflowApiError
from release_assets.runtimes.airflow.fake import FakeAirflow, airflow_state
from release_assets.runtimes.artifacts.base import ArtifactConflict, ArtifactIntegrityError
from release_assets.runtimes.warehouse.base import WarehouseError
from tests.fakes import STAGING, FakeWorld


def _bundle(root: Path, content: str = "x = 1\n") -> Path:
    (root / "dags").mkdir(parents=True)
    (root / "dags" / "a.py").write_text(content)
    (root / "release.yaml").write_text("version: 1\n")
    return root


def test_copies_of_a_fake_share_its_state(world: FakeWorld) -> None:
    target = world.airflow_target(STAGING)
    copy = target.model_copy()
    world.airflow(STAGING).define_release("v1", ["a"])

    assert copy.state is target.state is airflow_state(world.name, STAGING)
    assert world.store().model_copy().state is world.bundles()
    assert world.warehouse(STAGING).model_copy().state is world.warehouse_state(STAGING)


def test_airflow_serves_the_live_release_and_canaries_tagged_with_their_release(
    world: FakeWorld, tmp_path: Path
) -> None:
    target = world.airflow_target(STAGING)
    state = world.airflow(STAGING)
    state.define_release("v1", ["a", "b"])
    state.define_release("v2", ["a", "b", "c"])
    with pytest.raises(LookupError, match="release v3"):
        target.publish("v3", _bundle(tmp_path / "b3"))
    with pytest.raises(ValueError, match="invalid release id"):
        target.publish("../v1", _bundle(tmp_path / "bx"))
    with pytest.raises(FileNotFoundError, match="release v1 is not published to staging"):
        target.activate("v1")
    target.publish("v1", _bundle(tmp_path / "b1"))
    target.publish("v2", _bundle(tmp_path / "b2"))

    assert target.activate("v1") is None
    assert target.publish_canary("v2", ["c", "zz"]) == {
        "c": "c__canary_v2",
        "zz": "zz__canary_v2",
    }
    dags = {d.dag_id: d for d in target.list_dags()}
    assert {d: info.release for d, info in dags.items()} == {
        "a": "v1",
        "b": "v1",
        "c__canary_v2": "v2",  # zz is not a DAG of v2: never served
    }
    assert dags["a"].is_paused and not dags["c__canary_v2"].is_paused
    assert target.remove_canary("v2") == ["c__canary_v2"]
    assert target.activate("v2") == "v1"
    assert target.live_release() == "v2"


def test_airflow_runs_are_idempotent_and_failed_runs_are_retried(
    world: FakeWorld, tmp_path: Path
) -> None:
    target = world.airflow_target(STAGING)
    state = world.airflow(STAGING)
    state.define_release("v1", ["load", "report"])
    target.publish("v1", _bundle(tmp_path / "b1"))
    with pytest.raises(AirflowApiError, match="HTTP 404"):
        target.trigger("load", "r1", {})  # not live: not served
    target.activate("v1")
    effects: list[tuple[str, dict[str, object]]] = []
    state.on_run(lambda dag_id, conf: effects.append((dag_id, conf)))
    state.fail_runs("report", ("render", "upload"), "x" * 4000 + "disk full")

    target.trigger("load", "r1", {"day": "2026-11-01"})
    target.trigger("load", "r1", {"day": "ignored"})
    target.trigger("report", "r1", {})
    failed = target.wait_for_run("report", "r1", timeout_s=1)
    state.fix_runs("report")
    target.trigger("report", "r1", {})

    assert effects == [("load", {"day": "2026-11-01"}), ("report", {})]
    assert target.wait_for_run("load", "r1", 1).succeeded
    assert (failed.state, failed.failed_tasks) == ("failed", ("render", "upload"))
    assert len(failed.log_excerpt) == 3000 and failed.log_excerpt.endswith("disk full")
    assert target.wait_for_run("report", "r1", 1).succeeded
    assert [(t.dag_id, t.retry) for t in state.triggered] == [
        ("load", False),
        ("report", False),
        ("report", True),
    ]
    with pytest.raises(AirflowApiError, match="HTTP 404"):
        target.wait_for_run("load", "r2", 1)


def test_a_run_effect_that_raises_fails_the_run_with_its_traceback(
    world: FakeWorld, tmp_path: Path
) -> None:
    target = world.airflow_target(STAGING)
    state = world.airflow(STAGING)
    state.define_release("v1", ["load"])
    target.publish("v1", _bundle(tmp_path / "b1"))
    target.activate("v1")

    def boom(dag_id: str, conf: dict[str, object]) -> None:
        raise RuntimeError("source file missing")

    state.on_run(boom)
    target.trigger("load", "r1", {})

    result = target.wait_for_run("load", "r1", 1)
    assert result.failed_tasks == ("run_effect",)
    assert "RuntimeError: source file missing" in result.log_excerpt
    assert target.task_logs("load", "r1") == {"run_effect": result.log_excerpt}


def test_a_broken_release_reports_every_file_as_the_real_loader_does(
    world: FakeWorld, tmp_path: Path
) -> None:
    target: FakeAirflow = world.airflow_target(STAGING)
    state = world.airflow(STAGING)
    state.define_release("v1", ["a", "b"])
    state.break_import("v1", "dags/b.py", "ImportError: cannot import name 'x'")
    state.break_import("v1", "dags/a.py", "SyntaxError: invalid syntax")
    target.publish("v1", _bundle(tmp_path / "b1"))
    target.activate("v1")

    assert target.list_dags() == []
    (error,) = target.import_errors()
    assert error.filename.endswith("/dags/release_loader.py")
    assert "release v1: 2 DAG file(s) failed to import" in error.stack_trace
    with pytest.raises(DeploymentError, match=r"release v1 fail to import: dags/a\.py, dags/b\.py"):
        wait_until_serving(target, "v1", {"a", "b"}, timeout_s=1)


def test_the_warehouse_runs_real_sql_and_reads_are_read_only(world: FakeWorld) -> None:
    warehouse = world.warehouse(STAGING)
    warehouse.ensure()
    warehouse.execute(["create schema raw", "create table raw.orders (id bigint)"])
    with pytest.raises(WarehouseError, match="staging"):
        warehouse.execute(["insert into raw.orders values (1)", "insert into raw.nope values (1)"])
    with pytest.raises(WarehouseError, match="read-only; got INSERT"):
        warehouse.query("insert into raw.orders values (2)")

    assert warehouse.query("select count(*) from raw.orders") == [(0,)]
    assert warehouse.tables() == ["raw.orders"]
    assert world.warehouse("prod").tables() == []  # one database per environment
    world.warehouse_state(STAGING).fail_switches("quota exceeded")
    with pytest.raises(WarehouseError, match="warehouse 'staging': quota exceeded"):
        warehouse.switch("v1", {})
    assert world.warehouse_state(STAGING).switch_requests == ["v1"]


def test_the_artifact_store_verifies_digests(world: FakeWorld, tmp_path: Path) -> None:
    store = world.store()
    manifest = store.put_bundle("v1", _bundle(tmp_path / "b1"))
    assert store.put_bundle("v1", tmp_path / "b1") == manifest
    with pytest.raises(ArtifactConflict, match="release v1 already has bundle"):
        store.put_bundle("v1", _bundle(tmp_path / "b1x", "x = 2\n"))
    with pytest.raises(FileNotFoundError, match=r"release v1 has no file nope\.py"):
        store.read_file("v1", "nope.py")
    with pytest.raises(FileNotFoundError, match="no bundle stored for release v2"):
        store.fetch_bundle("v2", tmp_path / "out")

    assert store.fetch_bundle("v1", tmp_path / "out") == manifest
    assert (tmp_path / "out" / "dags" / "a.py").read_text() == "x = 1\n"
    world.bundles().tamper("v1", "dags/a.py")
    with pytest.raises(ArtifactIntegrityError, match=r"stored file dags/a\.py is missing or was"):
        store.read_file("v1", "dags/a.py")
    world.bundles().lose("v1", "release.yaml")
    with pytest.raises(ArtifactIntegrityError, match=r"stored file release\.yaml is missing"):
        store.read_file("v1", "release.yaml")
    assert world.store("other").manifest("v1") is None  # another name: another store
