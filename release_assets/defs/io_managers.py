"""Where release records live: `release_candidate`'s typed output, stored per release as
versioned JSON, loaded by every later step as a declared input (the IO manager) and read by
steps that need another release's record (``rollback``: the release it goes back to)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from release_assets.core.record import ReleaseRecord


class ReleaseRecordStore(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Records under the folder ``root``: ``<root>/<release>.json``, written atomically; a
    re-materialization of ``release_candidate`` replaces its release's file."""

    root: str

    def _path(self, release: str) -> Path:
        return Path(self.root) / f"{release}.json"

    def write(self, record: ReleaseRecord) -> None:
        """Store ``record`` under its release."""
        path = self._path(record.release)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(record.to_json())
        tmp.replace(path)

    def read(self, release: str) -> ReleaseRecord:
        """The record of ``release``; ``dg.Failure`` naming the release when it has none,
        ``RecordError`` when it cannot be read."""
        path = self._path(release)
        if not path.exists():
            raise dg.Failure(
                f"release {release} has no release record: materialize release_candidate "
                f"for {release} first"
            )
        return ReleaseRecord.from_json(path.read_text(), f"release {release}")


class ReleaseRecordIOManager(dg.ConfigurableIOManager):
    """Stores `release_candidate`'s output in ``store`` and loads it for downstream steps of
    the same release partition."""

    store: ReleaseRecordStore

    def handle_output(self, context: dg.OutputContext, obj: ReleaseRecord) -> None:
        if obj.release != context.partition_key:
            raise dg.Failure(
                f"record of release {obj.release} emitted for partition {context.partition_key}"
            )
        self.store.write(obj)

    def load_input(self, context: dg.InputContext) -> ReleaseRecord:
        return self.store.read(context.asset_partition_key)
