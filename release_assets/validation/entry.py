"""Building a validation run from a pipelines repository: the pull-request entry point (a
working tree against a base ref, no Dagster and no Airflow) and the release's (an exported tag
against the release live in prod). Both end in the same gates, and both, given a base, select
the consumers of what the change removes (``core.removals``) and report the findings already
at the base as existing, not blocking (``validation.baseline``)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from release_assets.config import ReleaseConfig, ReleaseConfigError, load_release_config
from release_assets.core.change_tree import is_dag_file, is_dbt_file, under
from release_assets.core.dbt_cli import DbtError, modified_models
from release_assets.core.ownership import OwnershipError, parse_codeowners
from release_assets.core.removals import RemovedNodes, find_removed
from release_assets.runtimes.airflow.dag_probe import DagSummary
from release_assets.runtimes.airflow.venv import RuntimeBuildError
from release_assets.validation.baseline import apply_baseline
from release_assets.validation.context import SourceSchemas, ValidationContext
from release_assets.validation.findings import GateCrashed
from release_assets.validation.inputs.dag_index import probe_repo_dags
from release_assets.validation.runner import ValidationReport, run_gates
from release_assets.validation.selection import build_selection


class ValidationInputError(ValueError):
    """The repository or base ref cannot be validated (not a git repo, unknown ref...)."""


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise ValidationInputError(f"git {' '.join(args)} in {repo}: {done.stderr.strip()}")
    return done.stdout


def branch_changes(repo: Path, base_ref: str) -> list[str]:
    """Files the working tree changes against the merge base with ``base_ref`` (committed,
    uncommitted and untracked), as a pull request would show them."""
    base = _git(repo, "merge-base", base_ref, "HEAD").strip()
    changed = set(_git(repo, "diff", "--name-only", "--no-renames", base).split())
    changed |= set(_git(repo, "ls-files", "--others", "--exclude-standard").split())
    return sorted(changed)


def export_ref(repo: Path, ref: str, dest: Path) -> Path:
    """The tree of ``ref`` (its merge base with HEAD) written to ``dest`` with git archive."""
    base = _git(repo, "merge-base", ref, "HEAD").strip()
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", base],
        capture_output=True,
        timeout=120,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, timeout=120, check=True)
    return dest


def _dbt_or_contract(config: ReleaseConfig, path: str) -> bool:
    """``path`` is a file of the dbt project or a data contract (both change dbt's state)."""
    dbt = config.dbt is not None and is_dbt_file(path, config.dbt.project_dir)
    return dbt or under(path, config.contracts.dir)


def dbt_modified(
    ctx: ValidationContext, changed: list[str] | None, state_manifest: str | None
) -> list[str] | None:
    """dbt ``state:modified+`` against the base; [] when the change touches no dbt file or
    contract (no dbt run needed), None (= all) when there is no base manifest."""
    config = ctx.config
    if config.dbt is None or changed is None:
        return None
    if not any(_dbt_or_contract(config, f) for f in changed):
        return []
    if state_manifest is None:
        return None
    return modified_models(
        ctx.repo / config.dbt.project_dir,
        ctx.repo / config.dbt.profiles_dir,
        config.dbt.targets["local"],
        ctx.dbt_env(),
        state_manifest,
        ctx.scratch / "dbt-state",
        dbt=ctx.dbt_executable()[0],
    )


def removals_of(ctx: ValidationContext, changed: list[str], base_repo: Path) -> RemovedNodes:
    """What the change removes of ``base_repo`` (``core.removals.find_removed``): the two dbt
    manifests are compared when a dbt file changed, the two DAG probes when a DAG file of the
    base changed or was removed (the base's probe reuses the per-file parse cache, so only
    the base's versions of the changed DAG files are imported). A manifest that does not parse
    or a probe that fails falls back to the files' text (the dbt or DAG gate reports why)."""
    config = ctx.config
    base_manifest = manifest = None
    if config.dbt is not None and any(is_dbt_file(f, config.dbt.project_dir) for f in changed):
        try:
            base_manifest, manifest = ctx.base_manifest(), ctx.manifest()
        except DbtError:
            base_manifest = manifest = None
    base_dags: dict[str, DagSummary] | None = None
    dags: dict[str, DagSummary] | None = None
    folder = config.airflow.dags_folder
    if any(is_dag_file(base_repo, f, folder) for f in changed):
        try:
            base_dags = probe_repo_dags(
                ctx.runtime(), base_repo, config, ctx.cache_dir, ctx.scratch
            ).dags
            dags = ctx.dag_summaries()
        except (GateCrashed, RuntimeBuildError):
            base_dags = dags = None  # the dag_integrity and requirements gates say why
    return find_removed(
        base_repo,
        ctx.repo,
        config,
        changed,
        base_manifest=base_manifest,
        manifest=manifest,
        base_dags=base_dags,
        dags=dags,
    )


def check_codeowners(repo: Path, config: ReleaseConfig) -> None:
    """Refuse a CODEOWNERS file (``approvals.codeowners``) the approvals could not use: an
    owner not written ``@team``, a team not in ``owners.teams``. Approvals read it at the base
    release, so a broken one on main would hold every later release; it is caught here, before
    merge. Raises ``ReleaseConfigError`` naming each ``<file>:<line>``."""
    path = repo / config.approvals.codeowners
    if not path.is_file():
        return
    try:
        parse_codeowners(path.read_text(), config.owners.teams, config.approvals.codeowners)
    except OwnershipError as exc:
        raise ReleaseConfigError(path, str(exc).splitlines()) from None


def validate_tree(
    repo: Path,
    *,
    changed: list[str] | None,
    base_repo: Path | None,
    base_manifest_json: str | None,
    dbt_models: list[str] | None,
    scratch: Path,
    runtimes_dir: Path,
    cache_dir: Path,
    source_schemas: Callable[[], SourceSchemas] | None = None,
    workers: int = 2,
    gates: list[str] | None = None,
) -> ValidationReport:
    """Validate the tree at ``repo``; ``changed`` None means a full validation.

    With a base (``base_repo``) and a change (``changed`` not None), the consumers of what the
    change removes are selected too, and the findings the base already has are reported as
    existing, not blocking. A full validation blocks on every finding."""
    config = load_release_config(repo)
    check_codeowners(repo, config)
    scratch.mkdir(parents=True, exist_ok=True)
    seed = build_selection(repo, config, changed, [])
    ctx = ValidationContext(
        repo=repo,
        config=config,
        selection=seed,
        scratch=scratch,
        runtimes_dir=runtimes_dir,
        cache_dir=cache_dir,
        base_repo=base_repo,
        base_manifest_json=base_manifest_json,
        source_schemas=source_schemas,
    )
    if changed is not None and dbt_models is None:
        try:
            state = base_manifest_json
            if (
                state is None
                and base_repo is not None
                and config.dbt is not None
                and any(_dbt_or_contract(config, f) for f in changed)
            ):
                base = ctx.base_manifest()
                state = json.dumps(base) if base is not None else None
            dbt_models = dbt_modified(ctx, changed, state)
        except DbtError:
            # The project (or the base's) does not load: every model counts as changed, and
            # the dbt gate reports dbt's own error lines as findings.
            dbt_models = None
    removals = None
    if changed is not None and base_repo is not None:
        removals = removals_of(ctx, changed, base_repo)

    def dag_summaries() -> dict[str, DagSummary]:
        # A runtime that cannot be built or a probe that fails is the requirements and
        # dag_integrity gates' finding; the selection then follows the file rules alone.
        try:
            return ctx.dag_summaries()
        except (GateCrashed, RuntimeBuildError):
            return {}

    ctx.selection = build_selection(
        repo, config, changed, dbt_models, dags=dag_summaries, removals=removals
    )
    report = run_gates(ctx, gates, workers)
    if changed is not None and base_repo is not None:
        report = apply_baseline(report, ctx, base_repo, workers)
    return report


def validate_branch(
    repo: Path,
    base_ref: str | None,
    *,
    full: bool,
    scratch: Path,
    runtimes_dir: Path,
    cache_dir: Path,
    workers: int = 2,
    source_schemas: Callable[[], SourceSchemas] | None = None,
    gates: list[str] | None = None,
) -> ValidationReport:
    """The pull-request entry point: the working tree of ``repo`` against ``base_ref``
    (``gates``: only these, default all)."""
    base_repo = None
    changed = None
    if base_ref is not None:
        base_repo = export_ref(repo, base_ref, scratch / "base")
        if not full:
            changed = branch_changes(repo, base_ref)
    return validate_tree(
        repo,
        changed=changed,
        base_repo=base_repo,
        base_manifest_json=None,
        dbt_models=None,
        scratch=scratch,
        runtimes_dir=runtimes_dir,
        cache_dir=cache_dir,
        source_schemas=source_schemas,
        workers=workers,
        gates=gates,
    )
