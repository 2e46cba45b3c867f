"""`regression_check`: the canary's tables against the live ones; a blocking check on the
result stops `prod_swap` when any metric regresses."""

from pathlib import Path

import dagster as dg

from release_assets.config.release_config import parse_release_config
from release_assets.core.record import ReleaseRecord
from release_assets.core.regression import Verdict, compare, markdown, profile
from release_assets.core.release_schemas import dbt_relations, release_sources
from release_assets.defs.audit_log import artifact_digest, audited_step
from release_assets.defs.partitions import release_check, releases
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.audit.base import AuditStore
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
    audit: AuditStore,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Profile each critical table the release rebuilt (canary relation vs live table) and
    compare with the thresholds of ``release.yaml``; the check fails on any regression. The
    verdict is recorded in the audit trail: ``prod_swap`` needs it to have passed."""
    with audited_step(context, audit, record, "regression_check", production.name) as note:
        note.digest = artifact_digest(artifact_store, record.release)
        result, failed = _judge(record, artifact_store, production)
        if failed:
            note.outcome, note.detail = "failed", failed
    return result


def _judge(
    record: ReleaseRecord, artifact_store: ArtifactStore, production: Environment
) -> tuple[dg.MaterializeResult, str]:  # type: ignore[type-arg]
    """The step's result and, when something regressed, the one-line summary."""
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
    result: dg.MaterializeResult = dg.MaterializeResult(  # type: ignore[type-arg]
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
    return result, summary if failed else ""
