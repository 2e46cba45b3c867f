"""Gate ``python_quality``: the repository's own pytest suite (the selected test files) in the
test runtime -- the Airflow runtime plus the repository's test requirements, Spark tests in
local Spark -- each failed test reported first, by its node id, the statement that failed and
its outcome; then ruff over the selected Python files with the repository's own ruff
configuration (without one, ``policies.DEFAULT_RUFF_RULES``: rules that find bugs, not style).
A ruff finding weighs what its policy says (``python_lint`` / ``python_style`` in
``validation.policies``; style never blocks by default).

The pytest run is the slow part (~1 min for a whole suite with Spark): its result (passed or
failed, with its findings) is cached under the validation cache folder, keyed by the digest of
every input that can change it (see :func:`pytest_result_key`). A cached result is reported as
such in the gate's notes ("cached result of <digest>"), never silently."""

from __future__ import annotations

import json
import os
import shutil
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from release_assets.runtimes.airflow.venv import RuntimeBuildError, RuntimeVenv
from release_assets.settings import environment_value, selected_environment
from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding, GateCrashed, GateResult
from release_assets.validation.policies import DEFAULT_RUFF_RULES, apply_policies, ruff_policy
from release_assets.validation.result_cache import (
    ResultCache,
    digest_of,
    java_identity,
    source_digest,
    tree_digest,
    venv_identity,
)
from release_assets.validation.scanners import pytest_report, redaction
from release_assets.validation.scanners.pytest_report import FailedTest, failed_tests
from release_assets.validation.scanners.redaction import mask_secrets
from release_assets.validation.scanners.tools import bundled, run_tool

GATE = "python_quality"
RUFF_TIMEOUT_S = 180
# Environment the repository's tests inherit: nothing else of this process (no credentials).
_PASS_THROUGH = ("HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "USER", "LOGNAME", "JAVA_HOME")
# pytest exit codes: 0 passed, 1 tests failed, 2 interrupted (e.g. collection errors), 5 none.
_RAN = {0, 1, 2}
_NO_TESTS = 5
# Results of the repository's pytest runs, under the validation cache folder.
CACHE_FOLDER = "python-quality-pytest"
_PYTEST_FLAGS = ["-q", "-p", "no:cacheprovider", "-rN", "--continue-on-collection-errors"]
# This gate's code that turns a run into findings: changing it invalidates cached results.
_CODE = (Path(__file__), Path(pytest_report.__file__), Path(redaction.__file__))


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
    """``ruff check`` over ``files``, with the repository's configuration when it has one,
    else ``DEFAULT_RUFF_RULES``; each finding weighted by its policy (``ruff_policy``)."""
    cmd = [bundled("ruff"), "check", "--output-format", "json", "--no-cache", "--force-exclude"]
    if not _has_ruff_config(ctx.repo):
        # Without its own config ruff would pick up one from a folder above the checkout.
        cmd += ["--isolated", "--select", ",".join(DEFAULT_RUFF_RULES)]
        notes.append(
            "the repository has no ruff configuration: the default rule set "
            f"{', '.join(DEFAULT_RUFF_RULES)} applies (pyflakes, syntax errors, pylint errors)"
        )
    done = run_tool([*cmd, "--", *files], ctx.repo, RUFF_TIMEOUT_S)
    if done.returncode not in (0, 1):
        raise GateCrashed(f"ruff failed: {done.stderr.strip()[-1500:]}")
    out: list[tuple[str, Finding]] = []
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
        finding = Finding(
            message=f"{code} {item.get('message', '')}",
            file=ctx.rel(item["filename"]),
            line=int(row) if row else None,
            obj=f"file:{ctx.rel(item['filename'])}",
            fix=how,
            rule=f"ruff:{code}",
        )
        out.append((ruff_policy(code), finding))
    return apply_policies(ctx.config, out, notes)


def failed_test_finding(test: FailedTest) -> Finding:
    """One failed test: its node id, then the statement that failed as written and what it
    raised, then the detail (so a shortened description still names test and assertion)."""
    verb = "errored" if test.kind == "error" else "failed"
    at = f" at `{test.statement}`" if test.statement else ""
    return Finding(
        message=f"test {test.nodeid} {verb}{at}: {test.summary}",
        file=test.file,
        line=test.line,
        obj=f"test:{test.nodeid}",
        fix=f"fix the code or the test; reproduce with `pytest {test.nodeid}` in the test runtime",
        rule=f"pytest-{test.kind}",
    )


def _java_home() -> str | None:
    configured = environment_value("JAVA_HOME")
    if configured:
        return configured
    java = shutil.which("java")
    return str(Path(java).resolve().parents[1]) if java else None


def pytest_env(
    ctx: ValidationContext, python: Path, bin_dirs: list[Path], home: Path
) -> dict[str, str]:
    """The tests' environment: an isolated AIRFLOW_HOME, local Spark on loopback, no
    variables of this process beyond the basics (credentials stay out)."""
    env = selected_environment(_PASS_THROUGH)
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


def pytest_result_key(
    ctx: ValidationContext, runtime: RuntimeVenv, tests: list[str], env: dict[str, str]
) -> str:
    """The digest of every input that can change the outcome of running ``tests``: the whole
    tree (build output and caches left out), the test runtime and the Airflow runtime (their
    interpreter version and installed distributions), the JVM, the pass-through environment,
    the pytest command and this gate's code. Paths of the run (the tree's location, scratch
    folders) are not inputs: the same commit exported elsewhere gives the same key."""
    return digest_of(
        {
            "gate": GATE,
            "code": source_digest(*_CODE),
            "tree": tree_digest(ctx.repo),
            "tests": tests,
            "flags": _PYTEST_FLAGS,
            "test_runtime": venv_identity(runtime.root),
            "runtime": venv_identity(ctx.runtime().root),
            "java": java_identity(_java_home()),
            "env": {k: env[k] for k in _PASS_THROUGH if k in env and k != "JAVA_HOME"},
        }
    )


def _cached(cache: ResultCache, key: str, notes: list[str]) -> list[Finding] | None:
    hit = cache.get(key)
    if hit is None:
        return None
    try:
        findings = [Finding(**f) for f in hit["findings"]]
        ran = list(hit["notes"])
    except (KeyError, TypeError):
        return None  # an entry of another format: run again
    when = hit.get("ran_at", "an earlier run")
    notes += ran
    notes.append(
        f"cached result of {key}: the same inputs ran at {when} in {hit.get('seconds', '?')}s; "
        "pytest was not run again"
    )
    return findings


def pytest_findings(
    ctx: ValidationContext, tests: list[str], notes: list[str], timeout_s: float
) -> list[Finding]:
    """Run ``tests`` with the repository's pytest configuration; one finding per failure.
    A result of the same inputs in the cache is reported instead (noted as cached)."""
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
    bins = [runtime.bin_dir, ctx.runtime().bin_dir]
    env = pytest_env(ctx, runtime.python, bins, work / "airflow_home")
    key = pytest_result_key(ctx, runtime, tests, env)
    cache = ResultCache(ctx.cache_dir / CACHE_FOLDER)
    cached = _cached(cache, key, notes)
    if cached is not None:
        return cached
    shutil.rmtree(work, ignore_errors=True)
    (work / "airflow_home").mkdir(parents=True)
    junit = work / "junit.xml"
    cmd = [str(runtime.python), "-m", "pytest", *_PYTEST_FLAGS, f"--rootdir={ctx.repo.resolve()}"]
    cmd += [f"--junitxml={junit}", "-o", "junit_family=xunit1", f"--basetemp={work / 'tmp'}"]
    ran_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.monotonic()
    try:
        done = run_tool([*cmd, "--", *tests], ctx.repo, timeout_s, env)
    except GateCrashed as exc:  # e.g. "python timed out after 900s"
        raise GateCrashed(f"the repository's pytest suite ({len(tests)} file(s)): {exc}") from None
    ran: list[str] = []
    findings: list[Finding] = []
    if done.returncode == _NO_TESTS:
        ran.append(f"pytest collected no tests from {len(tests)} file(s)")
    elif done.returncode not in _RAN or not junit.is_file():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        raise GateCrashed(f"pytest exited with {done.returncode}: {mask_secrets(tail)}")
    else:
        failed, total = failed_tests(junit)
        ran.append(f"pytest ran {total} test(s) from {len(tests)} file(s): {len(failed)} failed")
        findings = [failed_test_finding(t) for t in failed]
    seconds = round(time.monotonic() - started, 1)
    entry = {"notes": ran, "findings": [f.to_dict() for f in findings]}
    cache.put(key, {**entry, "ran_at": ran_at, "seconds": seconds, "tests": tests})
    notes += ran
    return findings


def run(ctx: ValidationContext, test_timeout_s: float = 900) -> GateResult:
    """The selected tests (cached by their inputs) and ruff over the selected Python files;
    failed tests are listed first."""
    sel = ctx.selection
    python_files = [f for f in sel.python_files if (ctx.repo / f).is_file()]
    tests = [f for f in sel.test_files if (ctx.repo / f).is_file()]
    if not python_files and not tests:
        reason = "the change touches no Python file and no test"
        if not (ctx.repo / ctx.config.tests.dir).is_dir() and not python_files:
            reason = f"no Python file selected and no {ctx.config.tests.dir}/ folder of tests"
        return GateResult(GATE, skipped_reason=reason)
    notes: list[str] = []
    lint = ruff_findings(ctx, python_files, notes) if python_files else []
    findings: list[Finding] = []
    if tests:
        findings += pytest_findings(ctx, tests, notes, test_timeout_s)
    else:
        notes.append("no test selected by the change: ruff only")
    # Failed tests first: the first error is what a check's one-line description shows.
    findings += lint
    return GateResult(GATE, findings=findings, checked=sorted({*python_files, *tests}), notes=notes)
