"""The audit trail's records, their hash chain and how they are stored as text (no Dagster).

A record is one release action (``AuditEvent``) with its place in the chain: ``seq`` (1, 2, 3
... without gaps), ``time`` (UTC, set by the store), ``prev_hash`` (the hash of record
``seq - 1``, ``GENESIS_HASH`` for record 1) and ``hash``: the sha256 (hex) of the canonical
JSON of ``{seq, time, event, prev_hash}``: keys sorted, separators ``,`` and ``:``, UTF-8, time
as ISO 8601 UTC with microseconds (``2026-11-30T17:28:53.123456Z``). The hash is computed over
the fields as they are stored, so a record keeps verifying when ``AuditEvent`` later gains a
field with a default.

Stores keep one object per record, named ``record_name(seq)`` (``00000007.json``), plus a head
object ``HEAD`` (the last record's seq and hash, rewritten on each append) so that a removed
tail is visible. The rules are those of a hash chain (each record commits to all before it),
as in git's commit chain or RFC 6962's append-only log.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, ValidationError, field_serializer, field_validator

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of record 1."""

HEAD_NAME = "HEAD"
"""The name of the head object in a store's entries (after every record)."""

UNREADABLE = "\x00unreadable: "
"""Prefix a store gives the text of an object it could not read, followed by why (so that
verification reports the read error, not a JSON error)."""

_RECORD_NAME = re.compile(r"^(\d{8})\.json$")
_HASH = re.compile(r"^[0-9a-f]{64}$")


class AuditError(Exception):
    """The audit trail cannot be read or appended to; ``str()`` is one line naming the store
    location and the stored object at fault."""


class StoredEntry(NamedTuple):
    """One stored object of the trail as read: its name (``00000007.json``, ``HEAD``) and
    its raw text."""

    name: str
    text: str


Action = Literal["step", "gate", "approval", "refusal", "switch", "rollback", "redeploy"]


class AuditEvent(BaseModel):
    """One release action: what, with which outcome, by whom, for which release.

    ``actor`` is a person (the CLI user, a run tag) or ``sensor:<name>``; ``step`` the asset
    or check (``prod_swap``, ``validation_gates``); ``digest`` the artifact digest the action
    used; ``gates`` gate name -> verdict (``passed``/``failed``/``skipped``); ``approver`` the
    principal (e-mail) of a signed approval; ``replaced_release`` what was live before a
    switch, rollback or redeploy; ``detail`` one line for people; ``data`` extra strings (an
    approval's statement and signature). Nothing secret is ever put in an event.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Action
    outcome: str
    actor: str
    release: str | None = None
    step: str | None = None
    environment: str | None = None
    commit: str | None = None
    pull_requests: list[int] = []
    digest: str | None = None
    gates: dict[str, str] = {}
    approver: str | None = None
    replaced_release: str | None = None
    run_id: str | None = None
    detail: str = ""
    data: dict[str, str] = {}


def format_time(time: datetime) -> str:
    """``time`` as the chain writes it: ISO 8601 UTC with microseconds and ``Z``. Raises
    ValueError for a naive datetime (a time without zone is ambiguous)."""
    if time.tzinfo is None:
        raise ValueError("audit times must carry a time zone (UTC)")
    return time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditRecord(BaseModel):
    """One appended event with its place in the hash chain (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    time: datetime
    event: AuditEvent
    prev_hash: str
    hash: str

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time must carry a time zone (UTC)")
        return value.astimezone(UTC)

    @field_validator("prev_hash", "hash")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not _HASH.match(value):
            raise ValueError("must be 64 lowercase hex digits (a sha256)")
        return value

    @field_serializer("time")
    def _time_text(self, value: datetime) -> str:
        return format_time(value)


def canonical_json(value: Any) -> bytes:
    """The canonical form hashed: JSON, keys sorted, compact separators, UTF-8."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def record_hash(stored: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON of ``seq``, ``time``, ``event`` and ``prev_hash`` as
    stored (a record's JSON object; raises KeyError when one of them is missing)."""
    body = {k: stored[k] for k in ("seq", "time", "event", "prev_hash")}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def next_record(previous: AuditRecord | None, event: AuditEvent, time: datetime) -> AuditRecord:
    """The record that follows ``previous`` (None: the first record) for ``event`` at
    ``time`` (timezone-aware)."""
    seq = previous.seq + 1 if previous is not None else 1
    prev_hash = previous.hash if previous is not None else GENESIS_HASH
    body = {
        "seq": seq,
        "time": format_time(time),
        "event": event.model_dump(mode="json"),
        "prev_hash": prev_hash,
    }
    return AuditRecord.model_validate({**body, "hash": record_hash(body)})


def record_name(seq: int) -> str:
    """The name a record is stored under: ``00000007.json`` for record 7."""
    return f"{seq:08d}.json"


def seq_of_name(name: str) -> int | None:
    """The record number a stored name stands for, None for a name that is not a record's."""
    match = _RECORD_NAME.match(name.rsplit("/", 1)[-1])
    return int(match.group(1)) if match else None


def record_text(record: AuditRecord) -> str:
    """The stored text of ``record``: indented JSON, keys sorted, ending in a newline."""
    return json.dumps(record.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else str(err["msg"])


def load_json_object(text: str) -> dict[str, Any]:
    """The JSON object ``text`` holds; ValueError saying what is wrong (empty, not JSON with
    line and column, not an object)."""
    if text.startswith(UNREADABLE):
        raise ValueError(text.removeprefix(UNREADABLE))
    if not text.strip():
        raise ValueError("it is empty")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(value, dict):
        raise ValueError(f"a JSON {type(value).__name__}, not an object")
    return value


def parse_record(text: str) -> AuditRecord:
    """A stored record's text parsed (its hash not checked: see ``verify_chain``); raises
    ValueError saying what is wrong with it."""
    raw = load_json_object(text)
    try:
        return AuditRecord.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(f"not an audit record ({_first_error(exc)})") from None


class AuditHead(BaseModel):
    """The head object: the seq and hash of the last record appended, and when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    hash: str
    time: datetime

    @field_serializer("time")
    def _time_text(self, value: datetime) -> str:
        return format_time(value)

    @classmethod
    def of(cls, record: AuditRecord) -> AuditHead:
        """The head after ``record`` was appended."""
        return cls(seq=record.seq, hash=record.hash, time=record.time)

    def text(self) -> str:
        """The stored text."""
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"

    @classmethod
    def parse(cls, text: str) -> AuditHead:
        """Parse the stored text; ValueError saying what is wrong."""
        raw = load_json_object(text)
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise ValueError(f"not an audit head ({_first_error(exc)})") from None


def refuse_broken_tail(
    location: str, last: StoredEntry | None, head: StoredEntry | None
) -> AuditRecord | None:
    """The last stored record, checked before appending after it (None for an empty trail).

    Raises AuditError, naming ``location`` and the object, when the last record is unreadable
    or when the head says more records were appended than are stored, or a different last
    record (appending then would hide a removed or replaced tail).
    """
    previous = None
    if last is not None:
        try:
            previous = parse_record(last.text)
        except ValueError as exc:
            raise AuditError(
                f"cannot append to the audit trail at {location}: its last record {last.name} "
                f"is unreadable ({exc}); run `release-assets audit verify`"
            ) from None
    if head is None:
        return previous
    try:
        state = AuditHead.parse(head.text)
    except ValueError as exc:
        raise AuditError(
            f"cannot append to the audit trail at {location}: {HEAD_NAME} is unreadable "
            f"({exc}); run `release-assets audit verify`"
        ) from None
    stored = previous.seq if previous is not None else 0
    where = f"cannot append to the audit trail at {location}"
    if state.seq > stored:
        raise AuditError(
            f"{where}: {HEAD_NAME} records record {state.seq} as the last one appended, but "
            f"the last stored record is {stored or 'none'}; run `release-assets audit verify`"
        )
    if previous is not None and state.seq == stored and state.hash != previous.hash:
        raise AuditError(
            f"{where}: {HEAD_NAME} records hash {state.hash[:12]} for record {stored}, but "
            f"{last.name if last else ''} has hash {previous.hash[:12]}; "
            "run `release-assets audit verify`"
        )
    return previous
