"""`release-assets validate` as a CI job sees it: the console, the exit codes (0 passed,
1 findings, 2 the tool could not run), reports written whatever the outcome, no traceback.

The gates are replaced by a canned report (`validate_branch`) where the outcome is given, so
these run in the fast layer; tests/cli/test_validate.py and test_onboarding.py run real gates.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from release_assets.cli import validate as validate_cli
from release_assets.cli.main import main
from release_assets.settings import Settings, settings
from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.runner import GATES, ValidationReport
from release_assets.validation.selection import Selection

MINIMAL_YAML = (
    "version: 1\nproject: shop\nowners: {default: data@shop.example}\n"
    'airflow: {version: "2.11.2"}\n'
)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """release.yaml, requirements.txt and one DAG, committed on main."""
    root = tmp_path / "shop"
    (root / "dags").mkdir(parents=True)
    (root / "release.yaml").write_text(MINIMAL_YAML)
    (root / "requirements.txt").write_text("duckdb==2.0.0\n")
    (root / "dags" / "hello.py").write_text("# a DAG\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "-c", "user.email=a@shop.example", "-c", "user.name=A", "commit", "-qm", "init")
    return root


def _findings(n: int, severity: str = "error", prefix: str = "problem") -> list[Finding]:
    return [
        Finding(
            message=f"{prefix} {i}",
            file=f"dags/d{i}.py",
            line=i + 1,
            obj=f"dag:d{i}",
            fix="do the thing",
            severity=severity,  # type: ignore[arg-type]
        )
        for i in range(n)
    ]


def _report(*results: GateResult) -> ValidationReport:
    given = {r.gate: r for r in results}
    full = [given.get(g, GateResult(g, checked=["x"])) for g in GATES]
    return ValidationReport(Selection(full=True, changed_files=[]), full, 1.5)


def _fake_gates(
    monkeypatch: pytest.MonkeyPatch, outcome: ValidationReport | Exception
) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def fake(repo: Path, base_ref: str | None, **kwargs: Any) -> ValidationReport:
        calls.append({"repo": repo, "base_ref": base_ref, **kwargs})
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(validate_cli, "validate_branch", fake)
    return calls


Run = Callable[..., tuple[int, str]]


@pytest.fixture
def run(repo: Path, cli_cache: Path) -> Run:
    def invoke(*extra: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["validate", "--repo", str(repo), *extra])
        return result.exit_code, result.output

    return invoke


def test_errors_past_the_limit_are_counted_and_the_report_named(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    findings = _findings(34) + _findings(3, "warning", "style")
    _fake_gates(monkeypatch, _report(GateResult("dag_integrity", findings=findings)))
    js, md = tmp_path / "out" / "report.json", tmp_path / "out" / "report.md"

    code, out = run("--json", str(js), "--markdown", str(md))

    assert code == 1
    assert "problem 19" in out and "problem 20" not in out  # 20 printed, errors first
    assert f"… 14 more error(s) and 3 warning(s) not shown: see {js}" in out
    assert "FAILED (exit 1)" in out and "findings in dag_integrity" in out
    written = json.loads(js.read_text())["gates"][0]["findings"]
    assert len(written) == 37
    assert md.read_text().startswith("## ❌")


def test_without_a_report_the_console_says_how_to_get_every_finding(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_gates(monkeypatch, _report(GateResult("references", findings=_findings(22))))

    code, out = run()
    assert code == 1
    assert "… 2 more error(s) not shown: run again with --json FILE" in out

    code, out = run("--show", "0")
    assert "problem 21" in out and "not shown" not in out


def test_warnings_are_printed_marked_and_do_not_fail(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_gates(
        monkeypatch, _report(GateResult("sql_lint", findings=_findings(2, "warning", "layout")))
    )

    code, out = run()

    assert code == 0
    lines = [line for line in out.splitlines() if "layout" in line]
    assert len(lines) == 2 and all(line.split()[0] == "warning" for line in lines)
    assert "what to do: do the thing" in out
    assert "passed (exit 0)" in out


def test_findings_already_at_the_base_are_counted_not_printed(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = [Finding(message="old lint", file="dags/a.py", existing=True) for _ in range(4)]
    _fake_gates(monkeypatch, _report(GateResult("python_quality", findings=old)))

    code, out = run()

    assert code == 0
    assert "old lint" not in out
    assert "… 4 finding(s) already at the base (not blocking) not shown" in out


@pytest.mark.parametrize("gate", ["dbt", "terraform"])
def test_a_crashed_gate_exits_2_and_still_writes_both_reports(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, gate: str
) -> None:
    reason = "DbtError: dbt ls failed" if gate == "dbt" else "GateCrashed: checkov timed out"
    crashed = GateResult(
        gate,
        crashed=reason,
        findings=[Finding(message=f"the {gate} gate could not run: {reason}")],
    )
    _fake_gates(monkeypatch, _report(crashed, GateResult("secrets", findings=_findings(1))))
    js, md = tmp_path / "r.json", tmp_path / "r.md"

    code, out = run("--json", str(js), "--markdown", str(md))

    assert code == 2
    assert f"could not run: {reason}" in out
    assert out.count(reason) == 1  # the runner's finding is not repeated under it
    assert "COULD NOT RUN (exit 2)" in out and f"gate(s) {gate} crashed" in out
    gates = {g["gate"]: g for g in json.loads(js.read_text())["gates"]}
    assert gates[gate]["crashed"] == reason
    assert gate in md.read_text()


def test_an_unexpected_error_is_one_line_and_exit_2_unless_debug(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_gates(monkeypatch, KeyError("runtime"))

    code, out = run()
    assert code == 2
    assert out.strip().splitlines() == [
        "error: validate could not run: KeyError: 'runtime' (run with --debug for the traceback)"
    ]

    code, out = run("--debug")
    assert code == 2 and "Traceback (most recent call last)" in out


def test_a_report_path_that_cannot_be_written_is_exit_2(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fake_gates(monkeypatch, _report())
    blocker = tmp_path / "file"
    blocker.write_text("")

    code, out = run("--json", str(blocker / "report.json"))

    assert code == 2
    assert f"cannot write the report {blocker / 'report.json'}" in out
    assert "Traceback" not in out


@pytest.mark.parametrize(
    ("yaml_text", "words"),
    [
        (MINIMAL_YAML + "contracts: null\n", "contracts: empty (null): omit contracts or give "),
        (MINIMAL_YAML + "tests:\n", "tests: empty (null): omit tests or give tests.dir"),
        (MINIMAL_YAML.replace("project: shop", "project: my shop"), "project: must be an "),
    ],
)
def test_an_invalid_release_yaml_is_exit_2_with_what_to_do(
    run: Run, repo: Path, monkeypatch: pytest.MonkeyPatch, yaml_text: str, words: str
) -> None:
    calls = _fake_gates(monkeypatch, _report())
    (repo / "release.yaml").write_text(yaml_text)

    code, out = run("--json", str(repo / "r.json"))

    assert code == 2
    assert words in out and "release-assets config validate" in out
    assert "pydantic" not in out and "Input should" not in out and "Traceback" not in out
    assert calls == [] and not (repo / "r.json").exists()  # the gates never ran


@pytest.mark.parametrize("base", ["no-such-branch", "origin/main"])
def test_an_unknown_base_ref_is_exit_2_naming_the_ref(
    repo: Path, cli_cache: Path, base: str
) -> None:
    result = CliRunner().invoke(main, ["validate", "--repo", str(repo), "--base", base])

    assert result.exit_code == 2
    assert base in result.output and "leave out --base for a full validation" in result.output
    assert "Traceback" not in result.output


def test_not_a_git_repository_with_base_is_exit_2(repo: Path, cli_cache: Path) -> None:
    subprocess.run(["rm", "-rf", str(repo / ".git")], check=True, timeout=60)

    result = CliRunner().invoke(main, ["validate", "--repo", str(repo), "--base", "main"])

    assert result.exit_code == 2
    assert "not a git repository" in result.output


def test_caches_go_to_the_cache_dir_and_cache_dir_moves_them(
    run: Run, cli_cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = _fake_gates(monkeypatch, _report())
    monkeypatch.delenv("RELEASE_ASSETS_RUNTIMES_DIR")
    settings.cache_clear()

    run()
    run("--cache-dir", str(tmp_path / "ci-cache"))

    assert calls[0]["cache_dir"] == cli_cache.resolve() / "validation"
    assert calls[0]["runtimes_dir"] == cli_cache.resolve() / "runtimes"
    assert calls[1]["cache_dir"] == (tmp_path / "ci-cache" / "validation").resolve()
    assert calls[1]["runtimes_dir"] == (tmp_path / "ci-cache" / "runtimes").resolve()


def test_an_explicit_runtimes_dir_stays_where_it_is_with_cache_dir(
    run: Run, isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = _fake_gates(monkeypatch, _report())

    run("--cache-dir", str(tmp_path / "ci-cache"))

    assert calls[0]["runtimes_dir"] == isolated_settings.runtimes_dir
    assert calls[0]["cache_dir"] == (tmp_path / "ci-cache" / "validation").resolve()
