"""The release graph against real local environments: tag -> sensor -> staging -> canary ->
regression check -> prod swap, rollback, a regression that is stopped, a broken DAG."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from release_assets.cli.demo import PROD_INGESTION, change_v2, change_v3, change_v4
from release_assets.defs.assets.canary_publish import canary_publish
from release_assets.defs.assets.prod_swap import prod_swap
from release_assets.defs.assets.release_artifact import release_artifact
from release_assets.defs.assets.rollback import rollback
from release_assets.defs.assets.staging_integration_run import staging_integration_run
from release_assets.defs.definitions import defs
from release_assets.defs.jobs import RELEASE_ASSETS, RELEASE_CHECKS
from release_assets.defs.sensors import merged_tag_sensor
from release_assets.local import environments, stack
from release_assets.local.seed import seed_environment
from release_assets.settings import Settings, load_settings
from release_assets.settings import settings as settings_cache
from release_assets.validation.runner import GATES
from tests.conftest import NORTHSTAR, SHARED_RUNTIMES
from tests.deployments import write_local_deployment
from tests.fakes import metadata_of
from tests.pipelines_git import (
    PipelinesGit,
    make_pipelines_git,
    materialize_release,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, PipelinesGit]]:
    root = tmp_path_factory.mktemp("graph")
    repo = make_pipelines_git(root / "northstar-git")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RELEASE_ASSETS_STATE_DIR", str(root / "state"))
        mp.setenv("RELEASE_ASSETS_RUNTIMES_DIR", str(SHARED_RUNTIMES))
        mp.setenv("RELEASE_ASSETS_REPO", str(NORTHSTAR))
        mp.setenv("RELEASE_ASSETS_GIT_REPO", str(repo.path))
        deployment = write_local_deployment(
            root / "deployment.yaml", {"staging": 18081, "prod": 18082}
        )
        mp.setenv("RELEASE_ASSETS_DEPLOYMENT", str(deployment))
        settings_cache.cache_clear()
        settings = load_settings()
        try:
            stack.up(settings)
            runtime = stack.runtime_for(settings)
            generator = NORTHSTAR / "tools" / "generate_sources.py"
            for env in ("staging", "prod"):
                layout = environments.layout(settings, env)
                subprocess.run(
                    [sys.executable, str(generator), "--out", str(layout.source_root)],
                    check=True,
                    timeout=120,
                )
            prod = environments.layout(settings, "prod")
            seed_environment(prod, runtime, NORTHSTAR / "dags", PROD_INGESTION, "2026-11-01")
            yield settings, repo
        finally:
            stack.down(settings)
            settings_cache.cache_clear()


@pytest.fixture(scope="module")
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


def _scalar(warehouse: Path, sql: str) -> object:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        row = conn.execute(sql).fetchone()
    return row[0] if row else None


def _served(settings: Settings, env: str) -> set[str | None]:
    target = environments.local_airflow(settings, env)
    return {d.release for d in target.list_dags() if "__canary_" not in d.dag_id}


def _gate_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.asset_check_evaluation_data.check_name in GATES
    }


def _gate_metadata(result: dg.ExecuteInProcessResult, gate: str) -> dict[str, object]:
    for e in result.all_events:
        data = e.event_type_value == "ASSET_CHECK_EVALUATION" and e.asset_check_evaluation_data
        if data and data.check_name == gate:
            return {k: v.value for k, v in data.metadata.items()}
    raise AssertionError(f"no evaluation of {gate}")


def _wait_served(settings: Settings, env: str, release: str) -> None:
    from release_assets.runtimes.processes import wait_until

    wait_until(lambda: _served(settings, env) == {release}, 120, f"{env} to serve {release}")


def test_v1_tag_sensor_run_reaches_prod(
    live: tuple[Settings, PipelinesGit], instance: dg.DagsterInstance
) -> None:
    settings, repo = live
    repo.tag("v1")
    with dg.build_sensor_context(instance=instance, resources=defs().resources) as context:
        result = merged_tag_sensor(context)
    assert isinstance(result, dg.SensorResult)
    (request,) = result.run_requests or []
    assert request.partition_key == "v1" and request.tags["commit"]
    # The cursor makes each tag launch once, also after a restart of the sensor.
    with dg.build_sensor_context(
        instance=instance, resources=defs().resources, cursor=result.cursor
    ) as again:
        assert isinstance(merged_tag_sensor(again), dg.SkipReason)

    instance.add_dynamic_partitions("releases", ["v1"])
    job = defs().resolve_job_def("release")
    run = job.execute_in_process(
        partition_key="v1", instance=instance, tags=request.tags, raise_on_error=False
    )
    assert run.success, [e.message for e in run.all_events if e.is_failure]
    assert _served(settings, "prod") == {"v1"}
    prod = environments.layout(settings, "prod").warehouse_path
    assert int(str(_scalar(prod, "select count(*) from marts.fct_orders"))) > 0
    assert _scalar(prod, "select count(*) from raw__r_v1.orders") is not None
    swap = metadata_of(run, "prod_swap")
    assert swap["replaced_release"] == ""
    # The first release is validated in full, every gate passing.
    assert _gate_results(run) == {gate: True for gate in GATES}
    assert int(str(swap["tables_switched"])) >= 9


def test_rematerializing_converges(
    live: tuple[Settings, PipelinesGit], instance: dg.DagsterInstance
) -> None:
    settings, _ = live
    staging = environments.layout(settings, "staging").warehouse_path
    prod = environments.layout(settings, "prod").warehouse_path
    before = (
        _scalar(staging, "select count(*) from raw.orders"),
        _scalar(prod, "select count(*) from raw.orders"),
        _scalar(prod, "select count(*) from marts.fct_orders"),
    )
    # The steps with effects on the environments, re-run: runs are reused, nothing loads twice.
    steps = [release_artifact, staging_integration_run, canary_publish, prod_swap]
    result = materialize_release(instance, steps, "v1")
    assert result.success
    after = (
        _scalar(staging, "select count(*) from raw.orders"),
        _scalar(prod, "select count(*) from raw.orders"),
        _scalar(prod, "select count(*) from marts.fct_orders"),
    )
    assert after == before
    assert metadata_of(result, "release_artifact")["reused"] is True
    assert _served(settings, "prod") == {"v1"}


def test_v2_goes_live_and_rollback_restores_v1(
    live: tuple[Settings, PipelinesGit], instance: dg.DagsterInstance
) -> None:
    settings, repo = live
    change_v2(repo.path)
    repo.commit("Merge pull request #7 from dana/revenue-v2")
    repo.tag("v2")
    result = materialize_release(instance, [*RELEASE_ASSETS, *RELEASE_CHECKS], "v2")
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert all(_gate_results(result).values())
    change = metadata_of(result, "release_candidate")["change_set"]
    assert isinstance(change, dict)
    assert change["dag_ids"] == ["dbt_build", "publish_revenue_report"]
    assert metadata_of(result, "prod_swap")["replaced_release"] == "v1"
    assert _served(settings, "prod") == {"v2"}
    prod = environments.layout(settings, "prod").warehouse_path
    pointer = "select source from _release_assets.pointers where table_name = 'marts.fct_orders'"
    assert _scalar(prod, pointer) == "marts__r_v2.fct_orders"

    refused = dg.materialize(
        [rollback],
        partition_key="v1",
        instance=instance,
        resources=defs().resources,
        raise_on_error=False,
    )
    assert not refused.success
    error = refused.failure_data_for_node("rollback")
    assert error is not None and "release v1 is not live in prod" in str(error.error)

    back = dg.materialize(
        [rollback], partition_key="v2", instance=instance, resources=defs().resources
    )
    assert metadata_of(back, "rollback")["live_release"] == "v1"
    assert _scalar(prod, pointer) == "marts__r_v1.fct_orders"
    _wait_served(settings, "prod", "v1")


def test_v3_regression_is_stopped_before_prod(
    live: tuple[Settings, PipelinesGit], instance: dg.DagsterInstance
) -> None:
    settings, repo = live
    change_v3(repo.path)
    repo.commit("Filter orders (drops a third of the rows)")
    repo.tag("v3")
    result = materialize_release(instance, RELEASE_ASSETS, "v3")
    assert not result.success
    (check,) = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert check.passed is False
    assert "fct_orders row count" in (check.description or "")
    assert not result.asset_materializations_for_node("prod_swap")
    assert _served(settings, "prod") == {"v1"}
    prod = environments.layout(settings, "prod").warehouse_path
    pointer = "select source from _release_assets.pointers where table_name = 'marts.fct_orders'"
    assert _scalar(prod, pointer) == "marts__r_v1.fct_orders"


def test_a_dag_that_fails_to_import_is_stopped_before_staging(
    live: tuple[Settings, PipelinesGit], instance: dg.DagsterInstance
) -> None:
    settings, repo = live
    repo.git("checkout", "-q", "v1", "--", "dbt")
    dag = repo.path / "dags" / "ingest_customers.py"
    dag.write_text(dag.read_text() + "\nimport module_that_does_not_exist  # noqa\n")
    repo.commit("Break customers ingestion")
    repo.tag("v4")
    result = materialize_release(instance, [*RELEASE_ASSETS, *RELEASE_CHECKS], "v4")
    assert not result.success
    assert _gate_results(result)["dag_integrity"] is False
    findings = _gate_metadata(result, "dag_integrity")["findings"]
    assert isinstance(findings, list)
    (finding,) = [f for f in findings if f["file"] == "dags/ingest_customers.py"]
    assert "module_that_does_not_exist" in finding["message"]
    assert not result.asset_materializations_for_node("release_artifact")
    assert not result.asset_materializations_for_node("staging_deployment")
    assert _served(settings, "prod") == {"v1"}
    assert environments.local_airflow(settings, "prod").live_release() == "v1"


def test_a_breaking_change_to_a_contracted_model_is_stopped_before_staging(
    live: tuple[Settings, PipelinesGit], instance: dg.DagsterInstance
) -> None:
    settings, repo = live
    repo.git("checkout", "-q", "v1", "--", "dags")
    change_v4(repo.path)
    repo.commit("Merge pull request #9 from dana/orders-slim")
    repo.tag("v5")
    staging = environments.local_airflow(settings, "staging").live_release()
    result = materialize_release(instance, [*RELEASE_ASSETS, *RELEASE_CHECKS], "v5")
    assert not result.success
    gates = _gate_results(result)
    assert gates["dbt"] is False and gates["dag_integrity"] is not False
    findings = _gate_metadata(result, "dbt")["findings"]
    assert isinstance(findings, list)
    (removed,) = [f for f in findings if f.get("obj") == "column:fct_orders.is_revenue"]
    assert "fct_daily_revenue" in removed["fix"] or "fct_daily_revenue" in removed["message"]
    assert not result.asset_materializations_for_node("staging_deployment")
    assert environments.local_airflow(settings, "staging").live_release() == staging
    assert _served(settings, "prod") == {"v1"}


def test_a_one_dag_release_canaries_against_the_live_models(
    live: tuple[Settings, PipelinesGit], instance: dg.DagsterInstance
) -> None:
    settings, repo = live
    repo.git("checkout", "-q", "v1", "--", "dags", "dbt")
    dag = repo.path / "dags" / "publish_revenue_report.py"
    dag.write_text(dag.read_text() + "\n# Reviewed with finance.\n")
    repo.commit("Document the revenue report")
    repo.tag("v6")
    result = materialize_release(instance, RELEASE_ASSETS, "v6")
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    change = metadata_of(result, "release_candidate")["change_set"]
    assert isinstance(change, dict) and change["dag_ids"] == ["publish_revenue_report"]
    assert _served(settings, "prod") == {"v6"}
    # No model changed: the canary read the live marts, and prod keeps pointing at them.
    warehouse = environments.layout(settings, "prod").warehouse_path
    pointer = "select source from _release_assets.pointers where table_name = 'marts.fct_orders'"
    assert _scalar(warehouse, pointer) == "marts__r_v1.fct_orders"
