"""The audit trail: release actions as hash-chained records, and verifying the chain.

The records, their canonical hashing and their stored form are defined beside the stores
(``release_assets.runtimes.audit.types``: a store builds each record when it appends) and
re-exported here. ``verify_chain`` reads a store's raw entries and names every record that was
edited, removed, reordered or cannot be read, one line each (docs/auditors-guide.md says what
each means and what the chain proves).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from release_assets.runtimes.audit.types import (
    GENESIS_HASH,
    HEAD_NAME,
    AuditEvent,
    AuditHead,
    AuditRecord,
    StoredEntry,
    load_json_object,
    record_hash,
    record_name,
    seq_of_name,
)

__all__ = [
    "GENESIS_HASH",
    "HEAD_NAME",
    "AuditEvent",
    "AuditRecord",
    "ChainSummary",
    "StoredEntry",
    "chain_summary",
    "record_hash",
    "verify_chain",
]


@dataclass(frozen=True)
class _Entry:
    """One stored record as verification sees it."""

    name: str
    seq: int  # the number it holds (the name's number for an edited one)
    stored_hash: str
    prev_hash: str
    edited: bool


def _label(seq: int | None, name: str) -> str:
    return f"record {seq} ({name})" if seq is not None else name


def _read(name: str, text: str) -> tuple[_Entry | None, str | None]:
    """The entry, or None and the problem line (unreadable or edited)."""
    slot = seq_of_name(name)
    try:
        raw = load_json_object(text)
        hash_ = record_hash(raw)
        stored, prev, seq = raw["hash"], raw["prev_hash"], raw["seq"]
        if not (isinstance(stored, str) and isinstance(prev, str) and isinstance(seq, int)):
            raise ValueError("its seq, hash or prev_hash has the wrong type")
    except KeyError as exc:
        return None, f"{_label(slot, name)} is unreadable: it has no field {exc.args[0]}"
    except (ValueError, TypeError) as exc:
        return None, f"{_label(slot, name)} is unreadable: {exc}"
    if hash_ != stored:
        number = slot if slot is not None else seq
        problem = f"{_label(number, name)} was edited: its content does not match its hash"
        return _Entry(name, number, stored, prev, edited=True), problem
    try:
        AuditRecord.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        return None, f"{_label(slot, name)} is unreadable: {where}: {err['msg']}"
    return _Entry(name, seq, stored, prev, edited=False), None


def _missing(first: int, last: int, why: str, where: str = "") -> str:
    if first == last:
        return f"record {first} is missing: {record_name(first)} was removed{where} ({why})"
    span = "and" if last == first + 1 else "to"
    return (
        f"records {first} {span} {last} are missing: {record_name(first)} {span} "
        f"{record_name(last)} were removed{where} ({why})"
    )


def _order_problems(entries: list[_Entry]) -> list[tuple[int, str]]:
    """Records stored in another record's place: swapped pairs (and longer cycles) named
    together, a record moved to a free place or a foreign name on its own."""
    holds = {slot: e for e in entries if not e.edited and (slot := seq_of_name(e.name)) is not None}
    moved = {slot: e for slot, e in holds.items() if e.seq != slot}
    out: list[tuple[int, str]] = []
    seen: set[int] = set()
    for start in sorted(moved):
        if start in seen:
            continue
        cycle, slot = [start], moved[start].seq
        while slot in moved and slot not in cycle:
            cycle.append(slot)
            slot = moved[slot].seq
        if slot == start and len(cycle) > 1:
            seen.update(cycle)
            numbers = sorted(cycle)
            names = (
                " and ".join(str(n) for n in numbers)
                if len(numbers) == 2
                else (", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}")
            )
            where = ", ".join(f"{record_name(s)} holds record {moved[s].seq}" for s in numbers)
            out.append((numbers[0], f"records {names} are out of order: {where}"))
    for slot in sorted(set(moved) - seen):
        e = moved[slot]
        out.append((e.seq, f"record {e.seq} is out of order: it is stored as {e.name}"))
    for e in entries:
        if not e.edited and seq_of_name(e.name) is None:
            out.append((e.seq, f"record {e.seq} is stored as {e.name}, not {record_name(e.seq)}"))
    return out


def _link_problems(by_seq: dict[int, _Entry]) -> list[tuple[int, str]]:
    """Each record's ``prev_hash`` against the record before it."""
    out: list[tuple[int, str]] = []
    later = {e.stored_hash: s for s, e in by_seq.items()}
    for seq, e in sorted(by_seq.items()):
        if seq == 1:
            if e.prev_hash != GENESIS_HASH and not e.edited:
                out.append(
                    (
                        1,
                        f"record 1 ({e.name}) was edited: its prev_hash "
                        f"{e.prev_hash[:12]} is not the genesis hash (64 zeros)",
                    )
                )
            continue
        prev = by_seq.get(seq - 1)
        if prev is None or e.prev_hash == prev.stored_hash or prev.edited or e.edited:
            continue
        target = later.get(e.prev_hash)
        if target is not None and target > seq:
            out.append(
                (
                    seq,
                    f"records {seq} and {target} are out of order: record {seq} is "
                    f"chained to record {target}, which comes after it",
                )
            )
        else:
            out.append(
                (
                    seq - 1,
                    (
                        f"record {seq - 1} ({prev.name}) was edited and re-hashed, or record "
                        f"{seq} was: record {seq}'s prev_hash {e.prev_hash[:12]} is not "
                        f"record {seq - 1}'s hash {prev.stored_hash[:12]}"
                    ),
                )
            )
    return out


def _head_problems(
    text: str | None, by_seq: dict[int, _Entry], present: set[int]
) -> list[tuple[int, str]]:
    """The head against the last stored record: a removed tail, a replaced last record."""
    last = max(present, default=0)
    if text is None:
        if not present:
            return []
        return [
            (
                last + 1,
                f"{HEAD_NAME} is missing: {len(present)} records are stored but "
                "nothing records the last append, so a removed tail cannot be "
                "ruled out",
            )
        ]
    try:
        head = AuditHead.parse(text)
    except ValueError as exc:
        return [(last + 1, f"{HEAD_NAME} is unreadable: {exc}")]
    when = head.time.strftime("%Y-%m-%d %H:%M:%S UTC")
    if head.seq > last:
        why = (
            f"{HEAD_NAME} records record {head.seq} as the last one, appended {when}; "
            f"the last stored record is {last or 'none'}"
        )
        return [(last + 1, _missing(last + 1, head.seq, why, " from the end of the trail"))]
    e = by_seq.get(head.seq)
    if e is not None and not e.edited and e.stored_hash != head.hash:
        return [
            (
                head.seq,
                (
                    f"record {head.seq} ({e.name}) was edited and re-hashed, or {HEAD_NAME} was: "
                    f"{HEAD_NAME} records hash {head.hash[:12]} for it, it has {e.stored_hash[:12]}"
                ),
            )
        ]
    return []


def verify_chain(entries: Sequence[StoredEntry] | Sequence[tuple[str, str]]) -> list[str]:
    """Every problem of a stored trail, one line each, in chain order; [] when intact.

    ``entries`` are a store's objects as ``AuditStore.entries()`` returns them (records by
    name, then ``HEAD``). Problems: a record that was edited (its content does not match its
    hash, or its successor or the head was chained to another version of it), removed (a gap
    in the numbers, or records missing at the end that ``HEAD`` says were appended), reordered
    (a record stored in another record's place, or chained to a later record), stored twice,
    or unreadable; and a missing or unreadable ``HEAD``.
    """
    problems: list[tuple[int, str]] = []
    readable: list[_Entry] = []
    present: set[int] = set()
    head_text: str | None = None
    for name, text in entries:
        if name == HEAD_NAME:
            head_text = text
            continue
        entry, problem = _read(name, text)
        slot = seq_of_name(name)
        if problem is not None:
            problems.append((entry.seq if entry else (slot or 0), problem))
        if entry is not None:
            readable.append(entry)
            present.add(entry.seq)
        elif slot is not None:
            present.add(slot)
    # a record file overwritten with a copy of another record still stored in its own place
    own = {e.seq for e in readable if not e.edited and seq_of_name(e.name) == e.seq}
    for e in list(readable):
        slot = seq_of_name(e.name)
        if not e.edited and slot is not None and slot != e.seq and e.seq in own:
            readable.remove(e)
            present.add(slot)
            problems.append(
                (
                    slot,
                    f"record {slot} is missing: {e.name} was overwritten with a copy of "
                    f"record {e.seq}",
                )
            )
    problems += _order_problems(readable)
    by_seq: dict[int, _Entry] = {}
    for e in sorted(readable, key=lambda e: (e.seq, seq_of_name(e.name) != e.seq)):
        if e.seq in by_seq:
            problems.append(
                (e.seq, f"record {e.seq} is stored twice: {by_seq[e.seq].name} and {e.name}")
            )
            continue
        by_seq[e.seq] = e
    numbers = sorted(present)
    expected = 1
    for n in numbers:
        if n > expected:
            why = (
                f"record {n} follows record {expected - 1}"
                if expected > 1
                else (f"record {n} is the first one stored")
            )
            problems.append((expected, _missing(expected, n - 1, why)))
        expected = max(expected, n + 1)
    problems += _link_problems(by_seq)
    problems += _head_problems(head_text, by_seq, present)
    return [line for _, line in sorted(problems, key=lambda p: p[0])]


@dataclass(frozen=True)
class ChainSummary:
    """What ``audit verify`` prints for an intact trail: ``count`` records from ``first`` to
    ``last`` (times, None when empty), ``head`` the last record's hash (None when empty)."""

    count: int
    first: datetime | None
    last: datetime | None
    head: str | None


def chain_summary(records: Sequence[AuditRecord]) -> ChainSummary:
    """The summary of ``records`` (any order)."""
    ordered = sorted(records, key=lambda r: r.seq)
    if not ordered:
        return ChainSummary(0, None, None, None)
    return ChainSummary(len(ordered), ordered[0].time, ordered[-1].time, ordered[-1].hash)
