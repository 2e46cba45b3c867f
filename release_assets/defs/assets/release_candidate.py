"""`release_candidate`: the tag, its commit on the main line, and what it changes."""

import fnmatch
import json
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg

from release_assets.config import load_release_config
from release_assets.core.changes import classify
from release_assets.core.dbt_cli import modified_models
from release_assets.core.release_meta import DBT_MANIFEST, RELEASE_META, dbt_parse_env, recorded
from release_assets.defs.partitions import releases
from release_assets.defs.resources import (
    AirflowEnvironment,
    ArtifactStoreResource,
    PipelinesRepoResource,
)
from release_assets.runtimes.airflow.dag_probe import import_dags
from release_assets.runtimes.airflow.venv import ensure_runtime
from release_assets.settings import settings


def _base_release(context: dg.AssetExecutionContext, live: str | None, tag: str) -> str | None:
    """The release this one is compared with: the one live in prod, or, once this release is
    live itself, the base recorded when it was first a candidate (so re-runs converge)."""
    if live != tag:
        return live
    try:
        previous = recorded(context, "release_candidate", tag)
    except dg.Failure:
        return None
    return str(previous.get("base_release") or "") or None


def _markdown_commits(commits: list[Any]) -> str:
    rows = "\n".join(f"| `{c.sha[:10]}` | {c.author} | {c.subject} |" for c in commits[:50])
    return "| commit | author | subject |\n|---|---|---|\n" + rows


@dg.asset(partitions_def=releases, group_name="release", kinds={"git"})
def release_candidate(
    context: dg.AssetExecutionContext,
    pipelines_repo: PipelinesRepoResource,
    airflow_prod: AirflowEnvironment,
    artifact_store: ArtifactStoreResource,
) -> dg.MaterializeResult[None]:
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
        store = artifact_store.store()
        base = _base_release(context, airflow_prod.target().live_release(), tag)
        base_commit = json.loads(store.read_file(base, RELEASE_META))["commit"] if base else None
        files = repo.changed_files(base_commit, commit)
        runtime = ensure_runtime(
            settings().runtimes_dir, config.airflow.version, tree / config.airflow.requirements
        )
        dags = import_dags(runtime, tree / config.airflow.dags_folder)
        models: list[str] = []
        if config.dbt is not None:
            project = tree / config.dbt.project_dir
            if base is None:
                models = ["*"]
            else:
                models = modified_models(
                    project,
                    tree / config.dbt.profiles_dir,
                    config.dbt.targets["local"],
                    dbt_parse_env(config),
                    store.read_file(base, DBT_MANIFEST).decode(),
                    Path(tmp) / "dbt",
                )
        sources = {d.dag_id: Path(d.fileloc).read_text() for d in dags.dags.values()}
        change = classify(files, config, dags.dags, models, base, sources)
    commits = repo.commits(base_commit, commit)
    authors = sorted({f"{c.author} <{c.email}>" for c in commits})
    prs = repo.pull_requests(base_commit, commit)
    return dg.MaterializeResult(
        metadata={
            "tag": tag,
            "commit": commit,
            "base_release": base or "",
            "base_commit": base_commit or "",
            "change_set": dg.MetadataValue.json(change.to_dict()),
            "dag_graph": dg.MetadataValue.json(
                {
                    d.dag_id: {"consumes": d.consumes, "produces": d.produces}
                    for d in dags.dags.values()
                }
            ),
            "changed_dag_ids": ", ".join(change.dag_ids) or "-",
            "downstream_dag_ids": ", ".join(change.downstream_dag_ids) or "-",
            "changed_dbt_models": ", ".join(change.dbt_models) or "-",
            "changed_files": len(files),
            "authors": ", ".join(authors),
            "pull_requests": ", ".join(f"#{n}" for n in prs) or "-",
            "commits": dg.MetadataValue.md(_markdown_commits(commits)),
        }
    )
