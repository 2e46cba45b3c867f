"""`rollback`: on demand only. Materialize it for the bad release's partition and the release
that was live before it is live again, code and warehouse together, without rebuilding."""

import dagster as dg

from release_assets.core.release_meta import RELEASE_META, recorded
from release_assets.defs.assets.prod_swap import SWAP_POOL, prod_swap, switch_prod
from release_assets.defs.partitions import releases
from release_assets.defs.resources import (
    AirflowEnvironment,
    ArtifactStoreResource,
    WarehouseResource,
)


class RollbackRefused(dg.Failure):
    """Rolling back is not possible for this release; the description says why."""


@dg.asset(
    partitions_def=releases,
    deps=[prod_swap],
    group_name="on_call",
    kinds={"airflow", "duckdb"},
    pool=SWAP_POOL,
)
def rollback(
    context: dg.AssetExecutionContext,
    artifact_store: ArtifactStoreResource,
    airflow_prod: AirflowEnvironment,
    warehouse_prod: WarehouseResource,
) -> dg.MaterializeResult[None]:
    bad = context.partition_key
    target = airflow_prod.target()
    warehouse = warehouse_prod.warehouse()
    live = target.live_release()
    if live != bad:
        raise RollbackRefused(
            f"release {bad} is not live in prod (live: {live or 'nothing'}); only the live "
            "release can be rolled back"
        )
    previous, pointers = warehouse.replaced(bad)
    if previous is None:
        raise RollbackRefused(f"release {bad} replaced no earlier release: nothing to go back to")
    store = artifact_store.store()
    store.read_file(previous, RELEASE_META)  # the previous bundle must still verify
    current = set(warehouse.pointers())
    retire = tuple(sorted(current - set(pointers)))
    dag_ids = set(recorded(context, "release_candidate", previous)["dag_graph"])
    switch_prod(target, warehouse, previous, dag_ids, pointers, retire)
    removed = target.remove_canary(bad)
    return dg.MaterializeResult(
        metadata={
            "rolled_back": bad,
            "live_release": previous,
            "tables_restored": len(pointers),
            "tables_retired": ", ".join(retire) or "-",
            "canary_dags_removed": ", ".join(removed) or "-",
        }
    )
