"""`release_artifact`: the immutable, content-addressed bundle of a release."""

import json
import tempfile
from pathlib import Path

import dagster as dg

from release_assets.config import ReleaseConfig, load_release_config
from release_assets.core.bundle import assemble_bundle
from release_assets.core.dbt_cli import normalized_manifest, run_dbt
from release_assets.core.release_meta import DBT_MANIFEST, RELEASE_META, dbt_parse_env, recorded
from release_assets.defs.assets.release_candidate import release_candidate
from release_assets.defs.partitions import releases
from release_assets.defs.resources import ArtifactStoreResource, PipelinesRepoResource
from release_assets.runtimes.artifacts.base import ArtifactConflict, BundleManifest


def build_bundle(
    tree: Path, config: ReleaseConfig, dest: Path, release_id: str, commit: str
) -> None:
    """Copy the release's files and add the platform's own: release metadata, dbt manifest."""
    assemble_bundle(tree, config, dest)
    meta = {
        "release_id": release_id,
        "commit": commit,
        "project": config.project,
        "airflow_version": config.airflow.version,
    }
    (dest / RELEASE_META).parent.mkdir(parents=True, exist_ok=True)
    (dest / RELEASE_META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    if config.dbt is not None:
        with tempfile.TemporaryDirectory(prefix="ra-dbt-parse-") as scratch:
            run_dbt(
                ["parse"],
                dest / config.dbt.project_dir,
                dest / config.dbt.profiles_dir,
                config.dbt.targets["local"],
                dbt_parse_env(config),
                Path(scratch),
            )
            manifest = normalized_manifest(Path(scratch) / "target" / "manifest.json", dest)
        (dest / DBT_MANIFEST).write_text(manifest)


def _summary(manifest: BundleManifest) -> str:
    kinds: dict[str, int] = {}
    for path in manifest.files:
        top = path.split("/", 1)[0] if "/" in path else "(root)"
        kinds[top] = kinds.get(top, 0) + 1
    rows = "\n".join(f"| `{k}` | {n} |" for k, n in sorted(kinds.items()))
    return "| folder | files |\n|---|---|\n" + rows


@dg.asset(partitions_def=releases, deps=[release_candidate], group_name="release")
def release_artifact(
    context: dg.AssetExecutionContext,
    pipelines_repo: PipelinesRepoResource,
    artifact_store: ArtifactStoreResource,
) -> dg.MaterializeResult[None]:
    tag = context.partition_key
    commit = str(recorded(context, "release_candidate", tag)["commit"])
    repo = pipelines_repo.repo()
    store = artifact_store.store()
    with tempfile.TemporaryDirectory(prefix="ra-artifact-") as tmp:
        tree = repo.export(commit, Path(tmp) / "tree")
        config = load_release_config(tree)
        bundle = Path(tmp) / "bundle"
        build_bundle(tree, config, bundle, tag, commit)
        existing = store.manifest(tag)
        try:
            manifest = store.put_bundle(tag, bundle)
        except ArtifactConflict as exc:
            raise dg.Failure(str(exc), metadata={"commit": commit}) from None
    return dg.MaterializeResult(
        metadata={
            "digest": manifest.digest,
            "commit": commit,
            "files": len(manifest.files),
            "reused": existing is not None,
            "contents": dg.MetadataValue.md(_summary(manifest)),
        }
    )
