"""`regression_check`: the canary's tables against the live ones; a blocking check on the
result stops `prod_swap` when any metric regresses."""

from pathlib import Path

import dagster as dg

from release_assets.config.release_config import parse_release_config
from release_assets.core.record import ReleaseRecord
from release_assets.core.regression import Verdict, compare, markdown, profile
from release_assets.core.release_schemas import dbt_relations, release_sources
from release_assets.defs.partitions import release_check, releases
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.environment import Environment

CHECK = "no_regression"


@dg.asset(
    partitions_def=releases,
    deps=["canary_publish"],
    ins={"record": dg.AssetIn("release_candidate")},
    group_name="release",
    kinds={"duckdb"},
    check_specs=[release_check(CHECK, "regression_check")],
)
def regression_check(
    context: dg.AssetExecutionContext,
    record: ReleaseRecord,
    artifact_store: ArtifactStore,
    production: Environment,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Profile each critical table the release rebuilt (canary relation vs live table) and
    compare with the thresholds of ``release.yaml``; the check fails on any regression."""
    tag = record.release
    config = parse_release_config(
        artifact_store.read_file(tag, "release.yaml").decode(), Path(f"{tag}/release.yaml")
    )
    sources = release_sources(dbt_relations(artifact_store, tag), tag)
    models = set(record.change.dbt_models)
    affected = [
        t
        for t in config.critical_tables
        if t.table in sources and ("*" in models or t.table.split(".", 1)[1] in models)
    ]
    warehouse = production.warehouse
    existing = set(warehouse.tables())
    verdicts: list[Verdict] = []
    for entry in affected:
        canary = profile(warehouse, sources[entry.table], entry.keys)
        if canary is None:
            missing = f"has no canary table: {sources[entry.table]} was not built"
            verdicts.append(
                Verdict(entry.table, "canary table", "-", "missing", "exists", False, missing)
            )
            continue
        live = profile(warehouse, entry.table, entry.keys) if entry.table in existing else None
        verdicts.extend(compare(entry.table, live, canary, config.thresholds_for(entry.table)))
    failed = [v for v in verdicts if not v.ok]
    table = markdown(verdicts) if verdicts else "no critical table is affected by this release"
    summary = (
        f"{len(failed)} regression(s): " + "; ".join(v.summary() for v in failed)
        if failed
        else f"{len(affected)} table(s) compared, no regression"
    )
    return dg.MaterializeResult(
        metadata={
            "tables_compared": len(affected),
            "regressions": len(failed),
            "verdicts": dg.MetadataValue.md(table),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=CHECK,
                passed=not failed,
                severity=dg.AssetCheckSeverity.ERROR,
                description=summary,
                metadata={"verdicts": dg.MetadataValue.md(table)},
            )
        ],
    )
