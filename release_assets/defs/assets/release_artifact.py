"""`release_artifact`: the immutable, content-addressed bundle of a release, built once and
promoted unchanged (one digest) through every environment."""

import tempfile
from pathlib import Path

import dagster as dg

from release_assets.config import load_release_config
from release_assets.core.bundle import build_bundle
from release_assets.core.record import ReleaseRecord
from release_assets.defs.audit_log import audited_step
from release_assets.defs.partitions import releases
from release_assets.defs.resources import PipelinesRepoResource
from release_assets.runtimes.artifacts.base import ArtifactConflict, ArtifactStore, BundleManifest
from release_assets.runtimes.audit.base import AuditStore


def _summary(manifest: BundleManifest) -> str:
    kinds: dict[str, int] = {}
    for path in manifest.files:
        top = path.split("/", 1)[0] if "/" in path else "(root)"
        kinds[top] = kinds.get(top, 0) + 1
    rows = "\n".join(f"| `{k}` | {n} |" for k, n in sorted(kinds.items()))
    return "| folder | files |\n|---|---|\n" + rows


@dg.asset(
    partitions_def=releases,
    group_name="release",
    ins={"record": dg.AssetIn("release_candidate")},
)
def release_artifact(
    context: dg.AssetExecutionContext,
    record: ReleaseRecord,
    pipelines_repo: PipelinesRepoResource,
    artifact_store: ArtifactStore,
    audit: AuditStore,
) -> dg.MaterializeResult[None]:
    """The bundle of the record's commit in the artifact store (idempotent; a different
    content under the same release id is refused). Its digest is recorded in the audit
    trail: every environment later receives exactly that digest."""
    with audited_step(context, audit, record, "release_artifact") as note:
        manifest, existing = _build(record, pipelines_repo, artifact_store)
        note.digest = manifest.digest
    return dg.MaterializeResult(
        metadata={
            "digest": manifest.digest,
            "commit": record.commit,
            "files": len(manifest.files),
            "reused": existing is not None,
            "contents": dg.MetadataValue.md(_summary(manifest)),
        }
    )


def _build(
    record: ReleaseRecord, pipelines_repo: PipelinesRepoResource, artifact_store: ArtifactStore
) -> tuple[BundleManifest, BundleManifest | None]:
    """Build and store the bundle; returns its manifest and the one stored before (if any)."""
    tag = record.release
    repo = pipelines_repo.repo()
    with tempfile.TemporaryDirectory(prefix="ra-artifact-") as tmp:
        tree = repo.export(record.commit, Path(tmp) / "tree")
        config = load_release_config(tree)
        bundle = Path(tmp) / "bundle"
        build_bundle(tree, config, bundle, tag, record.commit)
        existing = artifact_store.manifest(tag)
        try:
            manifest = artifact_store.put_bundle(tag, bundle)
        except ArtifactConflict as exc:
            raise dg.Failure(str(exc), metadata={"commit": record.commit}) from None
    return manifest, existing
