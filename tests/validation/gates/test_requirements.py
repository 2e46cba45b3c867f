"""The requirements gate: requirements.txt resolves with the Airflow pin of release.yaml (uv,
nothing installed) and its lines parse, are pinned and leave Airflow alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from release_assets.validation.gates.requirements import static_findings
from release_assets.validation.runner import run_gate
from release_assets.validation.scanners.requirements_resolve import read_requirements
from tests.validation.conftest import MakeContext

REQS = "requirements.txt"


def _write(repo: Path, *lines: str) -> None:
    (repo / REQS).write_text("# runtime requirements\n" + "\n".join(lines) + "\n")


@pytest.mark.slow  # resolves with uv: fast with a warm uv cache, ~10 s from the index
def test_the_example_requirements_resolve(northstar_copy: Path, make_context: MakeContext) -> None:
    result = run_gate("requirements", make_context(northstar_copy))

    assert result.status == "passed", result.findings
    assert result.findings == []
    assert result.checked == [REQS]
    (resolved,) = [n for n in result.notes if "resolve to" in n]
    count = int(resolved.split(" resolve to ")[1].split()[0])
    assert count > 100 and "apache-airflow==2.11.2" in resolved


@pytest.mark.slow
def test_a_pin_that_conflicts_with_airflow_names_the_packages_and_line(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    _write(northstar_copy, "dbt-core==1.11.16", "duckdb==2.0.0", "sqlalchemy==2.0.30  # new ORM")

    result = run_gate("requirements", make_context(northstar_copy))

    assert result.status == "failed"
    (finding,) = result.findings
    assert finding.file == REQS and finding.line == 4
    assert finding.obj == "package:sqlalchemy" and finding.rule == "requirements-conflict"
    assert "apache-airflow, sqlalchemy" in finding.message
    assert "apache-airflow==2.11.2 depends on sqlalchemy" in finding.message  # uv's own line
    assert finding.fix and "sqlalchemy==2.0.30" in finding.fix and "<2.0" in finding.fix


@pytest.mark.slow
def test_a_conflict_between_two_requirements_points_at_the_pin(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    _write(northstar_copy, "dbt-core==1.11.16", "agate==1.6.0", "duckdb==2.0.0")

    result = run_gate("requirements", make_context(northstar_copy))

    (finding,) = result.errors
    assert finding.obj == "package:agate" and finding.line == 3
    assert "dbt-core" in finding.message and "agate" in finding.message


def test_a_malformed_line_is_an_error_at_its_line(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    _write(northstar_copy, "dbt-core==1.11.16", "duckdb=2.0.0", "pyspark==4.3.0")

    result = run_gate("requirements", make_context(northstar_copy))

    assert result.status == "failed"
    (finding,) = result.findings
    assert finding.file == REQS and finding.line == 3 and finding.obj == "package:duckdb=2.0.0"
    assert "is not a valid requirement" in finding.message
    assert any("resolution skipped" in n for n in result.notes)


def test_repinning_airflow_is_an_error_and_unpinned_a_warning(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    _write(northstar_copy, "apache-airflow==2.10.5", "dbt-core>=1.11", "duckdb==2.0.0")

    result = run_gate("requirements", make_context(northstar_copy))

    assert result.status == "failed"
    by_obj = {f.obj: f for f in result.findings}
    airflow = by_obj["package:apache-airflow"]
    assert airflow.severity == "error" and airflow.line == 2
    assert "2.10.5" in airflow.message and "2.11.2" in airflow.message
    unpinned = by_obj["package:dbt-core"]
    assert unpinned.severity == "warning" and unpinned.line == 3
    assert "not pinned" in unpinned.message


def test_the_same_airflow_pin_only_warns(tmp_path: Path) -> None:
    path = tmp_path / REQS
    path.write_text("apache-airflow==2.11.2 \\\n  --hash=sha256:00\npandas[excel]==2.2.3\n")

    findings = static_findings(REQS, read_requirements(path), "2.11.2")

    (finding,) = findings
    assert finding.severity == "warning" and finding.line == 1
    assert finding.obj == "package:apache-airflow"


def test_skipped_when_the_requirements_did_not_change(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    ctx = make_context(northstar_copy, changed_files=["dags/ingest_orders.py"])

    result = run_gate("requirements", ctx)

    assert result.status == "skipped" and result.skipped_reason
