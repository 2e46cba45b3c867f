"""`release-assets validate`: the pull-request entry point, on a real git repository with no
Dagster instance and no running Airflow."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from release_assets.cli.main import main
from release_assets.settings import settings
from tests.paths import NORTHSTAR, SHARED_RUNTIMES


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, timeout=60
    ).stdout


@pytest.fixture
def pipelines(tmp_path: Path) -> Path:
    repo = tmp_path / "northstar"
    shutil.copytree(
        NORTHSTAR,
        repo,
        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "target", "logs", "*.duckdb"),
    )
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "dana@northstar.example")
    _git(repo, "config", "user.name", "Dana Engineer")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "import")
    _git(repo, "checkout", "-q", "-b", "dana/change")
    return repo


def _validate(
    repo: Path, tmp_path: Path, cache: Path, *extra: str
) -> tuple[int, str, dict[str, Any]]:
    """``release-assets validate --repo REPO ...`` with ``cache`` as the cache folder (the
    session's shared one: DAG parses of unchanged files are reused, keyed by content)."""
    md, js = tmp_path / "report.md", tmp_path / "report.json"
    env = {
        "RELEASE_ASSETS_STATE_DIR": str(tmp_path / "state"),
        "RELEASE_ASSETS_CACHE_DIR": str(cache),
        "RELEASE_ASSETS_RUNTIMES_DIR": str(SHARED_RUNTIMES),
    }
    args = ["validate", "--repo", str(repo), "--markdown", str(md), "--json", str(js), *extra]
    settings.cache_clear()  # the settings are read once per process: re-read them with env
    result = CliRunner().invoke(main, args, env=env)
    settings.cache_clear()
    return result.exit_code, md.read_text(), json.loads(js.read_text())


@pytest.mark.slow
def test_a_one_dag_change_validates_only_that_dag_and_passes(
    pipelines: Path, tmp_path: Path, shared_cache: Path
) -> None:
    dag = pipelines / "dags" / "ingest_inventory.py"
    dag.write_text(dag.read_text().replace('"""', '"""Owned by supply chain. ', 1))
    _git(pipelines, "commit", "-qam", "Document the inventory DAG")

    code, markdown, report = _validate(pipelines, tmp_path, shared_cache, "--base", "main")

    assert code == 0, markdown
    gates = {g["gate"]: g for g in report["gates"]}
    assert gates["dag_integrity"]["checked"] == ["dags/ingest_inventory.py"]
    assert gates["terraform"]["status"] == "skipped"
    assert gates["sql_lint"]["status"] == "skipped"
    assert "change-aware: 1 changed file(s)" in markdown


@pytest.mark.slow
def test_a_bad_change_fails_with_a_report_naming_the_file(
    pipelines: Path, tmp_path: Path, shared_cache: Path
) -> None:
    dag = pipelines / "dags" / "ingest_customers.py"
    dag.write_text(dag.read_text().replace("catchup=False,", ""))

    code, markdown, report = _validate(pipelines, tmp_path, shared_cache, "--base", "main")

    assert code == 1
    assert report["passed"] is False
    assert "❌ release-assets validation: failed" in markdown
    assert "`dags/ingest_customers.py" in markdown and "catchup" in markdown


def test_an_unknown_base_ref_is_a_clear_error(pipelines: Path, tmp_path: Path) -> None:
    # Fast: refused before any gate or runtime starts.
    result = CliRunner().invoke(
        main,
        ["validate", "--repo", str(pipelines), "--base", "no-such-branch"],
        env={"RELEASE_ASSETS_STATE_DIR": str(tmp_path / "state")},
    )
    assert result.exit_code == 2
    assert "no-such-branch" in result.output


@pytest.mark.slow
def test_contracts_are_compared_with_a_given_sources_warehouse(
    pipelines: Path, tmp_path: Path, shared_cache: Path
) -> None:
    # The pull request retypes signup_date in the contract; the warehouse's table is what it
    # was, except that the upstream team dropped loyalty_tier (drift already at the base).
    contract = pipelines / "contracts" / "customers.yaml"
    contract.write_text(
        contract.read_text().replace(
            "{name: signup_date, type: date,", "{name: signup_date, type: timestamp,"
        )
    )
    _git(pipelines, "commit", "-qam", "Retype signup_date in the customers contract")
    warehouse = tmp_path / "staging.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw.customers (customer_id bigint, email_masked varchar, "
            "first_name varchar, country_code varchar, marketing_opt_in boolean, "
            "signup_date date, updated_at timestamp, _load_date date, _release_id varchar, "
            "_loaded_at timestamp)"
        )

    code, markdown, report = _validate(
        pipelines, tmp_path, shared_cache, "--base", "main", "--sources-warehouse", str(warehouse)
    )

    assert code == 1, markdown
    gates = {g["gate"]: g for g in report["gates"]}
    contracts = gates["contracts"]
    assert contracts["status"] == "failed"
    # What the change introduces blocks; the drift the base already had is reported apart.
    new = " ".join(f["message"] for f in contracts["findings"])
    existing = " ".join(f["message"] for f in contracts["existing_findings"])
    assert "signup_date" in new and "loyalty_tier" not in new, markdown
    assert "loyalty_tier" in existing, markdown
    assert any(f["file"] == "contracts/customers.yaml" for f in contracts["findings"])
