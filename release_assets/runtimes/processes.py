"""Start long-running processes in a session of their own and stop everything in it.

Each managed process has a JSON pid file holding its pid (= process group id), the start time
the kernel recorded for it and its command, so a recycled pid is never mistaken for ours.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class TimeoutExpired(TimeoutError):
    """A bounded wait ran out."""


def wait_until(
    predicate: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.5
) -> None:
    """Poll ``predicate`` until it is true; raise ``TimeoutExpired`` naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return
        if time.monotonic() >= deadline:
            raise TimeoutExpired(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(interval_s)


Say = Callable[[str], None]
PROGRESS_EVERY_S = 15.0
"""A wait that prints progress says where it is at least this often (seconds)."""


def watch(
    observe: Callable[[], tuple[bool, str]],
    timeout_s: float,
    what: str,
    say: Say,
    *,
    interval_s: float = 2.0,
    progress_s: float = PROGRESS_EVERY_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Poll ``observe`` until it reports done, printing progress; returns what it saw last.

    ``observe()`` returns ``(done, seen)``: whether the wait is over and one line saying what
    it sees now (e.g. ``"run 1a2b3c4d STARTED, step prod_swap"``). A line
    ``"  waiting for <what> (<s>s of <timeout>s): <seen>"`` is said whenever ``seen`` changes
    and at least every ``progress_s`` seconds, so a wait is never silent. Raises
    ``TimeoutExpired`` naming ``what`` and the last ``seen`` after ``timeout_s`` seconds.
    ``clock``/``sleep`` are injectable for tests.
    """
    started = clock()
    said_at: float | None = None
    said = ""
    while True:
        done, seen = observe()
        if done:
            return seen
        now = clock()
        elapsed = now - started
        if elapsed >= timeout_s:
            raise TimeoutExpired(
                f"gave up after {timeout_s:.0f}s waiting for {what}; last seen: {seen}"
            )
        if seen != said or said_at is None or now - said_at >= progress_s:
            say(f"  waiting for {what} ({elapsed:.0f}s of {timeout_s:.0f}s): {seen}")
            said, said_at = seen, now
        sleep(max(0.0, min(interval_s, timeout_s - elapsed, progress_s - (now - said_at))))


def ancestors(pid: int | None = None) -> list[int]:
    """``pid`` (default: this process) and its parent, grandparent... up to pid 1, from
    ``/proc/<pid>/stat``; a process that vanished ends the chain."""
    chain: list[int] = []
    current = os.getpid() if pid is None else pid
    while current > 0 and current not in chain:
        chain.append(current)
        fields = _stat_fields(current)
        if fields is None:
            break
        current = int(fields[1])
    return chain


def descendants(pid: int) -> list[int]:
    """Every live process whose parent chain leads to ``pid`` (children, grandchildren...),
    whatever process group or session it moved to; read from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, []))
    return found


def start_ticks(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), None if it is gone: with the
    pid, it names one process even after the pid is reused."""
    return _start_ticks(pid)


def _start_ticks(pid: int) -> int | None:
    """The process start time in clock ticks since boot (field 22 of /proc/<pid>/stat)."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields is not None else None


@dataclass(frozen=True)
class ManagedProcess:
    """A process started by us, as recorded in its pid file."""

    name: str
    pid: int
    start_ticks: int
    command: list[str]

    def is_running(self) -> bool:
        return _start_ticks(self.pid) == self.start_ticks and _is_alive(self.pid)


def _is_alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def start(
    name: str,
    command: Sequence[str],
    pid_file: Path,
    log_file: Path,
    env: Mapping[str, str],
    cwd: Path,
) -> ManagedProcess:
    """Start ``command`` in a new session (its own process group) and record it."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    ticks = _start_ticks(proc.pid)
    if ticks is None:
        raise RuntimeError(f"{name} exited immediately; see {log_file}")
    managed = ManagedProcess(name, proc.pid, ticks, list(command))
    tmp = pid_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(managed.__dict__))
    tmp.replace(pid_file)
    return managed


def _load(pid_file: Path) -> ManagedProcess | None:
    try:
        return ManagedProcess(**json.loads(pid_file.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def read(pid_file: Path) -> ManagedProcess | None:
    """The process recorded in ``pid_file`` if it is still running, else None."""
    managed = _load(pid_file)
    return managed if managed is not None and managed.is_running() else None


def _reap(pid: int) -> None:
    """Collect our own child's exit status so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _session_alive(sid: int) -> bool:
    """True while any non-zombie process is left in the session."""
    _reap(sid)
    return bool(session_members(sid))


def _kill_session(sid: int, sig: signal.Signals) -> None:
    for pid in session_members(sid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def stop(pid_file: Path, timeout_s: float = 30.0) -> bool:
    """Stop the recorded process and everything it started; True if something was stopped.

    The process was started as a session leader, so every descendant is in its session even
    when it moved to a process group of its own (Airflow's DAG processor does). SIGTERM goes to
    the leader's group first so services shut down cleanly; whatever is left in the session
    after ``timeout_s`` is killed. A session id is not reused while the session has members,
    so this works even when the leader already died. The pid file is removed.
    """
    managed = _load(pid_file)
    if managed is None or not _session_alive(managed.pid):
        pid_file.unlink(missing_ok=True)
        return False
    sid = managed.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(sid, signal.SIGTERM)
    try:
        wait_until(lambda: not _session_alive(sid), timeout_s, f"{managed.name} to exit")
    except TimeoutExpired:
        _kill_session(sid, signal.SIGKILL)
        wait_until(lambda: not _session_alive(sid), 10.0, f"{managed.name} to be killed")
    pid_file.unlink(missing_ok=True)
    return True


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def session_members(sid: int) -> list[int]:
    """Live (non-zombie) pids in session ``sid`` (field 6 of /proc/<pid>/stat)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[3]) == sid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def session_rss_bytes(sid: int) -> int:
    """Resident memory of every process in the session (for status and benchmarks)."""
    total = 0
    page = os.sysconf("SC_PAGE_SIZE")
    for pid in session_members(sid):
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def _address(hex_address: str) -> str:
    """``/proc/net/tcp{,6}``'s hex address (32-bit words in host order) as text."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def listening_addresses(sid: int) -> list[tuple[str, int]]:
    """``(address, port)`` of every TCP socket a process of session ``sid`` listens on, read
    from ``/proc/net/tcp`` and ``/proc/net/tcp6`` (``"0.0.0.0"`` or ``"::"`` = every
    interface)."""
    inodes: set[str] = set()
    for pid in session_members(sid):
        inodes |= _socket_inodes(pid)
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A = LISTEN
                    address, port = fields[1].split(":")
                    found.append((_address(address), int(port, 16)))
    return sorted(set(found))
