"""`prod_swap`: make the release live in prod, code and warehouse together, one release at a time.

Airflow switches by an atomic pointer to the release's (already published) code; the warehouse
switches the stable table names to the release's schemas in one transaction, which is the commit
point: a run killed before it leaves prod on the previous release's data, and a re-run converges.
"""

import dagster as dg

from release_assets.core.deploy import DeploymentError, publish_from_store, wait_until_serving
from release_assets.core.locks import exclusive
from release_assets.core.release_meta import recorded
from release_assets.core.release_schemas import dbt_relations, release_sources
from release_assets.defs.assets.regression_check import regression_check
from release_assets.defs.assets.staging_deployment import SERVE_TIMEOUT_S
from release_assets.defs.partitions import releases
from release_assets.defs.resources import (
    AirflowEnvironment,
    ArtifactStoreResource,
    WarehouseResource,
)
from release_assets.runtimes.airflow.base import AirflowTarget
from release_assets.runtimes.warehouse.base import Warehouse
from release_assets.settings import settings

SWAP_POOL = "prod_swap"
LOCK_TIMEOUT_S = 600.0


def switch_prod(
    target: AirflowTarget,
    warehouse: Warehouse,
    release: str,
    dag_ids: set[str],
    sources: dict[str, str],
    retire: tuple[str, ...] = (),
) -> str | None:
    """Code first, then the warehouse (the commit point); returns the release replaced.

    If the warehouse switch fails, the code pointer goes back, so prod never mixes releases.
    """
    with exclusive(settings().state_dir / "locks" / "prod-switch.lock", LOCK_TIMEOUT_S, "prod"):
        previous_code = target.activate(release)
        try:
            wait_until_serving(target, release, dag_ids, SERVE_TIMEOUT_S)
            before = warehouse.switch(release, sources, retire)
        except Exception:
            if previous_code and previous_code != release:
                target.activate(previous_code)
            raise
    releases_before = [p.release for p in before.values()]
    if releases_before:
        return max(set(releases_before), key=releases_before.count)
    return previous_code if previous_code != release else None


@dg.asset(
    partitions_def=releases,
    deps=[regression_check],
    group_name="release",
    kinds={"airflow", "duckdb"},
    pool=SWAP_POOL,
)
def prod_swap(
    context: dg.AssetExecutionContext,
    artifact_store: ArtifactStoreResource,
    airflow_prod: AirflowEnvironment,
    warehouse_prod: WarehouseResource,
) -> dg.MaterializeResult[None]:
    tag = context.partition_key
    store = artifact_store.store()
    target = airflow_prod.target()
    warehouse = warehouse_prod.warehouse()
    dag_ids = set(recorded(context, "release_candidate", tag)["dag_graph"])
    manifest = publish_from_store(store, target, tag)
    existing = set(warehouse.tables())
    wanted = release_sources(dbt_relations(store, tag), tag)
    # Models the canary rebuilt switch to this release; the others keep their live pointer.
    sources = {name: src for name, src in wanted.items() if src in existing}
    try:
        replaced = switch_prod(target, warehouse, tag, dag_ids, sources)
    except DeploymentError as exc:
        raise dg.Failure(str(exc), metadata={"environment": "prod"}) from None
    if replaced is None:
        replaced, _ = warehouse.replaced(tag)
    removed = target.remove_canary(tag)
    return dg.MaterializeResult(
        metadata={
            "live_release": tag,
            "replaced_release": replaced or "",
            "digest": manifest.digest,
            "airflow": dg.MetadataValue.url(target.url),
            "tables_switched": len(sources),
            "tables_kept": dg.MetadataValue.json(sorted(set(wanted) - set(sources))),
            "canary_dags_removed": ", ".join(removed) or "-",
        }
    )
