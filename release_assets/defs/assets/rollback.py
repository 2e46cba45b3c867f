"""`rollback`: on demand only. Materialize it for the bad release's partition and the release
that was live before it is live again, code and warehouse together, without rebuilding."""

import dagster as dg

from release_assets.core.bundle import RELEASE_META
from release_assets.core.switch import switch_environment
from release_assets.defs.failures import step_failures
from release_assets.defs.io_managers import ReleaseRecordStore
from release_assets.defs.partitions import SWAP_POOL, releases
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.environment import Environment


class RollbackRefused(dg.Failure):
    """Rolling back is not possible for this release; the description says why."""


@dg.asset(
    partitions_def=releases,
    deps=["prod_swap"],
    group_name="on_call",
    kinds={"airflow", "duckdb"},
    pool=SWAP_POOL,
)
def rollback(
    context: dg.AssetExecutionContext,
    artifact_store: ArtifactStore,
    production: Environment,
    records: ReleaseRecordStore,
) -> dg.MaterializeResult[None]:
    """Refused unless the partition's release is the one live in production and it replaced
    an earlier release; then that earlier release is switched back in."""
    bad = context.partition_key
    target = production.airflow
    warehouse = production.warehouse
    live = target.live_release()
    if live != bad:
        raise RollbackRefused(
            f"release {bad} is not live in {production.name} (live: {live or 'nothing'}); "
            "only the live release can be rolled back"
        )
    previous, pointers = warehouse.replaced(bad)
    if previous is None:
        raise RollbackRefused(f"release {bad} replaced no earlier release: nothing to go back to")
    with step_failures(production.name):
        artifact_store.read_file(previous, RELEASE_META)  # the previous bundle must still verify
        current = set(warehouse.pointers())
        retire = tuple(sorted(current - set(pointers)))
        switch_environment(
            target,
            warehouse,
            previous,
            records.read(previous).dag_ids,
            pointers,
            production.switch_lock,
            retire,
        )
        removed = target.remove_canary(bad)
    return dg.MaterializeResult(
        metadata={
            "environment": production.name,
            "rolled_back": bad,
            "live_release": previous,
            "tables_restored": len(pointers),
            "tables_retired": ", ".join(retire) or "-",
            "canary_dags_removed": ", ".join(removed) or "-",
        }
    )
