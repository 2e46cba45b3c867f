"""How release runs are keyed and serialized: one partition per release (the key is the git
tag), and one pool that lets a single environment switch run at a time."""

import warnings
from collections.abc import Callable
from typing import Any

import dagster as dg

releases = dg.DynamicPartitionsDefinition(name="releases")


def release_check(name: str, asset: str, description: str | None = None) -> dg.AssetCheckSpec:
    """A blocking check of ``asset`` partitioned by release, so each release has its own
    result (the UI's Checks tab per partition) and the check loads the release record of its
    own partition. Dagster 1.13 marks partitioned checks as a preview; the version is pinned
    (pyproject.toml), so its preview warning is not repeated at every load."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(
            name, asset=asset, blocking=True, description=description, partitions_def=releases
        )


SWAP_POOL = "prod_swap"
"""Dagster pool of the steps that switch production (prod_swap, rollback): limit 1."""


def on_call_step() -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """The decorator of an on-call step (`rollback`, `redeploy`): partitioned by release,
    keyed ``on_call/<name>`` (so its job may carry the plain name), in the switch pool, and
    free to end without a materialization (a refusal is recorded, not a failed partition)."""
    return dg.asset(
        partitions_def=releases,
        deps=["prod_swap"],
        key_prefix="on_call",
        group_name="on_call",
        kinds={"airflow", "duckdb"},
        pool=SWAP_POOL,
        output_required=False,
    )


feature_flags = dg.DynamicPartitionsDefinition(name="feature_flags")
"""One partition per feature flag name (added by ``release-assets flag set`` / ``flag canary``,
or in the UI): the `feature_flag` and `flag_canary` assets."""
