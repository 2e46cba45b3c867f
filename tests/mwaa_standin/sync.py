"""MWAA's DAGs sync as the stand-in plays it: the S3 DAGs prefix copied to a worker's DAGs
folder file by file, in random order (MWAA gives no order), every ``interval_s`` seconds.

Only files this syncer wrote are ever deleted (when their object is gone); each file is
written whole (temp file + rename), as a worker's copy of one object is.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
from pathlib import Path
from typing import Any


class DagsSync:
    """Copies ``s3://bucket/prefix/`` into ``folder``. ``per_file_delay_s`` stretches a pass
    so that a switch lands while it copies; ``seed`` fixes the random order (tests)."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        prefix: str,
        folder: Path,
        interval_s: float = 2.0,
        per_file_delay_s: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.s3, self.bucket, self.prefix, self.folder = s3, bucket, prefix.strip("/"), folder
        self.interval_s = interval_s
        self.per_file_delay_s = per_file_delay_s
        self._random = random.Random(seed)
        self._copied: dict[str, str] = {}  # relative path -> ETag copied
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0

    def pending(self) -> list[str]:
        """Relative paths whose S3 object differs from (or is missing in) the folder, in the
        random order they will be copied."""
        changed = [rel for rel, etag in self._listing().items() if self._copied.get(rel) != etag]
        self._random.shuffle(changed)
        return changed

    def _listing(self) -> dict[str, str]:
        found: dict[str, str] = {}
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/"
        )
        for page in pages:
            for obj in page.get("Contents", []):
                found[obj["Key"][len(self.prefix) + 1 :]] = obj["ETag"]
        return found

    def copy(self, rel: str) -> None:
        """Copy one object to the folder (whole: temp file + rename)."""
        answer = self.s3.get_object(Bucket=self.bucket, Key=f"{self.prefix}/{rel}")
        target = self.folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.sync")
        tmp.write_bytes(answer["Body"].read())
        os.replace(tmp, target)
        self._copied[rel] = answer["ETag"]

    def sync_once(self) -> int:
        """One pass: copy every changed object one by one, delete files whose object is gone;
        returns how many files changed."""
        listing = self._listing()
        todo = self.pending()
        for rel in todo:
            if self._stop.is_set():
                break
            self.copy(rel)
            if self.per_file_delay_s:
                self._stop.wait(self.per_file_delay_s)
        gone = [rel for rel in self._copied if rel not in listing]
        for rel in gone:
            (self.folder / rel).unlink(missing_ok=True)
            del self._copied[rel]
        self.passes += 1
        return len(todo) + len(gone)

    def _loop(self) -> None:
        while not self._stop.is_set():
            # A failed pass (S3 briefly unreachable) is retried on the next one, as MWAA does.
            with contextlib.suppress(Exception):
                self.sync_once()
            self._stop.wait(self.interval_s)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="mwaa-dags-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
