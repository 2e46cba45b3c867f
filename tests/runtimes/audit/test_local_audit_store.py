"""The local audit store on disk: each record a read-only file, an existing file never
overwritten, HEAD kept beside the records, and a held append lock waited for a bounded time
with a message naming the lock file."""

from __future__ import annotations

import fcntl
import stat
from pathlib import Path

import pytest

from release_assets.core.audit import AuditEvent, verify_chain
from release_assets.runtimes.audit.fake import FakeAuditStore, drop_world
from release_assets.runtimes.audit.local import LocalAuditStore
from release_assets.runtimes.audit.types import AuditError, AuditHead

EVENT = AuditEvent(action="switch", outcome="live", actor="ana@example.com", release="v2")


def test_each_record_is_a_read_only_file_and_head_names_the_last(tmp_path: Path) -> None:
    store = LocalAuditStore(root=str(tmp_path / "audit"))
    first, second = store.append(EVENT), store.append(EVENT)

    files = sorted(p.name for p in store.root_dir.iterdir() if not p.name.startswith("."))
    assert files == ["00000001.json", "00000002.json", "HEAD"]
    for name in ("00000001.json", "00000002.json"):
        assert stat.S_IMODE((store.root_dir / name).stat().st_mode) == 0o444
    head = AuditHead.parse((store.root_dir / "HEAD").read_text())
    assert (head.seq, head.hash) == (2, second.hash)
    assert second.prev_hash == first.hash
    assert store.location == str(tmp_path / "audit")


def test_append_never_overwrites_a_record_file_already_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalAuditStore(root=str(tmp_path / "audit"))
    store.append(EVENT)
    # Another writer created record 2 after this appender read the trail's end.
    second = store.root_dir / "00000002.json"
    second.write_text("written by someone else\n")
    monkeypatch.setattr(LocalAuditStore, "_last_stored", lambda self: self.entries()[0])
    monkeypatch.setattr(LocalAuditStore, "_head", lambda self: None)

    with pytest.raises(AuditError) as raised:
        store.append(EVENT)

    assert str(raised.value) == (
        f"cannot append record 2 to the audit trail at {store.root_dir}: 00000002.json "
        "already exists and is never overwritten; run `release-assets audit verify`"
    )
    assert second.read_text() == "written by someone else\n"


def test_append_refuses_when_the_last_record_is_unreadable(tmp_path: Path) -> None:
    store = LocalAuditStore(root=str(tmp_path / "audit"))
    store.append(EVENT)
    last = store.root_dir / "00000001.json"
    last.chmod(0o644)
    last.write_text("")

    with pytest.raises(AuditError, match=r"its last record 00000001.json is unreadable \(it is"):
        store.append(EVENT)

    assert last.read_text() == ""
    assert not (store.root_dir / "00000002.json").exists()


def test_append_refuses_to_hide_a_removed_tail(tmp_path: Path) -> None:
    store = LocalAuditStore(root=str(tmp_path / "audit"))
    for _ in range(3):
        store.append(EVENT)
    (store.root_dir / "00000003.json").unlink()

    with pytest.raises(AuditError) as raised:
        store.append(EVENT)

    assert "HEAD records record 3 as the last one appended, but the last stored record is 2" in (
        str(raised.value)
    )
    assert not (store.root_dir / "00000003.json").exists()


def test_a_held_append_lock_is_waited_for_a_bounded_time(tmp_path: Path) -> None:
    store = LocalAuditStore(root=str(tmp_path / "audit"), lock_timeout_s=1.0)
    store.root_dir.mkdir()
    lock = store.root_dir / ".lock"
    with lock.open("a+") as holder:  # another process stuck while appending
        fcntl.flock(holder, fcntl.LOCK_EX)

        with pytest.raises(AuditError) as raised:
            store.append(EVENT)

    assert str(raised.value) == (
        f"waited 1s for the audit trail's append lock {lock}; another process holds it; "
        "retry when it has finished"
    )
    assert store.entries() == []
    assert store.append(EVENT).seq == 1  # released: appends again


def test_the_fake_store_chains_and_is_tampered_like_the_local_one() -> None:
    store = FakeAuditStore(world="fake-store-test")
    try:
        for _ in range(4):
            store.append(EVENT)
        assert verify_chain(store.entries()) == []
        store.state.edit(2, '"live"', '"failed"')
        store.state.swap(3, 4)

        assert verify_chain(store.entries()) == [
            "record 2 (00000002.json) was edited: its content does not match its hash",
            "records 3 and 4 are out of order: 00000003.json holds record 4, "
            "00000004.json holds record 3",
        ]
        assert FakeAuditStore(world="fake-store-test").records()[1].event.outcome == "failed"
    finally:
        drop_world("fake-store-test")


def test_a_record_that_is_not_text_is_named_unreadable_with_the_reason(tmp_path: Path) -> None:
    store = LocalAuditStore(root=str(tmp_path / "audit"))
    store.append(EVENT)
    record = store.root_dir / "00000001.json"
    record.chmod(0o644)
    record.write_bytes(b"\xff\xfe binary")

    assert verify_chain(store.entries()) == [
        "record 1 (00000001.json) is unreadable: it is not UTF-8 text (byte 0: invalid start byte)"
    ]
    with pytest.raises(AuditError, match=r"audit record 00000001.json in .* is unreadable"):
        store.records()
