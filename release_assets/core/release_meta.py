"""Files the platform adds to every bundle, and reading what earlier steps recorded."""

from __future__ import annotations

from typing import Any

import dagster as dg

from release_assets.config import ReleaseConfig
from release_assets.config.release_config import ENV_PLACEHOLDERS

RELEASE_META = "_release/release.json"
DBT_MANIFEST = "_release/dbt_manifest.json"


def dbt_parse_env(config: ReleaseConfig) -> dict[str, str]:
    """dbt's environment for parsing, with neutral placeholders: environment-specific values
    are applied at deploy time and never baked into a bundle."""
    if config.dbt is None:
        return {}
    return config.dbt.render_env({name: f"<{name}>" for name in ENV_PLACEHOLDERS})


def recorded(context: dg.AssetExecutionContext, asset: str, partition: str) -> dict[str, Any]:
    """Metadata of the latest materialization of ``asset`` for ``partition``."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]),
        limit=1,
    ).records
    if not records or records[0].asset_materialization is None:
        raise dg.Failure(f"{asset} has not been materialized for release {partition}")
    return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}
