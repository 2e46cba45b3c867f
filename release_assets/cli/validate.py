"""`release-assets validate`: the validation gates on a branch, for pull requests.

Needs no Dagster instance and no running Airflow: DAGs import in the runtime virtualenv (built
once from the repository's requirements), dbt runs on a throwaway DuckDB file.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from release_assets.config import ReleaseConfigError, load_release_config
from release_assets.runtimes.warehouse.duckdb import DuckDBWarehouse
from release_assets.settings import settings
from release_assets.validation.entry import ValidationInputError, validate_branch
from release_assets.validation.gates.contracts import source_reader
from release_assets.validation.report import to_json, to_markdown
from release_assets.validation.runner import GATES


@click.command("validate")
@click.option("--repo", type=click.Path(path_type=Path, file_okay=False), default=Path("."))
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
    type=click.Path(path_type=Path),
    default=None,
    help="Write the markdown report (a PR comment) here.",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the JSON report here.",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="DAG parse cache (keep it between CI runs).",
)
@click.option(
    "--sources-warehouse",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="A DuckDB file holding the staging sources: contracts are compared with its tables.",
)
@click.option("--workers", default=2, show_default=True, help="Gates run in parallel.")
def validate(
    repo: Path,
    base_ref: str | None,
    full: bool,
    markdown_out: Path | None,
    json_out: Path | None,
    cache_dir: Path | None,
    sources_warehouse: Path | None,
    workers: int,
) -> None:
    """Run the validation gates on REPO's working tree; exit 1 if any gate fails."""
    s = settings()
    repo = repo.resolve()
    try:
        contracts_dir = load_release_config(repo).contracts.dir
    except ReleaseConfigError as exc:
        click.echo(f"cannot validate {repo}: {exc}", err=True)
        sys.exit(2)
    sources = (
        source_reader(
            DuckDBWarehouse.at("staging", sources_warehouse.resolve()), repo, contracts_dir
        )
        if sources_warehouse
        else None
    )
    with tempfile.TemporaryDirectory(prefix="ra-validate-") as tmp:
        try:
            report = validate_branch(
                repo,
                base_ref,
                full=full or base_ref is None,
                scratch=Path(tmp),
                runtimes_dir=s.runtimes_dir,
                cache_dir=cache_dir or s.state_dir / "validation-cache",
                workers=workers,
                source_schemas=sources,
            )
        except (ReleaseConfigError, ValidationInputError) as exc:
            click.echo(f"cannot validate {repo}: {exc}", err=True)
            sys.exit(2)
    markdown = to_markdown(report)
    if markdown_out:
        markdown_out.write_text(markdown)
    if json_out:
        json_out.write_text(to_json(report))
    for result in report.results:
        click.echo(
            f"{result.gate:15} {result.status:8} {result.duration_s:6.1f}s  "
            f"{len(result.errors)} error(s)  {GATES[result.gate][:60]}"
        )
        for f in result.errors[:20]:
            click.echo(f"    {f.where}  {f.obj or ''}  {f.message}", err=False)
    click.echo(f"{'passed' if report.passed else 'FAILED'} in {report.duration_s:.1f}s")
    sys.exit(0 if report.passed else 1)
