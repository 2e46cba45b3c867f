"""One user of a state directory's local stack at a time: `make demo` (for the whole life of its
`dagster dev`), `release-assets demo prepare | drive` and `release-assets local up`.

The lock is an exclusive ``flock`` on ``<state>/stack.lock``; the file names its holder (pid,
start time, what it is). Children of the holder (``make demo`` runs ``demo prepare``, which
runs ``local up``) find their ancestor there and go on without locking again; anyone else is
refused at once with a message naming the holder and how to stop it (never a wait).

Run as ``python -m release_assets.local.stack_lock PURPOSE -- COMMAND...`` to hold the lock
while COMMAND runs (the Makefile's ``demo`` target does).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import IO

from release_assets.runtimes import processes
from release_assets.settings import load_settings

LOCK_NAME = "stack.lock"


class StackBusy(RuntimeError):
    """The state directory's local stack is held by another demo or `local up`; the message
    names the holder's pid, what it is and how to stop it."""


@dataclass(frozen=True)
class Holder:
    """Who holds the lock: ``pid`` with its kernel start time ``start_ticks`` (so a reused
    pid is not mistaken for it), ``purpose`` (e.g. ``"make demo"``), ``command`` (its argv)
    and ``since`` (local time it took the lock, ``HH:MM:SS``)."""

    pid: int
    start_ticks: int
    purpose: str
    command: str
    since: str

    def is_alive(self) -> bool:
        return processes.start_ticks(self.pid) == self.start_ticks


def lock_path(state_dir: Path) -> Path:
    return state_dir / LOCK_NAME


def read_holder(path: Path) -> Holder | None:
    """The holder the lock file names, if any (None for an empty or unreadable file)."""
    try:
        return Holder(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _busy_message(state_dir: Path, holder: Holder | None) -> str:
    if holder is None:
        who = "another process (it has not yet written its name into the lock)"
        stop = "wait for it to finish"
    else:
        who = f"{holder.purpose} (PID {holder.pid}, since {holder.since})"
        stop = f"stop it with Ctrl-C in its terminal or `kill {holder.pid}`"
    return (
        f"the local stack of {state_dir} is in use by {who}; one demo or `local up` runs at a "
        f"time: {stop}, or give this one another RELEASE_ASSETS_STATE_DIR"
    )


def _held_by_ancestor(path: Path) -> bool:
    holder = read_holder(path)
    return holder is not None and holder.is_alive() and holder.pid in processes.ancestors()


def _write_holder(handle: IO[str], purpose: str) -> None:
    pid = os.getpid()
    holder = Holder(
        pid=pid,
        start_ticks=processes.start_ticks(pid) or 0,
        purpose=purpose,
        command=" ".join(sys.argv) or purpose,
        since=time.strftime("%H:%M:%S"),
    )
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(asdict(holder)))
    handle.flush()


@contextlib.contextmanager
def hold(state_dir: Path, purpose: str) -> Iterator[None]:
    """Hold the state directory's stack lock for the ``with`` body, as ``purpose``.

    Re-entrant for the holder and its descendants (they go on without locking). Raises
    ``StackBusy`` at once, naming the holder, when another process holds it.
    """
    path = lock_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    if _held_by_ancestor(path):
        yield
        return
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StackBusy(_busy_message(state_dir, read_holder(path))) from None
        try:
            _write_holder(handle, purpose)
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_holding(state_dir: Path, purpose: str, command: Sequence[str]) -> int:
    """Run ``command`` while holding the lock; its exit code (StackBusy if held elsewhere).

    The command stays in this process group, so Ctrl-C in the terminal reaches it (and its
    shell's job control works) as without the lock; here SIGINT is only waited out. SIGTERM and
    SIGHUP (``kill <pid>`` as the refusal message says) go to every process the command
    started, whatever group it moved to (``dagster dev`` under ``set -m``). The lock is
    released only when the command has exited.
    """
    stopping: list[int] = []

    def stop_all(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)
        for pid in processes.descendants(os.getpid()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    # Handlers first: a `kill <pid>` that arrives while the command starts is not lost.
    signal.signal(signal.SIGINT, lambda _signum, _frame: None)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop_all)
    with hold(state_dir, purpose):
        if stopping:
            return 128 + stopping[0]
        child = subprocess.Popen(list(command))
        if stopping:
            stop_all(stopping[0], None)
        return child.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m release_assets.local.stack_lock PURPOSE -- COMMAND...``; prints the one-line
    refusal and returns 3 when the stack is busy."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 3 or args[1] != "--":
        print(
            "usage: python -m release_assets.local.stack_lock PURPOSE -- COMMAND...",
            file=sys.stderr,
        )
        return 2
    try:
        return run_holding(load_settings().state_dir, args[0], args[2:])
    except StackBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
