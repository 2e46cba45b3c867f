"""`release-assets validate`: the validation gates on a branch, for pull requests.

Needs no Dagster instance and no running Airflow: DAGs import in the runtime virtualenv (built
once from the repository's requirements into the per-user cache), dbt runs on a throwaway
DuckDB file. Exit codes (``validate_console``): 0 passed, 1 findings, 2 the tool could not run.
The reports are written whenever the gates ran, whatever the exit code; no traceback reaches
the user unless ``--debug`` asks for it.
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from pathlib import Path

import click

from release_assets.cli.validate_console import (
    EXIT_CANNOT_RUN,
    ReportFiles,
    console_lines,
    exit_code,
)
from release_assets.config import ReleaseConfigError, load_release_config
from release_assets.runtimes.airflow.venv import RuntimeBuildError
from release_assets.runtimes.warehouse.duckdb import DuckDBWarehouse
from release_assets.settings import Settings, settings
from release_assets.validation.entry import ValidationInputError, validate_branch
from release_assets.validation.gates.contracts import source_reader
from release_assets.validation.report import to_json, to_markdown
from release_assets.validation.runner import ValidationReport


class CannotValidate(Exception):
    """The repository, its configuration or a ref cannot be validated; the message says why
    and what to do (exit 2)."""


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as exc:
        raise CannotValidate(
            f"cannot write the report {path}: {exc.strerror}: choose a writable path"
        ) from None


def _run(
    s: Settings,
    repo: Path,
    base_ref: str | None,
    full: bool,
    sources_warehouse: Path | None,
    workers: int,
) -> ValidationReport:
    """The gates on ``repo``; raises :class:`CannotValidate` when they cannot run."""
    if not repo.is_dir():
        raise CannotValidate(f"{repo} is not a directory: give the repository with --repo")
    try:
        contracts_dir = load_release_config(repo).contracts.dir
    except ReleaseConfigError as exc:
        raise CannotValidate(
            f"{exc}\nfix release.yaml (`release-assets config validate --repo {repo}` checks "
            "it alone)"
        ) from None
    sources = (
        source_reader(
            DuckDBWarehouse.at("staging", sources_warehouse.resolve()), repo, contracts_dir
        )
        if sources_warehouse
        else None
    )
    with tempfile.TemporaryDirectory(prefix="ra-validate-") as tmp:
        try:
            return validate_branch(
                repo,
                base_ref,
                full=full or base_ref is None,
                scratch=Path(tmp),
                runtimes_dir=s.runtimes_dir,
                cache_dir=s.validation_cache_dir,
                workers=workers,
                source_schemas=sources,
            )
        except ValidationInputError as exc:
            hint = (
                f"\n--base {base_ref} needs a git repository that has that ref: fetch it (in CI, "
                "check out with the full history), or leave out --base for a full validation"
            )
            raise CannotValidate(f"{exc}{hint}") from None
        except (ReleaseConfigError, RuntimeBuildError) as exc:
            raise CannotValidate(str(exc)) from None


@click.command("validate")
@click.option(
    "--repo",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    help="The pipelines repository (its root holds release.yaml).",
)
@click.option(
    "--base",
    "base_ref",
    default=None,
    help="Base ref of the pull request (e.g. origin/main); without it, a full validation.",
)
@click.option("--full", is_flag=True, help="Validate everything, not only what the change touches.")
@click.option(
    "--markdown",
    "markdown_out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the markdown report (a PR comment) here; written whenever the gates ran.",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the JSON report (every finding) here; written whenever the gates ran.",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Cache folder for this run (runtime virtualenvs, DAG parses, gate results); default "
    "$RELEASE_ASSETS_CACHE_DIR or ~/.cache/release-assets. Keep it between CI runs.",
)
@click.option(
    "--sources-warehouse",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="A DuckDB file holding the staging sources: contracts are compared with its tables.",
)
@click.option("--workers", default=2, show_default=True, help="Gates run in parallel.")
@click.option(
    "--show",
    default=20,
    show_default=True,
    help="Findings printed per gate (0: all); the reports always hold every one.",
)
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error.")
def validate(
    repo: Path,
    base_ref: str | None,
    full: bool,
    markdown_out: Path | None,
    json_out: Path | None,
    cache_dir: Path | None,
    sources_warehouse: Path | None,
    workers: int,
    show: int,
    debug: bool,
) -> None:
    """Run the validation gates on REPO's working tree.

    Exit codes: 0 passed; 1 a gate has findings; 2 the tool could not run (invalid
    release.yaml, not a git repository, unknown base ref, a gate that crashed).
    """
    repo = repo.resolve()
    try:
        s = settings()
        if cache_dir is not None:
            s = s.with_cache_dir(cache_dir)
        report = _run(s, repo, base_ref, full, sources_warehouse, workers)
        files = ReportFiles(json=json_out, markdown=markdown_out)
        if markdown_out:
            _write(markdown_out, to_markdown(report))
        if json_out:
            _write(json_out, to_json(report))
        for line in console_lines(report, show, files):
            click.echo(line)
        code = exit_code(report)
    except CannotValidate as exc:
        click.echo(f"cannot validate {repo}: {exc}", err=True)
        code = EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        click.echo("validate: interrupted; no verdict (exit 2)", err=True)
        code = EXIT_CANNOT_RUN
    except Exception as exc:  # the tool failed: one line, never a traceback unless asked
        if debug:
            traceback.print_exc()
        hint = "" if debug else " (run with --debug for the traceback)"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        click.echo(
            f"error: validate could not run: {type(exc).__name__}"
            f"{': ' + first if first else ''}{hint}",
            err=True,
        )
        code = EXIT_CANNOT_RUN
    sys.exit(code)
