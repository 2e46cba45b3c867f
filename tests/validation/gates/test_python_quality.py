"""The python_quality gate: ruff with the repository's own configuration, and the repository's
own pytest suite in the test runtime, each failed test reported by its node id."""

from __future__ import annotations

from pathlib import Path

import pytest

from release_assets.validation.findings import GateCrashed
from release_assets.validation.gates import python_quality
from release_assets.validation.runner import run_gate
from release_assets.validation.scanners.redaction import mask_secrets
from tests.validation.conftest import MakeContext

SLOPPY_DAG = '''"""An ad-hoc cleanup DAG."""

import os
from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator

RETENTION_DAYS = None
# A 95-character line: allowed by the repository's line-length = 100 (ruff's default is 88) ...
with DAG(dag_id="adhoc_cleanup", start_date=datetime(2026, 1, 1), schedule=None, catchup=False):
    if RETENTION_DAYS == None:
        EmptyOperator(task_id="noop")
'''

FAILING_TESTS = '''"""Tests of the release-day arithmetic."""

import pytest


def test_adds() -> None:
    assert 1 + 1 == 2


def test_uses_the_warehouse_password() -> None:
    dsn = "postgresql://loader:hunter2-very-secret@db.internal/warehouse"
    assert dsn.endswith("/staging"), dsn


class TestRounding:
    @pytest.mark.parametrize("value", [1.5])
    def test_rounds_half_up(self, value: float) -> None:
        assert round(value + 1) == 3
'''


def test_ruff_findings_name_file_line_and_code(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    (northstar_copy / "dags" / "adhoc_cleanup.py").write_text(SLOPPY_DAG)
    ctx = make_context(northstar_copy, changed_files=["dags/adhoc_cleanup.py"], dbt_modified=[])
    assert ctx.selection.test_files == []

    result = run_gate("python_quality", ctx)

    assert result.status == "failed"
    found = {(f.rule, f.line) for f in result.findings}
    assert found == {("ruff:F401", 3), ("ruff:E711", 12)}, result.findings
    unused = next(f for f in result.findings if f.rule == "ruff:F401")
    assert unused.file == "dags/adhoc_cleanup.py" and unused.obj == "file:dags/adhoc_cleanup.py"
    assert "`os` imported but unused" in unused.message and unused.fix
    assert result.checked == ["dags/adhoc_cleanup.py"]
    assert any("ruff only" in n for n in result.notes)


def test_a_repository_without_ruff_config_gets_ruffs_defaults_not_a_parents(
    tmp_path: Path, make_context: MakeContext, northstar_copy: Path
) -> None:
    assert northstar_copy.parent == tmp_path
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ruff]\nline-length = 40\nlint.select = ["E501"]\n'
    )
    pyproject = northstar_copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().split("[tool.ruff]")[0])
    (northstar_copy / "dags" / "adhoc_cleanup.py").write_text(SLOPPY_DAG)
    ctx = make_context(northstar_copy, changed_files=["dags/adhoc_cleanup.py"], dbt_modified=[])

    result = run_gate("python_quality", ctx)

    assert {(f.rule, f.line) for f in result.findings} == {("ruff:F401", 3)}
    assert any("no ruff configuration" in n for n in result.notes)


def test_skipped_without_python_files_or_tests(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    ctx = make_context(northstar_copy, changed_files=["README.md"], dbt_modified=[])

    result = run_gate("python_quality", ctx)

    assert result.status == "skipped"


def test_secrets_are_masked_in_test_output() -> None:
    text = "dsn=postgresql://loader:hunter2@db/x password='s3cr3t!' AKIAABCDEFGHIJKLMNOP"
    masked = mask_secrets(text)
    assert "hunter2" not in masked and "s3cr3t" not in masked and "AKIA" not in masked


@pytest.mark.slow
def test_failing_repository_tests_are_reported_by_node_id(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    (northstar_copy / "tests" / "test_release_day.py").write_text(FAILING_TESTS)
    (northstar_copy / "tests" / "test_broken_import.py").write_text(
        "import northstar_missing_module  # noqa: F401\n"
    )
    changed = ["tests/test_release_day.py", "tests/test_broken_import.py"]
    ctx = make_context(northstar_copy, changed_files=changed, dbt_modified=[])
    assert ctx.selection.test_files == ["tests/test_broken_import.py", "tests/test_release_day.py"]

    result = run_gate("python_quality", ctx)

    assert result.status == "failed"
    by_obj = {f.obj: f for f in result.findings}
    assert set(by_obj) == {
        "test:tests/test_release_day.py::test_uses_the_warehouse_password",
        "test:tests/test_release_day.py::TestRounding::test_rounds_half_up[1.5]",
        "test:tests/test_broken_import.py",
    }, result.findings
    password = by_obj["test:tests/test_release_day.py::test_uses_the_warehouse_password"]
    assert password.file == "tests/test_release_day.py" and password.line == 12
    assert "endswith" in password.message and "hunter2" not in password.message
    rounding = by_obj["test:tests/test_release_day.py::TestRounding::test_rounds_half_up[1.5]"]
    assert rounding.line == 18 and "assert 2 == 3" in rounding.message
    broken = by_obj["test:tests/test_broken_import.py"]
    assert "northstar_missing_module" in broken.message and broken.file == broken.obj[5:]
    assert any("pytest ran 4 test(s)" in n for n in result.notes)


@pytest.mark.slow  # the whole northstar suite, Spark tests in local Spark (~1 min)
def test_the_example_repository_passes_in_full(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    result = run_gate("python_quality", make_context(northstar_copy))

    assert result.status == "passed", result.findings
    assert "spark/tests/test_inventory_positions.py" in result.checked
    (ran,) = [n for n in result.notes if n.startswith("pytest ran")]
    assert int(ran.split()[2]) > 50 and ": 0 failed" in ran


@pytest.mark.slow
def test_a_hanging_suite_is_stopped_at_the_timeout(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    (northstar_copy / "tests" / "test_hangs.py").write_text(
        "import time\n\n\ndef test_waits_forever() -> None:\n    time.sleep(600)\n"
    )
    ctx = make_context(northstar_copy, changed_files=["tests/test_hangs.py"], dbt_modified=[])

    with pytest.raises(GateCrashed, match=r"pytest suite \(1 file\(s\)\).*timed out after 5s"):
        python_quality.run(ctx, test_timeout_s=5)
