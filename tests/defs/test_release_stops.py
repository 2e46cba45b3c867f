"""The releases the graph stops, each released as the demo does (tag -> sensor -> the
`release` job, validation gates included), with the cause read from Dagster's records as the
demo reads it: the demo's v3 (a silent shift of net_amount: same rows, columns and types) is
stopped by `regression_check` (the canary judge) alone, its v4 (a breaking change to a
contracted model) by the `dbt` gate; a DAG that does not import is stopped before staging; a
one-DAG release canaries with the whole dbt project.

Prod starts from the demo's v2 (released once, without the gates: the first release's full
validation is covered by `test_release_graph.py`), so v3 and v4 change exactly what they
change in the demo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from release_assets.cli.demo import STEPS, as_expected, change_v2, change_v3, change_v4
from release_assets.cli.demo_outcome import release_outcome
from release_assets.defs.jobs import RELEASE_ASSETS
from release_assets.validation.runner import GATES
from tests.defs.release_stack import (
    ReleaseStack,
    failures,
    gate_findings,
    gate_results,
    note_run,
    phase,
    release_stack,
    scalar,
)
from tests.fakes import metadata_of
from tests.pipelines_git import materialize_release

# The module's environments come up in its first test's setup (pytest-timeout counts it): on a
# loaded 2-core machine stack start plus the first release took 900 s, the default limit.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

MESSAGES = {tag: message for tag, _, message in STEPS}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> Iterator[ReleaseStack]:
    """Prod serving the demo's v2, the sensor's cursor past it."""
    with release_stack(tmp_path_factory.mktemp("stops"), slot=1, cache=shared_cache) as env:
        change_v2(env.repo.path)
        env.repo.commit(MESSAGES["v2"])
        env.repo.tag("v2")
        env.sensor()
        with phase("v2 candidate (no gates)"):
            candidate = materialize_release(env.instance, RELEASE_ASSETS[:1], "v2")
        note_run(env.instance, candidate)
        assert candidate.success, failures(candidate)
        # The baseline skips the gates (a first release's full validation takes minutes and is
        # covered by test_release_graph.py); the later steps need their verdict on record.
        env.record_gates_passed("v2")
        with phase("v2 artifact to prod swap"):
            baseline = materialize_release(env.instance, RELEASE_ASSETS[1:], "v2")
        note_run(env.instance, baseline)
        assert baseline.success, failures(baseline)
        assert env.served("prod") == {"v2"}
        yield env


def test_the_demos_v3_is_stopped_by_the_regression_check_alone(live: ReleaseStack) -> None:
    change_v3(live.repo.path)
    live.repo.commit(MESSAGES["v3"])
    live.repo.tag("v3")
    result = live.release("v3")
    assert not result.success
    outcome = release_outcome(live.instance, "v3")
    # Every gate passed; the one stop is the comparison with production.
    assert gate_results(result) == dict.fromkeys(GATES, True), outcome.describe()
    assert outcome.stopped_by == [("regression_check", "no_regression")], outcome.describe()
    assert as_expected(outcome)
    (check,) = outcome.failed_checks
    # Same rows, same columns: the judge's rank test on net_amount, beside the baseline the
    # live code built from the same inputs, names the shift with its p-value.
    assert "distribution of net_amount shifted" in check.description, check.description
    assert "Mann-Whitney U p=" in check.description, check.description
    assert not result.asset_materializations_for_node("prod_swap")
    assert live.served("prod") == {"v2"}
    assert live.pointer("marts.fct_orders") == "marts__r_v2.fct_orders"


def test_the_demos_v4_is_stopped_by_the_dbt_gate(live: ReleaseStack) -> None:
    change_v4(live.repo.path)
    live.repo.commit(MESSAGES["v4"])
    live.repo.tag("v4")
    staging = live.served("staging")
    result = live.release("v4")
    assert not result.success
    outcome = release_outcome(live.instance, "v4")
    # dbt's build fails in the dbt gate, and so does the repository's own dbt build test.
    assert sorted(outcome.stopped_by) == [
        ("release_candidate", "dbt"),
        ("release_candidate", "python_quality"),
    ], outcome.describe()
    assert as_expected(outcome)
    (removed,) = [
        f for f in gate_findings(result, "dbt") if f.get("obj") == "column:fct_orders.is_revenue"
    ]
    assert "fct_daily_revenue" in removed["fix"] or "fct_daily_revenue" in removed["message"]
    assert not result.asset_materializations_for_node("release_artifact")
    assert not result.asset_materializations_for_node("staging_deployment")
    assert live.served("staging") == staging
    assert live.served("prod") == {"v2"}


def test_a_dag_that_fails_to_import_is_stopped_before_staging(live: ReleaseStack) -> None:
    live.repo.git("checkout", "-q", "v2", "--", "dbt")
    dag = live.repo.path / "dags" / "ingest_customers.py"
    dag.write_text(dag.read_text() + "\nimport module_that_does_not_exist  # noqa\n")
    live.repo.commit("Break customers ingestion")
    live.repo.tag("v5")
    result = live.release("v5")
    assert not result.success
    outcome = release_outcome(live.instance, "v5")
    assert ("release_candidate", "dag_integrity") in outcome.stopped_by, outcome.describe()
    assert {asset for asset, _ in outcome.stopped_by} == {"release_candidate"}
    (finding,) = [
        f for f in gate_findings(result, "dag_integrity") if f["file"] == "dags/ingest_customers.py"
    ]
    assert "module_that_does_not_exist" in finding["message"]
    assert not result.asset_materializations_for_node("release_artifact")
    assert not result.asset_materializations_for_node("staging_deployment")
    assert live.served("prod") == {"v2"}


def test_a_one_dag_release_canaries_with_the_whole_dbt_project(live: ReleaseStack) -> None:
    live.repo.git("checkout", "-q", "v2", "--", "dags", "dbt", "tests")
    dag = live.repo.path / "dags" / "publish_revenue_report.py"
    dag.write_text(dag.read_text() + "\n# Reviewed with finance.\n")
    live.repo.commit("Document the revenue report")
    live.repo.tag("v6")
    result = live.release("v6")
    assert result.success, failures(result)
    assert release_outcome(live.instance, "v6").succeeded
    change = metadata_of(result, "release_candidate")["change_set"]
    assert isinstance(change, dict) and change["dag_ids"] == ["publish_revenue_report"]
    assert live.served("prod") == {"v6"}
    # No model changed, but every canary builds the whole dbt project (a live release owns
    # every relation its stable names point at; prod's own runs keep them current): the judge
    # compared equal tables, and prod now reads v6's.
    canary = metadata_of(result, "canary_publish")["canary_dags"]
    assert canary == "dbt_build__canary_v6, publish_revenue_report__canary_v6"
    assert live.pointer("marts.fct_orders") == "marts__r_v6.fct_orders"


def test_a_flag_canary_runs_the_live_code_with_the_flag_off_and_on(live: ReleaseStack) -> None:
    # The live release ships fct_orders.order_size_band dark behind the flag: the real DAG reads the
    # conf override only in a canary run, dbt gets it as a var, and the judge compares.
    from release_assets.defs.definitions import defs
    from release_assets.defs.partitions import feature_flags

    flag = "order_size_band"
    serving, fct_orders = live.served("prod"), live.pointer("marts.fct_orders")
    live.instance.add_dynamic_partitions(feature_flags.name or "", [flag])
    result = (
        defs()
        .resolve_job_def("flag_canary")
        .execute_in_process(instance=live.instance, partition_key=flag, raise_on_error=False)
    )
    note_run(live.instance, result)
    assert result.success, failures(result)
    (check,) = result.get_asset_check_evaluations()
    assert check.passed, check.description
    warehouse = live.warehouse("prod")
    off = scalar(warehouse, f"select count(order_size_band) from marts__fo_{flag}.fct_orders")
    on = scalar(warehouse, f"select count(order_size_band) from marts__fn_{flag}.fct_orders")
    rows = scalar(warehouse, f"select count(*) from marts__fn_{flag}.fct_orders")
    assert off == 0 and on == rows and isinstance(rows, int) and rows > 0
    # Production itself: the same release live, its stable fct_orders untouched.
    assert live.served("prod") == serving
    assert live.pointer("marts.fct_orders") == fct_orders
