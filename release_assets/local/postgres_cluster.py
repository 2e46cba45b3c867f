"""A local PostgreSQL cluster: Debian's server binaries, one data directory, one server.

Each local Airflow 2 environment keeps its metadata database in a cluster of its own
(``airflow_instance.py``); the tests' PostgreSQL (``tests/postgres_server.py``, the AWS profile)
is the same cluster reachable on a TCP port.

- Binaries: the newest ``/usr/lib/postgresql/<major>/bin`` (Debian's ``postgresql`` package).
- ``initdb -U postgres --auth=trust`` once into ``<root>/data``; the server runs in a session of
  its own (``processes.start``: setsid, pid file) and is stopped with ``pg_ctl stop -m fast``,
  then whatever is left of that session is killed.
- Listens on a Unix socket only by default (``listen_addresses=''``), so no TCP port can collide
  between environments or tests; with ``port`` it also listens on 127.0.0.1:``port``. The socket
  lives in a short folder of its own, ``/tmp/ra-pg-<sha1(data dir)[:12]>``: a socket path is
  limited to 107 bytes, and state folders (pytest's above all) are long.
- When we are root, the server and ``initdb`` run as the ``postgres`` OS user (the server refuses
  root) and the cluster's folders are given to it. If that user cannot reach the folder (it lies
  below a folder private to root: ``/root``, pytest's temporary folders), the two run with the
  one capability CAP_DAC_READ_SEARCH, which lets them look up paths there without opening those
  folders to anyone else.
- Local clusters hold disposable state, so they run with ``fsync=off``: a machine crash can lose
  them (stop the environment and delete its ``postgres`` folder; it is made again).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from release_assets.runtimes import processes
from release_assets.runtimes.processes import Say

PG_ROOT = Path("/usr/lib/postgresql")
INSTALL_HINT = "install PostgreSQL's server: `make postgres` (apt-get install -y postgresql)"
SUPERUSER = "postgres"
DEFAULT_PORT = 5432
"""The port a socket-only cluster names its socket file after (``.s.PGSQL.5432``)."""
START_TIMEOUT_S = 60.0
_SOCKET_PREFIX = "/tmp/ra-pg-"
_SERVER_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
"""The server's whole environment (runuser is in /usr/sbin; nothing of ours leaks into it)."""
_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresMissing(RuntimeError):
    """PostgreSQL's server binaries are not installed."""


class PostgresStartError(RuntimeError):
    """The cluster could not be made or did not come up."""


def server_bin(pg_root: Path | None = None) -> Path | None:
    """The newest ``<pg_root>/<major>/bin`` (default ``PG_ROOT``) holding ``initdb`` and
    ``postgres``, or None."""
    pg_root = pg_root or PG_ROOT
    found = [
        p.parent
        for p in pg_root.glob("*/bin/initdb")
        if p.parts[-3].isdigit() and (p.parent / "postgres").exists()
    ]
    return max(found, key=lambda b: int(b.parts[-2])) if found else None


def require_server_bin(needed_by: str, pg_root: Path | None = None) -> Path:
    """``server_bin``, or ``PostgresMissing`` naming what needs it and how to install it."""
    pg_root = pg_root or PG_ROOT
    found = server_bin(pg_root)
    if found is None:
        raise PostgresMissing(
            f"{needed_by} needs a PostgreSQL server and none is installed "
            f"(no {pg_root}/<major>/bin/initdb): {INSTALL_HINT}"
        )
    return found


def socket_dir_for(data_dir: Path) -> Path:
    """The cluster's socket folder: short (under the 107-byte socket path limit whatever the
    data folder's path) and one per data folder."""
    digest = hashlib.sha1(str(data_dir.absolute()).encode()).hexdigest()[:12]
    return Path(f"{_SOCKET_PREFIX}{digest}")


def _server_user_reaches(path: Path) -> bool:
    done = subprocess.run(
        ["runuser", "-u", SUPERUSER, "--", "test", "-x", str(path)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0


def as_server_user(cmd: list[str], folder: Path) -> list[str]:
    """``cmd`` run as the ``postgres`` OS user when we are root (else as is); with
    CAP_DAC_READ_SEARCH only if that user cannot reach ``folder`` by its path."""
    if os.geteuid() != 0:
        return cmd
    if _server_user_reaches(folder):
        return ["runuser", "-u", SUPERUSER, "--", *cmd]
    caps = ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
    ids = [f"--reuid={SUPERUSER}", f"--regid={SUPERUSER}", "--init-groups"]
    return ["setpriv", *ids, *caps, "--", *cmd]


def _give_to_server_user(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, SUPERUSER, SUPERUSER)


@dataclass(frozen=True)
class PostgresCluster:
    """One cluster in ``root`` (``data/``, ``server.log``, ``postgres.pid``); ``port``: also on
    127.0.0.1:``port`` (None: the Unix socket only). Superuser ``postgres``, trust auth, no
    password. ``pid_file_path``/``log_file_path`` put its pid file and log elsewhere."""

    root: Path
    port: int | None = None
    pid_file_path: Path | None = None
    log_file_path: Path | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return socket_dir_for(self.data_dir)

    @property
    def pid_file(self) -> Path:
        return self.pid_file_path or self.root / "postgres.pid"

    @property
    def log_file(self) -> Path:
        return self.log_file_path or self.root / "server.log"

    @property
    def host(self) -> str:
        """What a client passes as ``host``: 127.0.0.1, or the socket folder."""
        return "127.0.0.1" if self.port is not None else str(self.socket_dir)

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORT

    def url(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` (the psycopg2 driver): over the socket, e.g.
        ``postgresql+psycopg2://postgres@/airflow?host=/tmp/ra-pg-0123456789ab``."""
        if self.port is None:
            return f"postgresql+psycopg2://{SUPERUSER}@/{database}?host={self.socket_dir}"
        return f"postgresql+psycopg2://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> bool:
        """``initdb`` unless done before; True when the cluster was made now. Raises
        ``PostgresMissing``, or ``PostgresStartError`` with initdb's message."""
        if self.initialized():
            return False
        bin_dir = require_server_bin(f"the PostgreSQL cluster in {self.root}")
        _give_to_server_user(self.root)
        shutil.rmtree(self.data_dir, ignore_errors=True)  # what a failed initdb left
        cmd = [str(bin_dir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust"]
        done = subprocess.run(
            as_server_user(cmd, self.root), capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise PostgresStartError(
                f"initdb of {self.data_dir} failed:\n{(done.stderr or done.stdout)[-1500:]}"
            )
        return True

    def command(self) -> list[str]:
        """The postmaster in the foreground (its session is ours to stop)."""
        bin_dir = require_server_bin(f"the PostgreSQL cluster in {self.root}")
        listen = "127.0.0.1" if self.port is not None else ""
        cmd = [str(bin_dir / "postgres"), "-D", str(self.data_dir)]
        cmd += ["-p", str(self.effective_port), "-k", str(self.socket_dir)]
        cmd += ["-c", f"listen_addresses={listen}", "-c", "fsync=off"]
        cmd += ["-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        return as_server_user(cmd, self.root)

    def ready(self) -> bool:
        """True once the server takes connections (``pg_isready``)."""
        bin_dir = server_bin()
        if bin_dir is None:
            return False
        probe = [str(bin_dir / "pg_isready"), "-q", "-h", self.host]
        probe += ["-p", str(self.effective_port)]
        try:
            done = subprocess.run(probe, capture_output=True, timeout=10, check=False)
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    def process(self) -> processes.ManagedProcess | None:
        """The running server, as its pid file records it; None if it is not running."""
        return processes.read(self.pid_file)

    def start(self, say: Say, timeout_s: float = START_TIMEOUT_S) -> float:
        """Make (once) and start the cluster unless it runs; wait at most ``timeout_s`` for it
        to take connections, saying progress. Returns the seconds it took (0.0 when it was
        running). Raises ``PostgresMissing`` or ``PostgresStartError`` (naming the log)."""
        if self.process() is not None:  # running, or still starting
            return 0.0 if self.ready() else self.wait_ready(say, timeout_s)
        self.init()
        self.prepare_socket_dir()
        processes.stop(self.pid_file)  # what is left of a crashed session, if anything
        processes.start(
            f"postgres {self.root}",
            self.command(),
            self.pid_file,
            self.log_file,
            _SERVER_ENV,
            self.root,
        )
        return self.wait_ready(say, timeout_s)

    def prepare_socket_dir(self) -> None:
        """The socket folder, private to the server's user (root can still connect)."""
        _give_to_server_user(self.socket_dir)
        self.socket_dir.chmod(0o700)

    def wait_ready(self, say: Say, timeout_s: float = START_TIMEOUT_S) -> float:
        """Wait for the recorded server to take connections (see ``start``)."""
        began = time.monotonic()

        def observe() -> tuple[bool, str]:
            if self.process() is None:
                tail = self.log_file.read_text(errors="replace")[-1500:]
                raise PostgresStartError(
                    f"PostgreSQL in {self.root} exited while starting; see {self.log_file}:\n{tail}"
                )
            return self.ready(), "not taking connections yet"

        try:
            processes.watch(observe, timeout_s, f"PostgreSQL in {self.root}", say, interval_s=0.3)
        except processes.TimeoutExpired as exc:
            raise PostgresStartError(f"{exc}; see {self.log_file}") from None
        return time.monotonic() - began

    def stop(self) -> bool:
        """``pg_ctl stop -m fast`` (clients are disconnected at once), then what is left of the
        server's session is killed and the socket folder removed; True if something was
        stopped. Idempotent."""
        running = self.process() is not None
        bin_dir = server_bin()
        if running and bin_dir is not None and (self.data_dir / "postmaster.pid").exists():
            cmd = [str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                subprocess.run(
                    as_server_user(cmd, self.root), capture_output=True, timeout=60, check=False
                )
        stopped = processes.stop(self.pid_file) or running
        shutil.rmtree(self.socket_dir, ignore_errors=True)
        return stopped

    def ensure_database(self, name: str) -> str:
        """Create database ``name`` (lowercase letters, digits, _) unless it exists; returns
        it. ``ValueError`` for another name."""
        return ensure_database(self.host, self.effective_port, name)


def ensure_database(host: str, port: int, name: str) -> str:
    """Create database ``name`` on the server at ``host`` (127.0.0.1 or a socket folder) and
    ``port`` unless it exists; returns ``name``. ``ValueError`` for a name that is not lowercase
    letters, digits and _; ``PostgresStartError`` when the server refuses or does not answer."""
    if not _DB_NAME.fullmatch(name):
        raise ValueError(f"not a plain database name: {name!r}")
    import psycopg2  # the driver is only needed when a database is made

    try:
        conn = psycopg2.connect(
            host=host, port=port, user=SUPERUSER, dbname="postgres", connect_timeout=5
        )
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("select 1 from pg_database where datname = %s", (name,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
    except psycopg2.Error as exc:
        raise PostgresStartError(f"cannot create database {name} at {host}: {exc}") from None
    return name
