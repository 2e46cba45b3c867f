"""detect-secrets' process: a scan that cannot finish fails the secrets gate with one line
naming the file it was on — at once when the process reading the files dies (the kernel kills
it under memory pressure), at the bound when it runs too long — and leaves no process behind.

detect-secrets' own ``scan`` command read the files in a pool worker even with ``--cores 1``;
with the worker killed, it waited forever (the secrets gate hung for its whole timeout in CI).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from release_assets.validation.findings import GateCrashed
from release_assets.validation.scanners import secret_scan
from release_assets.validation.scanners.secret_scan import scan_secrets

WAIT_S = 120.0
FILES = 20
LINES = 30_000  # per file: the scan takes seconds, long enough to be caught mid-scan
WHERE = rf"while scanning dags/f\d\d\.py \(file \d+ of {FILES}\)"


def _stats() -> dict[int, list[str]]:
    """pid -> the fields of /proc/<pid>/stat after the command name, live processes only."""
    out: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if fields[0] != "Z":
                    out[int(entry.name)] = fields
    return out


def _scanners() -> list[tuple[int, float]]:
    """This test's descendant processes that scan for secrets, parents before children, each
    with the CPU seconds it used (utime + stime)."""
    stats = _stats()
    tick = os.sysconf("SC_CLK_TCK")
    found: list[tuple[int, float]] = []
    todo = [pid for pid, f in stats.items() if int(f[1]) == os.getpid()]
    while todo:
        pid = todo.pop(0)
        with contextlib.suppress(OSError):
            if b"secret" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append((pid, (int(stats[pid][11]) + int(stats[pid][12])) / tick))
        todo.extend(p for p, f in stats.items() if int(f[1]) == pid)
    return found


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    """FILES ordinary Python files without a credential, LINES lines each."""
    (tmp_path / "dags").mkdir()
    body = "".join(f'value_{i} = compute({i}, "item {i}")  # step {i}\n' for i in range(LINES))
    names = [f"dags/f{n:02d}.py" for n in range(FILES)]
    for name in names:
        (tmp_path / name).write_text(body)
    return names


@contextlib.contextmanager
def _scanning(repo: Path, files: list[str], outcome: list[BaseException]) -> Iterator[None]:
    """``scan_secrets`` in a thread while the block runs; what it raised lands in ``outcome``."""

    def scan() -> None:
        try:
            scan_secrets(repo, files, repo / "home")
        except BaseException as exc:  # handed to the test's thread
            outcome.append(exc)

    thread = threading.Thread(target=scan, daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join(WAIT_S + 30)
        assert not thread.is_alive(), "scan_secrets did not return"


def _reading_process(min_cpu_s: float) -> int:
    """The deepest scanning process once it has used ``min_cpu_s`` of CPU (it is then past its
    start-up and reading the files)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        scanners = _scanners()
        if scanners and scanners[-1][1] >= min_cpu_s:
            return scanners[-1][0]
        time.sleep(0.05)
    raise AssertionError("no scanning process used the CPU")


def test_a_scanning_process_killed_mid_scan_fails_at_once_naming_the_file(
    tmp_path: Path, files: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secret_scan, "SCAN_TIMEOUT_S", WAIT_S)
    outcome: list[BaseException] = []
    with _scanning(tmp_path, files, outcome):
        os.kill(_reading_process(min_cpu_s=1.0), signal.SIGKILL)

    assert len(outcome) == 1 and isinstance(outcome[0], GateCrashed), outcome
    assert re.fullmatch(f"detect-secrets was killed by SIGKILL {WHERE}", str(outcome[0]))
    assert _scanners() == []


def test_a_scan_longer_than_the_bound_is_stopped_naming_the_file(
    tmp_path: Path, files: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secret_scan, "SCAN_TIMEOUT_S", 1)
    outcome: list[BaseException] = []
    with _scanning(tmp_path, files, outcome):
        pass

    assert len(outcome) == 1 and isinstance(outcome[0], GateCrashed), outcome
    message = str(outcome[0])
    assert re.fullmatch(
        rf"detect-secrets timed out after 1s ({WHERE}|before it opened a file)", message
    )
    assert _scanners() == []  # the scanning process's session was killed
