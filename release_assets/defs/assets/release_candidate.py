"""`release_candidate`: the tag, its commit on the main line, and what it changes.

Its output is the typed release record (``release_assets.core.record.ReleaseRecord``) that
every later step reads as an input; its metadata is the same record for people.
"""

import fnmatch
import json
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg

from release_assets.config import load_release_config
from release_assets.core.bundle import (
    DBT_MANIFEST,
    RELEASE_META,
    dbt_parse_env,
    import_bundle_dags,
)
from release_assets.core.changes import classify
from release_assets.core.dbt_cli import modified_models
from release_assets.core.record import DagEdges, ReleaseRecord
from release_assets.core.removals import find_removed
from release_assets.defs.audit_log import StepNote, append_event
from release_assets.defs.partitions import releases
from release_assets.defs.resources import RECORD_IO_MANAGER, PipelinesRepoResource, ReleasePlatform
from release_assets.runtimes.airflow.venv import ensure_repo_runtime
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.environment import Environment


def _base_release(production: Environment, tag: str) -> str | None:
    """The release this one is compared with: the one live in production, or, once this
    release is live itself, the one it replaced (so re-runs converge)."""
    live = production.airflow.live_release()
    if live != tag:
        return live
    replaced, _ = production.warehouse.replaced(tag)
    return replaced


def _markdown_commits(commits: list[Any]) -> str:
    rows = "\n".join(f"| `{c.sha[:10]}` | {c.author} | {c.subject} |" for c in commits[:50])
    return "| commit | author | subject |\n|---|---|---|\n" + rows


@dg.asset(
    partitions_def=releases,
    group_name="release",
    kinds={"git"},
    io_manager_key=RECORD_IO_MANAGER,
)
def release_candidate(
    context: dg.AssetExecutionContext,
    pipelines_repo: PipelinesRepoResource,
    production: Environment,
    artifact_store: ArtifactStore,
    platform: ReleasePlatform,
    audit: AuditStore,
) -> dg.Output[ReleaseRecord]:
    """The release record of the tag: commit, base release, change set, DAG graph, authors.
    Recorded in the audit trail (a refusal too: a tag off the main line, an older release)."""
    try:
        out, shas = _candidate(context, pipelines_repo, production, artifact_store, platform)
    except dg.Failure as exc:
        note = StepNote(action="refusal", outcome="refused", detail=exc.description or "")
        append_event(audit, context, None, "release_candidate", note)
        raise
    record = out.value
    note = StepNote(
        environment=None,
        detail=f"base {record.base_release or '-'}; {len(record.change.files)} changed file(s)",
        data={
            "base_release": record.base_release or "",
            "authors": "; ".join(record.authors),
            "commits": " ".join(shas),
        },
    )
    append_event(audit, context, record, "release_candidate", note)
    return out


def _candidate(
    context: dg.AssetExecutionContext,
    pipelines_repo: PipelinesRepoResource,
    production: Environment,
    artifact_store: ArtifactStore,
    platform: ReleasePlatform,
) -> tuple[dg.Output[ReleaseRecord], list[str]]:
    """The release record (see ``release_candidate``) and the shas of its commits."""
    tag = context.partition_key
    repo = pipelines_repo.repo()
    repo.refresh()
    commit = repo.resolve(f"refs/tags/{tag}")
    with tempfile.TemporaryDirectory(prefix="ra-candidate-") as tmp:
        tree = repo.export(commit, Path(tmp) / "tree")
        config = load_release_config(tree)
        if not fnmatch.fnmatchcase(tag, config.git.tag_pattern):
            raise dg.Failure(
                f"tag {tag!r} does not match git.tag_pattern {config.git.tag_pattern!r}"
            )
        if not repo.is_on_branch(commit, config.git.main_branch):
            raise dg.Failure(
                f"tag {tag} points to {commit[:10]}, which is not on {config.git.main_branch}: "
                "only merged commits are released",
                metadata={"commit": commit},
            )
        base = _base_release(production, tag)
        base_commit = (
            json.loads(artifact_store.read_file(base, RELEASE_META))["commit"] if base else None
        )
        live = production.airflow.live_release()
        if (
            base is not None
            and live == base
            and base_commit
            and repo.is_ancestor(commit, base_commit)
        ):
            raise dg.Failure(
                f"release {tag} ({commit[:10]}) is not newer than {base}, live in "
                f"{production.name} ({base_commit[:10]}): an earlier release goes live again "
                f"only with `release-assets redeploy {tag} --reason ...`",
                metadata={"commit": commit, "live_release": base},
            )
        files = repo.changed_files(base_commit, commit)
        runtime = ensure_repo_runtime(Path(platform.runtimes_dir), tree, config)
        dags = import_bundle_dags(runtime, tree, config, cache_dir=Path(platform.cache_dir))
        models: list[str] = []
        base_manifest: dict[str, Any] | None = None
        if config.dbt is not None:
            project = tree / config.dbt.project_dir
            if base is None:
                models = ["*"]
            else:
                base_manifest = json.loads(artifact_store.read_file(base, DBT_MANIFEST))
                models = modified_models(
                    project,
                    tree / config.dbt.profiles_dir,
                    config.dbt.targets["local"],
                    dbt_parse_env(config),
                    artifact_store.read_file(base, DBT_MANIFEST).decode(),
                    Path(tmp) / "dbt",
                )
        removals = None
        if base_commit is not None:
            # What the release removes (models, contracts, DAGs, Datasets) selects the DAGs
            # still using it, as validation's PR mode does.
            base_tree = repo.export(base_commit, Path(tmp) / "base")
            manifest_file = Path(tmp) / "dbt" / "target" / "manifest.json"
            removals = find_removed(
                base_tree,
                tree,
                config,
                files,
                base_manifest=base_manifest,
                manifest=json.loads(manifest_file.read_text()) if manifest_file.is_file() else None,
                dags=dags.dags,
            )
        change = classify(files, config, dags.dags, models, base, tree=tree, removals=removals)
    commits = repo.commits(base_commit, commit)
    record = ReleaseRecord(
        release=tag,
        commit=commit,
        base_release=base,
        base_commit=base_commit,
        change=change,
        dags={
            d.dag_id: DagEdges(consumes=d.consumes, produces=d.produces) for d in dags.dags.values()
        },
        authors=sorted({f"{c.author} <{c.email}>" for c in commits}),
        pull_requests=repo.pull_requests(base_commit, commit),
    )
    output = dg.Output(
        record,
        metadata={
            "tag": tag,
            "commit": commit,
            "base_release": base or "",
            "base_commit": base_commit or "",
            "record_version": record.version,
            "change_set": dg.MetadataValue.json(change.to_dict()),
            "changed_dag_ids": ", ".join(change.dag_ids) or "-",
            "downstream_dag_ids": ", ".join(change.downstream_dag_ids) or "-",
            "changed_dbt_models": ", ".join(change.dbt_models) or "-",
            "changed_files": len(files),
            "authors": ", ".join(record.authors),
            "pull_requests": ", ".join(f"#{n}" for n in record.pull_requests) or "-",
            "commits": dg.MetadataValue.md(_markdown_commits(commits)),
        },
    )
    return output, [c.sha for c in commits]
