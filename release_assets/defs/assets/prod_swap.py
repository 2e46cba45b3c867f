"""`prod_swap`: make the release live in production, code and warehouse together, one release
at a time (the switch itself is ``release_assets.core.switch.switch_environment``)."""

import dagster as dg

from release_assets.core.deploy import publish_from_store
from release_assets.core.record import ReleaseRecord
from release_assets.core.release_schemas import dbt_relations, release_sources
from release_assets.core.switch import switch_environment
from release_assets.defs.failures import step_failures
from release_assets.defs.partitions import SWAP_POOL, releases
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.environment import Environment


@dg.asset(
    partitions_def=releases,
    deps=["regression_check"],
    ins={"record": dg.AssetIn("release_candidate")},
    group_name="release",
    kinds={"airflow", "duckdb"},
    pool=SWAP_POOL,
)
def prod_swap(
    context: dg.AssetExecutionContext,
    record: ReleaseRecord,
    artifact_store: ArtifactStore,
    production: Environment,
) -> dg.MaterializeResult[None]:
    """Switch production's code pointer and the stable table names the canary rebuilt to this
    release; models the canary did not rebuild keep their live pointer."""
    tag = record.release
    target = production.airflow
    warehouse = production.warehouse
    with step_failures(production.name):
        manifest = publish_from_store(artifact_store, production.artifacts, target, tag)
        existing = set(warehouse.tables())
        wanted = release_sources(dbt_relations(artifact_store, tag), tag)
        sources = {name: src for name, src in wanted.items() if src in existing}
        replaced = switch_environment(
            target, warehouse, tag, record.dag_ids, sources, production.switch_lock
        )
        removed = target.remove_canary(tag)
    return dg.MaterializeResult(
        metadata={
            "environment": production.name,
            "live_release": tag,
            "replaced_release": replaced or "",
            "digest": manifest.digest,
            "airflow": dg.MetadataValue.url(target.url),
            "tables_switched": len(sources),
            "tables_kept": dg.MetadataValue.json(sorted(set(wanted) - set(sources))),
            "canary_dags_removed": ", ".join(removed) or "-",
        }
    )
