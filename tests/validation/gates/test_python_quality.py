"""The python_quality gate: ruff with the repository's own configuration, and the repository's
own pytest suite in the test runtime, each failed test reported by its node id."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import GateCrashed
from release_assets.validation.gates import python_quality
from release_assets.validation.result_cache import tree_digest
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

TINY_TESTS = '''"""Arithmetic: one test passes, one fails."""


def test_adds() -> None:
    assert 1 + 1 == 2


def test_multiplies() -> None:
    assert 2 * 2 == 5
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
    assert "northstar_missing_module" in broken.message and broken.file == (broken.obj or "")[5:]
    assert any("pytest ran 4 test(s)" in n for n in result.notes)


# The example repository passing this gate in full (its whole suite, Spark included):
# tests/examples/test_adding_a_dag.py (the slow layer's one full validation of the example,
# which asserts what this gate checked).


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


# -- the cache of pytest results -------------------------------------------------------------


def test_the_tree_digest_follows_the_files_not_build_output(northstar_copy: Path) -> None:
    before = tree_digest(northstar_copy)
    # Caches and build output that runs leave behind are not inputs.
    for junk in (
        "dags/__pycache__/ingest_orders.cpython-311.pyc",
        ".pytest_cache/v/cache/lastfailed",
        ".ruff_cache/0.17/123",
        "dbt/target/manifest.json",
        "dbt/logs/dbt.log",
    ):
        (northstar_copy / junk).parent.mkdir(parents=True, exist_ok=True)
        (northstar_copy / junk).write_text("{}")
    assert tree_digest(northstar_copy) == before
    # The same tree elsewhere has the same digest.
    moved = northstar_copy.parent / "elsewhere"
    shutil.copytree(northstar_copy, moved)
    assert tree_digest(moved) == before

    common = northstar_copy / "dags" / "northstar_common" / "defaults.py"
    common.write_text(common.read_text() + "\n# one more line\n")
    edited = tree_digest(northstar_copy)
    assert edited != before
    (northstar_copy / "tools" / "new_helper.py").write_text("X = 1\n")
    added = tree_digest(northstar_copy)
    assert added not in {before, edited}
    (northstar_copy / "tools" / "new_helper.py").chmod(0o755)
    assert tree_digest(northstar_copy) not in {before, edited, added}


def _fake_runtime(root: Path, calls: Path) -> RuntimeVenv:
    """A "virtualenv" whose python is this interpreter (it has pytest), counting its runs."""
    (root / "bin").mkdir(parents=True)
    (root / "lib" / "python3.11" / "site-packages" / "pytest-9.2.0.dist-info").mkdir(parents=True)
    python = root / "bin" / "python"
    python.write_text(f'#!/bin/sh\necho run >> "{calls}"\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return RuntimeVenv(root)


def _tiny_context(
    make_context: MakeContext,
    monkeypatch: pytest.MonkeyPatch,
    repo: Path,
    test_runtime: RuntimeVenv,
) -> ValidationContext:
    ctx = make_context(repo, changed_files=["tests/test_tiny.py"], dbt_modified=[])
    assert ctx.selection.test_files == ["tests/test_tiny.py"]
    monkeypatch.setattr(ctx, "test_runtime", lambda: test_runtime)
    monkeypatch.setattr(ctx, "runtime", lambda: test_runtime)
    return ctx


def test_the_cache_key_covers_runtime_and_tests_but_not_the_location(
    northstar_copy: Path, make_context: MakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = northstar_copy.parent / "calls"
    runtime = _fake_runtime(northstar_copy.parent / "venv", calls)
    (northstar_copy / "tests" / "test_tiny.py").write_text(TINY_TESTS)
    ctx = _tiny_context(make_context, monkeypatch, northstar_copy, runtime)
    env = {"HOME": "/home/dana", "LANG": "C.UTF-8"}
    key = python_quality.pytest_result_key(ctx, runtime, ["tests/test_tiny.py"], env)
    assert key == python_quality.pytest_result_key(ctx, runtime, ["tests/test_tiny.py"], env)

    moved = northstar_copy.parent / "export-2"
    shutil.copytree(northstar_copy, moved)
    ctx_moved = _tiny_context(make_context, monkeypatch, moved, runtime)
    assert python_quality.pytest_result_key(ctx_moved, runtime, ["tests/test_tiny.py"], env) == key

    assert python_quality.pytest_result_key(ctx, runtime, ["tests"], env) != key
    other_env = {**env, "TZ": "Europe/Paris"}
    assert python_quality.pytest_result_key(ctx, runtime, ["tests/test_tiny.py"], other_env) != key
    # A package upgraded in the runtime is another runtime.
    site = runtime.root / "lib" / "python3.11" / "site-packages"
    (site / "pytest-9.2.0.dist-info").rename(site / "pytest-9.3.0.dist-info")
    assert python_quality.pytest_result_key(ctx, runtime, ["tests/test_tiny.py"], env) != key
    assert not calls.exists()  # computing keys runs nothing


def test_a_result_is_reused_for_the_same_inputs_and_says_so(
    northstar_copy: Path, make_context: MakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = northstar_copy.parent / "calls"
    runtime = _fake_runtime(northstar_copy.parent / "venv", calls)
    (northstar_copy / "tests" / "test_tiny.py").write_text(TINY_TESTS)

    first = run_gate(
        "python_quality", _tiny_context(make_context, monkeypatch, northstar_copy, runtime)
    )
    assert calls.read_text().count("run") == 1
    assert first.status == "failed"  # a failing result is cached too
    assert [f.obj for f in first.findings] == ["test:tests/test_tiny.py::test_multiplies"]
    assert not any("cached" in n for n in first.notes)

    # Same inputs (another export of the same tree, same runtime): the recorded result.
    again_tree = northstar_copy.parent / "export-2"
    shutil.copytree(northstar_copy, again_tree)
    again = run_gate(
        "python_quality", _tiny_context(make_context, monkeypatch, again_tree, runtime)
    )
    assert calls.read_text().count("run") == 1, "a cache hit must not run pytest"
    assert again.findings == first.findings and again.status == "failed"
    (cached,) = [n for n in again.notes if n.startswith("cached result of ")]
    key = cached.split()[3].rstrip(":")
    assert (
        len(key) == 64
        and (
            northstar_copy.parent / "cache" / python_quality.CACHE_FOLDER / f"{key}.json"
        ).is_file()
    )
    assert [n for n in again.notes if n != cached] == first.notes

    # A changed input (here the test file) is a miss: pytest runs again.
    (again_tree / "tests" / "test_tiny.py").write_text(TINY_TESTS.replace("== 5", "== 4"))
    fixed = run_gate(
        "python_quality", _tiny_context(make_context, monkeypatch, again_tree, runtime)
    )
    assert calls.read_text().count("run") == 2
    assert fixed.status == "passed" and not any("cached" in n for n in fixed.notes)


PARSE_TIME_TEST = '''"""A parse-time test shaped like the example repository's own."""

from datetime import timedelta


def test_parsing_is_fast() -> None:
    stats = {
        f"/tmp/pytest-of-ci/pytest-7/test_demo0/northstar/dags/dag_{n:02d}.py": timedelta(
            seconds=2, microseconds=n
        )
        for n in range(12)
    }
    slow = {path: took for path, took in stats.items() if took > timedelta(seconds=1)}
    assert slow == {}
'''


def test_a_failed_test_and_its_assertion_lead_the_check_description(
    northstar_copy: Path, make_context: MakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from release_assets.defs.checks.validation_gates import _result

    runtime = _fake_runtime(northstar_copy.parent / "venv", northstar_copy.parent / "calls")
    (northstar_copy / "tests" / "test_tiny.py").write_text(PARSE_TIME_TEST)
    (northstar_copy / "tools" / "helper.py").write_text("def f() -> int:\n    return undefined\n")
    ctx = make_context(
        northstar_copy, changed_files=["tests/test_tiny.py", "tools/helper.py"], dbt_modified=[]
    )
    monkeypatch.setattr(ctx, "test_runtime", lambda: runtime)
    monkeypatch.setattr(ctx, "runtime", lambda: runtime)

    result = run_gate("python_quality", ctx)

    assert [f.rule for f in result.errors] == ["pytest-failure", "ruff:F821"]
    failed = result.errors[0]
    assert failed.message.startswith(
        "test tests/test_tiny.py::test_parsing_is_fast failed at `assert slow == {}`: "
        "AssertionError: assert {"
    ), failed.message
    assert (failed.file, failed.line) == ("tests/test_tiny.py", 14)
    description = _result(result).description or ""
    assert "test_parsing_is_fast" in description and "`assert slow == {}`" in description
    assert description.startswith("tests/test_tiny.py:14: test tests/test_tiny.py::")
