"""dbt_build's command: a warehouse locked by another process is waited for (the build is
tried again), any other dbt failure fails the task at once with dbt's own exit status."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

LOCKED = 'Runtime Error\n  IO Error: Could not set lock on file "warehouse.duckdb"'


def _dbt_build_command() -> str:
    import dbt_build  # the DAG file, from the dags folder conftest puts on sys.path

    return str(dbt_build.DBT_BUILD)


def _fake_dbt(tmp_path: Path, answers: list[tuple[int, str]]) -> Path:
    """A ``dbt`` on PATH answering the n-th call with ``answers[n]`` (exit status, output)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    lines = [
        "#!/usr/bin/env bash",
        f'n=$(cat "{calls}" 2>/dev/null || echo 0); echo $((n + 1)) > "{calls}"',
    ]
    for i, (status, output) in enumerate(answers):
        lines.append(f'if [ "$n" -eq {i} ]; then printf %s\\\\n {output!r}; exit {status}; fi')
    script = bin_dir / "dbt"
    script.write_text("\n".join(lines) + "\nexit 99\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def _run(
    tmp_path: Path, answers: list[tuple[int, str]]
) -> tuple[subprocess.CompletedProcess[str], int]:
    bin_dir = _fake_dbt(tmp_path, answers)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "NORTHSTAR_DBT_TARGET": "duckdb",
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "NORTHSTAR_DBT_VARS": "{}",
    }
    done = subprocess.run(
        ["bash", "-c", _dbt_build_command()],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done, int((tmp_path / "calls").read_text())


@pytest.mark.parametrize("locked_times", [1, 2])
def test_a_locked_warehouse_is_waited_for(tmp_path: Path, locked_times: int) -> None:
    answers = [(2, LOCKED)] * locked_times + [(0, "Completed successfully")]

    done, calls = _run(tmp_path, answers)

    assert done.returncode == 0, done.stdout
    assert calls == locked_times + 1
    waits = [line for line in done.stdout.splitlines() if "locked by another process" in line]
    assert len(waits) == locked_times


def test_any_other_failure_fails_at_once_with_dbts_status(tmp_path: Path) -> None:
    done, calls = _run(tmp_path, [(1, "Compilation Error in model fct_orders")])

    assert done.returncode == 1 and calls == 1
    assert "Compilation Error in model fct_orders" in done.stdout
