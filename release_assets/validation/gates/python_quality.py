"""Gate ``python_quality``: ruff over the selected Python files with the repository's own ruff
configuration, and the repository's own pytest suite (the selected test files) in the test
runtime -- the Airflow runtime plus the repository's test requirements, Spark tests in local
Spark -- each failed test reported by its node id."""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from pathlib import Path
from typing import Any

from release_assets.runtimes.airflow.venv import RuntimeBuildError
from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding, GateCrashed, GateResult
from release_assets.validation.scanners.pytest_report import failed_tests
from release_assets.validation.scanners.redaction import mask_secrets
from release_assets.validation.scanners.tools import bundled, run_tool

GATE = "python_quality"
RUFF_TIMEOUT_S = 180
# Environment the repository's tests inherit: nothing else of this process (no credentials).
_PASS_THROUGH = ("HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "USER", "LOGNAME", "JAVA_HOME")
# pytest exit codes: 0 passed, 1 tests failed, 2 interrupted (e.g. collection errors), 5 none.
_RAN = {0, 1, 2}
_NO_TESTS = 5


def _has_ruff_config(repo: Path) -> bool:
    if (repo / "ruff.toml").is_file() or (repo / ".ruff.toml").is_file():
        return True
    pyproject = repo / "pyproject.toml"
    if not pyproject.is_file():
        return False
    try:
        data = tomllib.loads(pyproject.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return "ruff" in data.get("tool", {})


def ruff_findings(ctx: ValidationContext, files: list[str], notes: list[str]) -> list[Finding]:
    """``ruff check`` over ``files``, with the repository's configuration when it has one."""
    cmd = [bundled("ruff"), "check", "--output-format", "json", "--no-cache", "--force-exclude"]
    if not _has_ruff_config(ctx.repo):
        # Without its own config ruff would pick up one from a folder above the checkout.
        cmd.append("--isolated")
        notes.append("the repository has no ruff configuration: ruff's default rules apply")
    done = run_tool([*cmd, "--", *files], ctx.repo, RUFF_TIMEOUT_S)
    if done.returncode not in (0, 1):
        raise GateCrashed(f"ruff failed: {done.stderr.strip()[-1500:]}")
    out: list[Finding] = []
    for item in json.loads(done.stdout or "[]"):
        code = item.get("code") or "invalid-syntax"
        fix: dict[str, Any] = item.get("fix") or {}
        if fix.get("message"):
            how = f"{fix['message']}" + (
                f" (`ruff check --fix {ctx.rel(item['filename'])}`)"
                if fix.get("applicability") == "safe"
                else ""
            )
        elif code == "invalid-syntax":
            how = "fix the syntax error"
        else:
            how = f"see {item.get('url') or 'the ruff rule ' + code}"
        row = (item.get("location") or {}).get("row")
        out.append(
            Finding(
                message=f"{code} {item.get('message', '')}",
                file=ctx.rel(item["filename"]),
                line=int(row) if row else None,
                obj=f"file:{ctx.rel(item['filename'])}",
                fix=how,
                rule=f"ruff:{code}",
            )
        )
    return out


def _java_home() -> str | None:
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    return str(Path(java).resolve().parents[1]) if java else None


def pytest_env(
    ctx: ValidationContext, python: Path, bin_dirs: list[Path], home: Path
) -> dict[str, str]:
    """The tests' environment: an isolated AIRFLOW_HOME, local Spark on loopback, no
    variables of this process beyond the basics (credentials stay out)."""
    env = {k: os.environ[k] for k in _PASS_THROUGH if os.environ.get(k)}
    java_home = _java_home()
    if java_home:
        env["JAVA_HOME"] = java_home
    path = os.pathsep.join([*(str(b) for b in bin_dirs), "/usr/local/bin", "/usr/bin", "/bin"])
    env.update(
        PATH=path,
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str((ctx.repo / ctx.config.airflow.dags_folder).resolve()),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        PYTHONDONTWRITEBYTECODE="1",
        SPARK_LOCAL_IP="127.0.0.1",
        PYSPARK_PYTHON=str(python),
        PYSPARK_DRIVER_PYTHON=str(python),
    )
    return env


def pytest_findings(
    ctx: ValidationContext, tests: list[str], notes: list[str], timeout_s: float
) -> list[Finding]:
    """Run ``tests`` with the repository's pytest configuration; one finding per failure."""
    try:
        runtime = ctx.test_runtime()
    except RuntimeBuildError as exc:
        last = mask_secrets(str(exc).strip().splitlines()[-1]) if str(exc).strip() else ""
        return [
            Finding(
                message=f"the test runtime (Airflow {ctx.config.airflow.version} + "
                f"{ctx.config.airflow.requirements} + test requirements) cannot be built: {last}",
                file=ctx.config.tests.requirements or ctx.config.airflow.requirements,
                obj="test:*",
                fix="make the requirements installable (see the requirements gate)",
                rule="pytest-runtime",
            )
        ]
    work = (ctx.scratch / GATE).resolve()
    shutil.rmtree(work, ignore_errors=True)
    (work / "airflow_home").mkdir(parents=True)
    junit = work / "junit.xml"
    bins = [runtime.bin_dir, ctx.runtime().bin_dir]
    cmd = [str(runtime.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rN"]
    cmd += ["--continue-on-collection-errors", f"--rootdir={ctx.repo.resolve()}"]
    cmd += [f"--junitxml={junit}", "-o", "junit_family=xunit1", f"--basetemp={work / 'tmp'}"]
    env = pytest_env(ctx, runtime.python, bins, work / "airflow_home")
    try:
        done = run_tool([*cmd, "--", *tests], ctx.repo, timeout_s, env)
    except GateCrashed as exc:  # e.g. "python timed out after 900s"
        raise GateCrashed(f"the repository's pytest suite ({len(tests)} file(s)): {exc}") from None
    if done.returncode == _NO_TESTS:
        notes.append(f"pytest collected no tests from {len(tests)} file(s)")
        return []
    if done.returncode not in _RAN or not junit.is_file():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        raise GateCrashed(f"pytest exited with {done.returncode}: {mask_secrets(tail)}")
    failed, total = failed_tests(junit)
    notes.append(f"pytest ran {total} test(s) from {len(tests)} file(s): {len(failed)} failed")
    return [
        Finding(
            message=f"test {t.nodeid} {'errored' if t.kind == 'error' else 'failed'}: {t.summary}",
            file=t.file,
            line=t.line,
            obj=f"test:{t.nodeid}",
            fix=f"fix the code or the test; reproduce with `pytest {t.nodeid}` in the test runtime",
            rule=f"pytest-{t.kind}",
        )
        for t in failed
    ]


def run(ctx: ValidationContext, test_timeout_s: float = 900) -> GateResult:
    sel = ctx.selection
    python_files = [f for f in sel.python_files if (ctx.repo / f).is_file()]
    tests = [f for f in sel.test_files if (ctx.repo / f).is_file()]
    if not python_files and not tests:
        return GateResult(GATE, skipped_reason="the change touches no Python file and no test")
    notes: list[str] = []
    findings: list[Finding] = []
    if python_files:
        findings += ruff_findings(ctx, python_files, notes)
    if tests:
        findings += pytest_findings(ctx, tests, notes, test_timeout_s)
    else:
        notes.append("no test selected by the change: ruff only")
    return GateResult(GATE, findings=findings, checked=sorted({*python_files, *tests}), notes=notes)
