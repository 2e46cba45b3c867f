from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from release_assets.runtimes import processes

# A leader that starts a child which moves to a process group of its own (as Airflow's DAG
# processor does) and then both ignore SIGTERM: only the session sweep can stop them.
STUBBORN_TREE = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import os, signal, time; os.setpgid(0, 0); signal.signal(signal.SIGTERM, signal.SIG_IGN);"
    "open(os.environ['CHILD_PID_FILE'], 'w').write(str(os.getpid())); time.sleep(600)"])
time.sleep(600)
"""


def _start(tmp_path: Path, code: str) -> tuple[processes.ManagedProcess, Path]:
    pid_file = tmp_path / "svc.pid"
    env = {**os.environ, "CHILD_PID_FILE": str(tmp_path / "child.pid")}
    managed = processes.start(
        "svc", [sys.executable, "-c", code], pid_file, tmp_path / "svc.log", env, tmp_path
    )
    return managed, pid_file


def test_stop_ends_every_process_of_the_session(tmp_path: Path) -> None:
    managed, pid_file = _start(tmp_path, STUBBORN_TREE)
    processes.wait_until(lambda: (tmp_path / "child.pid").exists(), 20, "child to start")
    child = int((tmp_path / "child.pid").read_text())
    assert os.getpgid(child) != managed.pid  # escaped the leader's group
    assert set(processes.session_members(managed.pid)) >= {managed.pid, child}

    assert processes.stop(pid_file, timeout_s=1.0) is True
    assert processes.session_members(managed.pid) == []
    assert not pid_file.exists()


def test_stop_sweeps_children_left_by_a_dead_leader(tmp_path: Path) -> None:
    code = (
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
    )
    managed, pid_file = _start(tmp_path, code)
    processes.wait_until(lambda: processes.read(pid_file) is None, 20, "the leader to exit")
    orphans = [p for p in processes.session_members(managed.pid) if p != managed.pid]
    assert orphans, "the orphaned child should still be running"
    assert processes.stop(pid_file, timeout_s=5.0) is True
    assert processes.session_members(managed.pid) == []


def test_a_recycled_pid_is_not_taken_for_ours(tmp_path: Path) -> None:
    pid_file = tmp_path / "svc.pid"
    # Our own pid is alive, but its start time differs from the recorded one.
    record = {"name": "svc", "pid": os.getpid(), "start_ticks": 1, "command": ["x"]}
    pid_file.write_text(json.dumps(record))
    assert processes.read(pid_file) is None


def test_stop_without_anything_running_is_a_no_op(tmp_path: Path) -> None:
    assert processes.stop(tmp_path / "missing.pid") is False


def test_wait_until_names_what_it_waited_for() -> None:
    try:
        processes.wait_until(lambda: False, 0.2, "the moon", interval_s=0.05)
    except processes.TimeoutExpired as exc:
        assert "the moon" in str(exc)
    else:
        raise AssertionError("wait_until must time out")
