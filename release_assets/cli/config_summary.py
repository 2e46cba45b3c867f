"""What a valid ``release.yaml`` turns on, as `release-assets config validate` prints it.

Only ``airflow`` (a DAGs folder and ``requirements.txt``) is required; every other part is
optional and turns on a gate or a release step when present. The summary says, per part,
what it enables or that it is absent and what then skips, so a team onboarding a repository
sees what will be checked before running ``release-assets validate``.
"""

from __future__ import annotations

from pathlib import Path

from release_assets.config import ReleaseConfig

_CONTRACT_SUFFIXES = (".yaml", ".yml")


def _count(folder: Path, suffixes: tuple[str, ...]) -> int:
    if not folder.is_dir():
        return 0
    return sum(1 for p in folder.rglob("*") if p.is_file() and p.suffix in suffixes)


def parts_summary(config: ReleaseConfig, repo: Path) -> list[str]:
    """One line per part of ``config`` (read against the tree at ``repo``): what it turns on
    (gates, release steps) or, when absent, what skips."""
    af = config.airflow
    dags = _count(repo / af.dags_folder, (".py",))
    lines = [
        f"airflow: Airflow {af.version}, {dags} Python file(s) in {af.dags_folder}/, "
        f"{af.requirements}: dag_integrity, references, requirements, python_quality (ruff), "
        "secrets",
    ]
    if config.dbt is None:
        lines.append("dbt: not configured: the sql_lint and dbt gates skip")
    else:
        d = config.dbt
        targets = ", ".join(f"{k}={v}" for k, v in d.targets.items())
        lines.append(
            f"dbt: {d.project_dir}/ (profile {d.profile}, targets {targets}): sql_lint, dbt"
        )
    contracts = _count(repo / config.contracts.dir, _CONTRACT_SUFFIXES)
    lines.append(
        f"contracts: {contracts} contract file(s) in {config.contracts.dir}/: contracts gate"
        if contracts
        else f"contracts: none in {config.contracts.dir}/: the contracts gate skips"
    )
    tests = config.tests
    if (repo / tests.dir).is_dir():
        extra = f" (+ {tests.requirements})" if tests.requirements else ""
        lines.append(f"tests: {tests.dir}/{extra}: python_quality runs the suite")
    else:
        lines.append(f"tests: no {tests.dir}/ folder: python_quality runs ruff only")
    jobs = config.spark.jobs
    lines.append(
        f"spark: {len(jobs)} job(s) ({', '.join(j.name for j in jobs)}): their tests run "
        "in local Spark"
        if jobs
        else "spark: no jobs"
    )
    modules = config.terraform.modules
    lines.append(
        f"terraform: {len(modules)} module(s) declared: terraform gate"
        if modules
        else "terraform: no modules declared"
    )
    tables = config.critical_tables
    lines.append(
        f"critical_tables: {len(tables)}: the canary judge compares them"
        if tables
        else "critical_tables: none: the canary judge has nothing to compare"
    )
    return lines
