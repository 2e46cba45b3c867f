"""One demo at a time: the stack lock as `make demo` (the wrapper), `local up` and `demo drive`
meet it. No Airflow: the commands held are small Python processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from release_assets.cli.demo_waits import DemoStopped, one_demo
from release_assets.local import stack_lock
from release_assets.local.stack_lock import StackBusy, hold
from release_assets.runtimes import processes
from release_assets.settings import load_settings
from tests.local.conftest import xdist_worker_index

PYTHON = sys.executable


def _env(state: Path) -> dict[str, str]:
    return {**os.environ, "RELEASE_ASSETS_STATE_DIR": str(state)}


def _wrapper(state: Path, *command: str) -> subprocess.Popen[str]:
    """`make demo`'s wrapper holding the lock while ``command`` runs."""
    return subprocess.Popen(
        [PYTHON, "-m", "release_assets.local.stack_lock", "make demo", "--", *command],
        env=_env(state),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_held(state: Path) -> stack_lock.Holder:
    processes.wait_until(
        lambda: stack_lock.read_holder(state / "stack.lock") is not None,
        30,
        "the wrapper to take the lock",
        0.1,
    )
    holder = stack_lock.read_holder(state / "stack.lock")
    assert holder is not None
    return holder


def test_a_second_make_demo_stops_at_once_naming_the_running_one(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = _wrapper(state, PYTHON, "-c", "import time; time.sleep(60)")
    try:
        holder = _wait_held(state)
        assert holder.pid == first.pid
        started = time.monotonic()
        second = subprocess.run(
            [PYTHON, "-m", "release_assets.local.stack_lock", "make demo", "--", "true"],
            env=_env(state),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 3
        assert time.monotonic() - started < 30  # fails fast, never waits for the first
        message = second.stderr.strip()
        assert len(message.splitlines()) == 1
        assert f"in use by make demo (PID {first.pid}" in message
        assert f"`kill {first.pid}`" in message
        assert str(state.resolve()) in message
        # What the message says to do stops the first demo, command and all.
        os.kill(first.pid, signal.SIGTERM)
        assert first.wait(timeout=30) != 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert stack_lock.read_holder(state / "stack.lock") is None  # released


def test_children_of_the_demo_go_on_under_its_lock(tmp_path: Path) -> None:
    # `make demo` runs `demo prepare`, which runs `local up`: each takes the lock again.
    state = tmp_path / "state"
    child = (
        "import sys; from pathlib import Path; from release_assets.local.stack_lock import hold\n"
        f"with hold(Path({str(state)!r}), 'release-assets local up'):\n"
        "    print('inside')\n"
    )
    done = _wrapper(state, PYTHON, "-c", child)
    out, err = done.communicate(timeout=60)
    assert done.returncode == 0, err
    assert out.strip() == "inside"


def test_local_up_while_a_demo_runs_is_refused_with_the_demo_named(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = _wrapper(state, PYTHON, "-c", "import time; time.sleep(60)")
    try:
        _wait_held(state)
        busy = rf"in use by make demo \(PID {first.pid}, since "
        with pytest.raises(StackBusy, match=busy), hold(state, "release-assets local up"):
            pytest.fail("the lock must not be granted")
        # `demo drive` / `demo prepare`: one line and exit 1, no traceback.
        with (
            pytest.raises(DemoStopped) as stopped,
            one_demo(state, "release-assets demo drive"),
        ):
            pytest.fail("the lock must not be granted")
        assert str(stopped.value.code).startswith("error: the local stack of ")
        assert f"`kill {first.pid}`" in str(stopped.value.code)
    finally:
        first.kill()
        first.wait()


def test_the_lock_is_free_again_after_its_holder_ends(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with hold(state, "release-assets local up"):
        holder = stack_lock.read_holder(state / "stack.lock")
        assert holder is not None and holder.pid == os.getpid()
        with hold(state, "release-assets demo prepare"):  # re-entrant in its own process
            pass
    with hold(state, "release-assets demo drive"):
        pass
    assert stack_lock.read_holder(state / "stack.lock") is None


def test_the_wrapper_reads_the_state_dir_of_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELEASE_ASSETS_STATE_DIR", str(tmp_path / f"s{xdist_worker_index()}"))
    assert stack_lock.main(["make demo", "--", "true"]) == 0
    assert stack_lock.main(["make demo", "true"]) == 2  # usage
    assert stack_lock.lock_path(load_settings().state_dir).exists()


def test_kill_as_the_message_says_stops_the_demo_and_the_server_in_its_own_group(
    tmp_path: Path,
) -> None:
    # The Makefile's shape: `dg dev` in a job of its own (set -m), then the drive.
    state = tmp_path / "state"
    pid_file = tmp_path / "dev.pid"
    script = (
        f"set -m; {PYTHON} -c 'import time; time.sleep(300)' & dev=$!; echo $dev > {pid_file}\n"
        "trap 'kill -TERM -$dev 2>/dev/null; wait $dev' INT TERM EXIT\n"
        f"{PYTHON} -c 'import time; time.sleep(300)' && wait $dev\n"
    )
    demo = _wrapper(state, "bash", "-c", script)
    try:
        _wait_held(state)
        processes.wait_until(pid_file.exists, 30, "the server to start", 0.1)
        started = processes.descendants(demo.pid)
        assert len(started) >= 3  # bash, the server, the drive
        os.kill(demo.pid, signal.SIGTERM)
        demo.wait(timeout=30)
        processes.wait_until(
            lambda: not set(started) & set(processes.descendants(1)),
            30,
            "the demo's processes to exit",
            0.1,
        )
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
