"""fakesnow in server mode for the tests: its command line, a readiness check that cannot be
fooled by another process on the same port, and a context manager that starts one.

A TCP connect alone is not proof that *our* fakesnow listens: between ``free_port()`` and the
server's bind, another test process may take the port, fakesnow then exits with "address
already in use" and the connect reaches the other server (a CI run failed that way, with the
Snowflake connector giving up "after 2 attempt(s)"). Readiness is therefore read from
fakesnow's own log: uvicorn's "Uvicorn running on http://127.0.0.1:PORT" line after the last
"Started server process" line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from release_assets.runtimes import processes
from tests.aws_server import free_port

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 60.0
ATTEMPTS = 3


def fakesnow_command(port: int) -> list[str]:
    """fakesnow's server on 127.0.0.1:``port``. Its databases live in memory: fakesnow 0.12
    ignores ``-d`` in server mode (``fakesnow/cli.py``), so a restarted server starts empty."""
    return [str(BIN / "fakesnow"), "-s", "--host", "127.0.0.1", "-p", str(port)]


def fakesnow_ready(log: Path, port: int, after: int = 0) -> bool:
    """True when the last server started with output to ``log`` says it serves on ``port``;
    only what was written after byte ``after`` counts (a log appended to by several starts)."""
    try:
        with log.open("rb") as stream:
            stream.seek(after)
            text = stream.read().decode(errors="replace")
    except OSError:
        return False
    last_start = text.rfind("Started server process")
    if last_start < 0:
        return False
    return f"Uvicorn running on http://127.0.0.1:{port}" in text[last_start:]


def _settled(log: Path, port: int, pid_file: Path) -> bool:
    """The server either serves ``port`` or has exited."""
    return fakesnow_ready(log, port) or processes.read(pid_file) is None


@contextmanager
def running_fakesnow(log_dir: Path) -> Iterator[int]:
    """A fakesnow server (in memory) in a session of its own on a free port (started and
    stopped by ``release_assets.runtimes.processes``, as the profile's servers are); yields
    the port. A port taken by someone else between choosing and binding is retried on a new
    port (at most ``ATTEMPTS`` times). Raises RuntimeError with the log's tail when no attempt
    listens within ``START_TIMEOUT_S`` seconds."""
    for attempt in range(1, ATTEMPTS + 1):
        port = free_port()
        log, pid_file = log_dir / f"fakesnow-{attempt}.log", log_dir / f"fakesnow-{attempt}.pid"
        processes.start("fakesnow", fakesnow_command(port), pid_file, log, os.environ, log_dir)
        try:
            processes.wait_until(
                partial(_settled, log, port, pid_file),
                START_TIMEOUT_S,
                f"fakesnow on port {port}",
                interval_s=0.2,
            )
        except processes.TimeoutExpired as exc:
            processes.stop(pid_file)
            raise RuntimeError(f"{exc}: {log.read_text(errors='replace')[-2000:]}") from None
        if fakesnow_ready(log, port):
            try:
                yield port
            finally:
                processes.stop(pid_file)
            return
        processes.stop(pid_file)
        if "address already in use" not in log.read_text(errors="replace"):
            raise RuntimeError(f"fakesnow exited: {log.read_text(errors='replace')[-2000:]}")
    raise RuntimeError(f"fakesnow found no free port in {ATTEMPTS} attempts")
