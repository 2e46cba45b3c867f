"""An in-memory audit trail for the fast test layer.

``FakeAuditStore`` appends, names and chains records exactly as ``LocalAuditStore`` does (one
object per record, ``00000001.json`` ..., then ``HEAD``). Dagster copies resource instances,
so the records are not kept on the resource: they live in a module-level registry keyed by
``(world, name)`` (``trail_state``), dropped with ``drop_world(world)``. Two resources with the
same world and name are the same trail. The state's ``edit``, ``remove`` and ``swap`` tamper
with stored objects the way someone with write access to a store could.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.audit.types import (
    HEAD_NAME,
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


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class FakeAuditState:
    """The stored objects of one trail: ``objects`` (name -> text, records and ``HEAD``) and
    ``clock`` (the time an append records; tests may replace it)."""

    world: str
    name: str
    objects: dict[str, str] = field(default_factory=dict)
    clock: Callable[[], datetime] = _now
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _name(self, seq: int) -> str:
        name = record_name(seq)
        if name not in self.objects:
            raise KeyError(f"trail {self.name} has no stored record {seq}")
        return name

    def edit(self, seq: int, old: str, new: str) -> None:
        """Replace ``old`` by ``new`` in record ``seq``'s stored text (its hash untouched).
        Raises KeyError for a record not stored or text not in it."""
        name = self._name(seq)
        if old not in self.objects[name]:
            raise KeyError(f"record {seq} does not contain {old!r}")
        self.objects[name] = self.objects[name].replace(old, new)

    def remove(self, seq: int) -> None:
        """Delete record ``seq``'s stored object."""
        del self.objects[self._name(seq)]

    def swap(self, a: int, b: int) -> None:
        """Exchange the stored objects of records ``a`` and ``b``."""
        name_a, name_b = self._name(a), self._name(b)
        self.objects[name_a], self.objects[name_b] = self.objects[name_b], self.objects[name_a]


_WORLDS: dict[tuple[str, str], FakeAuditState] = {}


def trail_state(world: str, name: str = "audit") -> FakeAuditState:
    """The state of trail ``name`` in ``world`` (empty at first)."""
    key = (world, name)
    if key not in _WORLDS:
        _WORLDS[key] = FakeAuditState(world, name)
    return _WORLDS[key]


def drop_world(world: str) -> None:
    """Forget every trail of ``world``."""
    for key in [k for k in _WORLDS if k[0] == world]:
        del _WORLDS[key]


class FakeAuditStore(AuditStore):
    """The trail ``name`` of the test world ``world``, in memory (``FakeAuditStore()`` is the
    trail ``audit`` of world ``default``). Errors as ``LocalAuditStore`` raises them."""

    world: str = "default"
    name: str = "audit"

    @property
    def state(self) -> FakeAuditState:
        """This trail's stored objects (shared by every copy of the resource)."""
        return trail_state(self.world, self.name)

    @property
    def location(self) -> str:
        return f"memory://{self.world}/{self.name}"

    def entries(self) -> list[StoredEntry]:
        objects = self.state.objects
        out = [StoredEntry(n, objects[n]) for n in sorted(objects) if n != HEAD_NAME]
        if HEAD_NAME in objects:
            out.append(StoredEntry(HEAD_NAME, objects[HEAD_NAME]))
        return out

    def append(self, event: AuditEvent) -> AuditRecord:
        state = self.state
        with state.lock:
            numbered = [(n, name) for name in state.objects if (n := seq_of_name(name))]
            last = max(numbered)[1] if numbered else None
            previous = refuse_broken_tail(
                self.location,
                StoredEntry(last, state.objects[last]) if last else None,
                StoredEntry(HEAD_NAME, state.objects[HEAD_NAME])
                if HEAD_NAME in state.objects
                else None,
            )
            record = next_record(previous, event, state.clock())
            name = record_name(record.seq)
            if name in state.objects:
                raise AuditError(
                    f"cannot append record {record.seq} to the audit trail at {self.location}: "
                    f"{name} already exists and is never overwritten"
                )
            state.objects[name] = record_text(record)
            state.objects[HEAD_NAME] = AuditHead.of(record).text()
            return record
