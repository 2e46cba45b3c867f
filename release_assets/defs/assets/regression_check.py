"""`regression_check`, the canary judge: each critical table the release affects, built by the
release's code (the canary) against the same table built by the live release's code from the
same inputs (the baseline, ``release_assets.core.canary_runs``), metric by metric and
statistically (``release_assets.core.judge``); a blocking check on the verdict stops
`prod_swap` unless it passed."""

from pathlib import Path

import dagster as dg

from release_assets.config.release_config import parse_release_config
from release_assets.core.canary_runs import baseline_suffix
from release_assets.core.judge import JudgedTable, judge
from release_assets.core.record import ReleaseRecord
from release_assets.core.release_schemas import dbt_relations, release_sources
from release_assets.defs.audit_log import artifact_digest, audited_step
from release_assets.defs.judge_result import judged_result
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
    """Judge each critical table the release rebuilt (its canary relation against the
    baseline the live code built from the same inputs) with the ``judge`` section of the
    release's ``release.yaml``; the check passes only on a "pass" verdict (not "marginal").
    The verdict is recorded in the audit trail: ``prod_swap`` needs it to have passed. With
    nothing live yet (the first release) only the absolute metrics are judged."""
    with audited_step(context, audit, record, "regression_check", production.name) as note:
        note.digest = artifact_digest(artifact_store, record.release)
        result, failed = _judge(record, artifact_store, production)
        if failed:
            note.outcome, note.detail = "failed", failed
    return result


def _judge(
    record: ReleaseRecord, artifact_store: ArtifactStore, production: Environment
) -> tuple[dg.MaterializeResult, str]:  # type: ignore[type-arg]
    """The step's result and, unless the judge passed, its one-line summary."""
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
    suffix = baseline_suffix(tag)
    tables = []
    for entry in affected:
        schema, name = entry.table.split(".", 1)
        baseline = f"{schema}{suffix}.{name}"
        known = baseline if baseline in existing else None
        tables.append(JudgedTable.of(entry, known, sources[entry.table]))
    first_release = warehouse.last_switched() is None
    # A change declared for this release on a table it does not rebuild is judged (and fails:
    # the release is not what its author thinks).
    declares = not first_release and any(c.release == tag for c in config.judge.expected_changes)
    if not tables and not declares:
        summary = f"{tag}: no critical table is affected by this release"
        return judged_result(CHECK, True, summary, "no critical table is affected", {}), ""
    judgement = judge(warehouse, tables, config.judge, tag, first_release=first_release)
    passed = judgement.verdict == "pass"
    summary = judgement.summary()
    numbers = judgement.numeric_metadata()
    result = judged_result(CHECK, passed, summary, judgement.markdown(), numbers)
    return result, "" if passed else summary
