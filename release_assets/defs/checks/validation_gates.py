"""The validation gates as blocking asset checks on `release_candidate`: a failing gate stops
the release before its artifact is built and long before staging. One check per gate, all run
by one op that shares the candidate's tree, its DAG index and its dbt manifest."""

import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from release_assets.config import load_release_config
from release_assets.core.bundle import DBT_MANIFEST
from release_assets.core.evidence import GATES_STEP
from release_assets.core.record import ReleaseRecord
from release_assets.defs.audit_log import audited_step
from release_assets.defs.partitions import release_check
from release_assets.defs.resources import PipelinesRepoResource, ReleasePlatform
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.environment import Environment
from release_assets.validation.entry import validate_tree
from release_assets.validation.findings import GateResult
from release_assets.validation.gates.contracts import source_reader
from release_assets.validation.report import gate_markdown, to_markdown
from release_assets.validation.runner import GATES

CANDIDATE = dg.AssetKey("release_candidate")

SPECS = [release_check(name, "release_candidate", what) for name, what in GATES.items()]


class GateRunConfig(dg.Config):
    full: bool = False  # validate everything, not only what the change touches
    workers: int = 2


def _result(result: GateResult) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=result.gate,
        asset_key=CANDIDATE,
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "status": result.status,
            "errors": len(result.errors),
            "warnings": len(result.warnings),
            "existing": len(result.existing_findings),
            "checked": len(result.checked),
            "seconds": round(result.duration_s, 2),
            "report": dg.MetadataValue.md(gate_markdown(result)),
            "findings": dg.MetadataValue.json([f.to_dict() for f in result.findings[:200]]),
        },
        description=(
            f"{result.errors[0].where}: {result.errors[0].message}"[:500]
            if result.errors
            else (result.skipped_reason or f"{len(result.checked)} target(s) passed")
        ),
    )


@dg.multi_asset_check(
    specs=SPECS, name="validation_gates", ins={"record": dg.AssetIn("release_candidate")}
)
def validation_gates(
    context: dg.AssetCheckExecutionContext,
    config: GateRunConfig,
    record: ReleaseRecord,
    pipelines_repo: PipelinesRepoResource,
    artifact_store: ArtifactStore,
    integration: Environment,
    platform: ReleasePlatform,
    audit: AuditStore,
) -> Iterator[dg.AssetCheckResult]:
    """Run every gate on the record's commit, only on what the change touches (unless
    ``full`` or a first release), reading contracted sources from the integration warehouse.
    Each gate's verdict is recorded in the audit trail (the evidence later steps require)."""
    with audited_step(context, audit, record, GATES_STEP) as note:
        results = _run_gates(
            context, config, record, pipelines_repo, artifact_store, integration, platform
        )
        note.action = "gate"
        note.gates = {r.gate: r.status for r in results}
        failed = [r.gate for r in results if not r.passed]
        if failed:
            note.outcome, note.detail = "failed", f"failed gate(s): {', '.join(failed)}"
    for result in results:
        yield _result(result)


def _run_gates(
    context: dg.AssetCheckExecutionContext,
    config: GateRunConfig,
    record: ReleaseRecord,
    pipelines_repo: PipelinesRepoResource,
    artifact_store: ArtifactStore,
    integration: Environment,
    platform: ReleasePlatform,
) -> list[GateResult]:
    """The gates' results on the record's commit (see ``validation_gates``)."""
    tag = record.release
    base = record.base_release
    change = record.change
    repo = pipelines_repo.repo()
    with tempfile.TemporaryDirectory(prefix="ra-validate-") as tmp:
        tree = repo.export(record.commit, Path(tmp) / "tree")
        base_repo = base_manifest = None
        if base is not None and not config.full:
            base_commit = record.base_commit or ""
            base_repo = repo.export(base_commit, Path(tmp) / "base") if base_commit else None
            try:
                base_manifest = artifact_store.read_file(base, DBT_MANIFEST).decode()
            except FileNotFoundError:
                base_manifest = None  # the base release has no dbt project
        models = list(change.dbt_models)
        report = validate_tree(
            tree,
            changed=None if (config.full or base is None) else list(change.files),
            base_repo=base_repo,
            base_manifest_json=base_manifest,
            dbt_models=None if "*" in models else models,
            scratch=Path(tmp) / "scratch",
            runtimes_dir=Path(platform.runtimes_dir),
            cache_dir=Path(platform.cache_dir),
            source_schemas=source_reader(
                integration.warehouse, tree, load_release_config(tree).contracts.dir
            ),
            workers=config.workers,
        )
    context.log.info(to_markdown(report, title=f"validation of {tag}"))
    return list(report.results)
