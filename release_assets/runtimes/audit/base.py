"""The interface of the store that keeps the audit trail: append-only, hash-chained records
of every release action (``release_assets.runtimes.audit.types`` describes the chain)."""

from __future__ import annotations

from abc import ABC, abstractmethod

import dagster as dg

from release_assets.runtimes.audit.types import (
    HEAD_NAME,
    AuditError,
    AuditEvent,
    AuditRecord,
    StoredEntry,
    parse_record,
)

__all__ = [
    "AuditError",
    "AuditEvent",
    "AuditRecord",
    "AuditStore",
    "StoredEntry",
    "parse_records",
]


class AuditStore(dg.ConfigurableResource, ABC):  # type: ignore[type-arg]
    """Keeps the audit trail (a Dagster resource chosen by the deployment configuration's
    ``audit_store``; tests bind ``release_assets.runtimes.audit.fake.FakeAuditStore``)."""

    @abstractmethod
    def append(self, event: AuditEvent) -> AuditRecord:
        """Append ``event`` as the next record (time: now, UTC) and move the head to it.

        Appends are serialized across threads and processes; a stored record is never
        overwritten. Raises AuditError when the trail cannot be appended to (the last record
        unreadable, the head ahead of the stored records, a wait for the lock that ran out).
        """

    @abstractmethod
    def entries(self) -> list[StoredEntry]:
        """Every stored object, raw, in stored order: the records (by name), then ``HEAD``
        when there is one. What ``release_assets.core.audit.verify_chain`` checks."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the trail is kept, for messages (``/path/audit``, ``s3://bucket/prefix``)."""

    def records(self) -> list[AuditRecord]:
        """Every record, parsed, in chain order (by seq). Hashes are not checked here (that is
        ``verify_chain``); raises AuditError naming the first unreadable record."""
        return parse_records(self.entries(), self.location)


def parse_records(entries: list[StoredEntry], location: str) -> list[AuditRecord]:
    """The records among ``entries`` (what ``AuditStore.entries`` read from ``location``),
    parsed, in chain order (by seq); ``HEAD`` is skipped. Raises AuditError naming the first
    unreadable record."""
    out: list[AuditRecord] = []
    for entry in entries:
        if entry.name == HEAD_NAME:
            continue
        try:
            out.append(parse_record(entry.text))
        except ValueError as exc:
            raise AuditError(
                f"audit record {entry.name} in {location} is unreadable: {exc}; "
                "run `release-assets audit verify`"
            ) from None
    return sorted(out, key=lambda rec: rec.seq)
