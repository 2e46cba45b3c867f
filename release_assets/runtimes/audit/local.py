"""A local folder as the audit trail: ``<root>/00000001.json``, ``00000002.json`` ... and
``<root>/HEAD``.

Each record is created with ``O_CREAT | O_EXCL`` (an existing file is never overwritten) and
made read-only (mode 0444). Appends are serialized by an exclusive lock on ``<root>/.lock``
(``release_assets.runtimes.locks.exclusive``, bounded wait) and, inside one process, by a
thread lock first (so threads queue instead of polling the file lock). ``HEAD`` is replaced
atomically (written beside it, then renamed over it) after the record is written; an append
interrupted between the two leaves ``HEAD`` one record behind, which verification accepts.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.audit.types import (
    HEAD_NAME,
    UNREADABLE,
    AuditError,
    AuditEvent,
    AuditHead,
    AuditRecord,
    StoredEntry,
    next_record,
    record_name,
    record_text,
    refuse_broken_tail,
    seq_of_name,
)
from release_assets.runtimes.locks import exclusive
from release_assets.runtimes.processes import TimeoutExpired

LOCK_NAME = ".lock"

_THREAD_LOCKS: dict[str, threading.Lock] = {}
_REGISTRY = threading.Lock()


def _thread_lock(root: Path) -> threading.Lock:
    key = str(root.resolve())
    with _REGISTRY:
        return _THREAD_LOCKS.setdefault(key, threading.Lock())


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` holding ``text``, failing (FileExistsError) if it exists; read-only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    path.chmod(0o444)


def _replace(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (readers see the old or the new content)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o444)
    os.replace(tmp, path)


class LocalAuditStore(AuditStore):
    """The audit trail in the folder ``root`` (created on the first append).

    ``lock_timeout_s`` bounds the wait for another appender (seconds); running out raises
    AuditError naming the lock file.
    """

    root: str
    lock_timeout_s: float = 30.0

    @property
    def root_dir(self) -> Path:
        """The trail's folder."""
        return Path(self.root)

    @property
    def location(self) -> str:
        return str(self.root_dir)

    def _record_paths(self) -> list[Path]:
        """The record files, sorted; none when the folder does not exist yet (nothing was
        appended). Raises AuditError when ``root`` exists but is not a folder (a wrong path
        must not pass as an empty, intact trail)."""
        if self.root_dir.exists() and not self.root_dir.is_dir():
            raise AuditError(
                f"audit trail {self.root_dir}: not a folder; audit_store.root must name the "
                "trail's folder"
            )
        if not self.root_dir.is_dir():
            return []
        return sorted(
            p
            for p in self.root_dir.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.name != HEAD_NAME
        )

    def _read(self, path: Path) -> StoredEntry:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            text = f"{UNREADABLE}it is not UTF-8 text (byte {exc.start}: {exc.reason})"
        except OSError as exc:
            text = f"{UNREADABLE}it cannot be read ({exc.strerror})"
        return StoredEntry(path.name, text)

    def entries(self) -> list[StoredEntry]:
        out = [self._read(p) for p in self._record_paths()]
        head = self.root_dir / HEAD_NAME
        if head.is_file():
            out.append(self._read(head))
        return out

    def _last_stored(self) -> StoredEntry | None:
        """The stored record with the highest number (None when there is none)."""
        numbered = [(n, p) for p in self._record_paths() if (n := seq_of_name(p.name))]
        return self._read(max(numbered)[1]) if numbered else None

    def _head(self) -> StoredEntry | None:
        head = self.root_dir / HEAD_NAME
        return self._read(head) if head.is_file() else None

    def append(self, event: AuditEvent) -> AuditRecord:
        self.root_dir.mkdir(parents=True, exist_ok=True)
        lock = self.root_dir / LOCK_NAME
        try:
            with (
                _thread_lock(self.root_dir),
                exclusive(lock, self.lock_timeout_s, "the audit trail's append lock"),
            ):
                return self._append_locked(event)
        except TimeoutExpired:
            raise AuditError(
                f"waited {self.lock_timeout_s:.0f}s for the audit trail's append lock {lock}; "
                "another process holds it; retry when it has finished"
            ) from None

    def _append_locked(self, event: AuditEvent) -> AuditRecord:
        previous = refuse_broken_tail(self.location, self._last_stored(), self._head())
        record = next_record(previous, event, datetime.now(UTC))
        path = self.root_dir / record_name(record.seq)
        try:
            _write_new(path, record_text(record))
        except FileExistsError:
            raise AuditError(
                f"cannot append record {record.seq} to the audit trail at {self.location}: "
                f"{path.name} already exists and is never overwritten; "
                "run `release-assets audit verify`"
            ) from None
        _replace(self.root_dir / HEAD_NAME, AuditHead.of(record).text())
        return record
