"""The audit trail's hash chain as an auditor checks it: a trail appended through the local
store verifies; an edited, a removed, a reordered record and a removed tail are each named by
`verify_chain`, one line per problem; concurrent appenders never leave a gap."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from release_assets.core.audit import GENESIS_HASH, AuditEvent, record_hash, verify_chain
from release_assets.runtimes.audit.local import LocalAuditStore
from release_assets.runtimes.audit.types import load_json_object
from release_assets.settings import CHECKOUT_ROOT


def _event(n: int) -> AuditEvent:
    return AuditEvent(
        action="step",
        outcome="passed",
        actor="ana@example.com",
        release="v2",
        step=f"step_{n}",
        environment="staging",
        commit="c0ffee" * 6 + "abcd",
        pull_requests=[41, 42],
        digest="sha256:" + "ab" * 32,
    )


@pytest.fixture
def store(tmp_path: Path) -> LocalAuditStore:
    trail = LocalAuditStore(root=str(tmp_path / "audit"))
    for n in range(1, 9):
        trail.append(_event(n))
    return trail


def _path(store: LocalAuditStore, seq: int) -> Path:
    return store.root_dir / f"{seq:08d}.json"


def _rewrite(path: Path, text: str) -> None:
    """Write a read-only record file as someone with write access to the folder could."""
    path.chmod(0o644)
    path.write_text(text)


def test_a_trail_of_appended_events_verifies_and_chains_each_record_to_the_one_before(
    store: LocalAuditStore,
) -> None:
    records = store.records()

    assert verify_chain(store.entries()) == []
    assert [r.seq for r in records] == list(range(1, 9))
    assert records[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    raw = load_json_object(_path(store, 3).read_text())
    assert record_hash(raw) == raw["hash"] == records[2].hash


def test_an_edited_outcome_names_that_record_as_edited(store: LocalAuditStore) -> None:
    path = _path(store, 7)
    _rewrite(path, path.read_text().replace('"outcome": "passed"', '"outcome": "failed"'))

    assert verify_chain(store.entries()) == [
        "record 7 (00000007.json) was edited: its content does not match its hash"
    ]


def test_an_edit_that_recomputes_the_hash_is_caught_by_the_next_record(
    store: LocalAuditStore,
) -> None:
    path = _path(store, 4)
    raw = load_json_object(path.read_text())
    raw["event"]["actor"] = "mallory@example.com"
    raw["hash"] = record_hash(raw)
    _rewrite(path, __import__("json").dumps(raw))

    (problem,) = verify_chain(store.entries())

    assert problem.startswith("record 4 (00000004.json) was edited and re-hashed, or record 5")


def test_a_deleted_middle_record_is_named_as_removed(store: LocalAuditStore) -> None:
    _path(store, 5).unlink()

    assert verify_chain(store.entries()) == [
        "record 5 is missing: 00000005.json was removed (record 6 follows record 4)"
    ]


def test_two_swapped_record_files_are_named_as_out_of_order(store: LocalAuditStore) -> None:
    five, six = _path(store, 5), _path(store, 6)
    five_text, six_text = five.read_text(), six.read_text()
    _rewrite(five, six_text)
    _rewrite(six, five_text)

    assert verify_chain(store.entries()) == [
        "records 5 and 6 are out of order: 00000005.json holds record 6, "
        "00000006.json holds record 5"
    ]


def test_a_deleted_last_record_is_named_as_a_removed_tail_through_head(
    store: LocalAuditStore,
) -> None:
    _path(store, 8).unlink()

    (problem,) = verify_chain(store.entries())

    assert problem.startswith(
        "record 8 is missing: 00000008.json was removed from the end of the trail "
        "(HEAD records record 8 as the last one, appended "
    )
    assert problem.endswith("; the last stored record is 7)")


def test_an_unreadable_record_and_a_missing_head_are_named(store: LocalAuditStore) -> None:
    _rewrite(_path(store, 2), '{"seq": 2, "time": ')
    (store.root_dir / "HEAD").unlink()

    assert verify_chain(store.entries()) == [
        "record 2 (00000002.json) is unreadable: not valid JSON "
        "(line 1, column 20: Expecting value)",
        "HEAD is missing: 8 records are stored but nothing records the last append, so a "
        "removed tail cannot be ruled out",
    ]


def test_each_tamper_kind_is_named_once_when_they_come_together(store: LocalAuditStore) -> None:
    _rewrite(_path(store, 2), _path(store, 2).read_text().replace("step_2", "step_x"))
    _path(store, 4).unlink()
    six, seven = _path(store, 6), _path(store, 7)
    six_text, seven_text = six.read_text(), seven.read_text()
    _rewrite(six, seven_text)
    _rewrite(seven, six_text)

    problems = verify_chain(store.entries())

    assert [p.split(":")[0] for p in problems] == [
        "record 2 (00000002.json) was edited",
        "record 4 is missing",
        "records 6 and 7 are out of order",
    ]


_CHILD = """
import sys, time
from pathlib import Path
from release_assets.core.audit import AuditEvent
from release_assets.runtimes.audit.local import LocalAuditStore
root, count, name = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
store = LocalAuditStore(root=str(root / "audit"))
(root / f"ready-{name}").touch()
while not (root / "go").exists():
    time.sleep(0.01)
for n in range(count):
    store.append(AuditEvent(action="step", outcome="passed", actor=f"process {name}",
                            step=f"{name}-{n}"))
"""


def _wait_for(paths: list[Path], children: list[subprocess.Popen[bytes]]) -> None:
    """Until every path exists (each child imported and ready); fails if a child exits."""
    while not all(p.exists() for p in paths):
        assert all(c.poll() is None for c in children), "an appender process ended early"
        threading.Event().wait(0.02)


def test_fifty_appends_from_four_threads_and_two_processes_leave_no_gap(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(CHECKOUT_ROOT)}
    children = [
        subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path), "9", str(i)], env=env)
        for i in (1, 2)
    ]
    store = LocalAuditStore(root=str(tmp_path / "audit"))
    _wait_for([tmp_path / "ready-1", tmp_path / "ready-2"], children)

    def appender(thread: int) -> None:
        for n in range(8):
            store.append(_event(thread * 100 + n))

    threads = [threading.Thread(target=appender, args=(t,)) for t in range(4)]
    (tmp_path / "go").touch()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [c.wait(timeout=120) for c in children] == [0, 0]

    records = store.records()
    assert [r.seq for r in records] == list(range(1, 51))
    assert verify_chain(store.entries()) == []
    assert sum(r.event.actor.startswith("process") for r in records) == 18
