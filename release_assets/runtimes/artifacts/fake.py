"""An in-memory artifact store for the fast test layer.

``FakeArtifactStore`` keeps each release's bundle as ``{path: bytes}`` with its manifest and
verifies every digest on read, like ``LocalArtifactStore``. Dagster copies resource instances, so
the bundles are not kept on the resource: they live in a module-level registry keyed by
``(world, name)`` (``store_state``), dropped with ``drop_world(world)``. Two resources with the
same world and name are the same store; a different ``name`` is a separate store (an
environment with its own store, to which releases are promoted).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from release_assets.runtimes.artifacts.base import (
    ArtifactIntegrityError,
    ArtifactStore,
    BundleManifest,
)
from release_assets.runtimes.artifacts.types import refuse_other_content


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FakeArtifactState:
    """The bundles of one store: ``manifests`` (release -> manifest as stored) and ``files``
    (release -> bundle-relative path -> bytes, what a read returns after verification)."""

    world: str
    name: str
    manifests: dict[str, BundleManifest] = field(default_factory=dict)
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def tamper(self, release: str, path: str, content: bytes = b"# altered\n") -> None:
        """Replace the stored bytes of one file without touching its manifest (what an
        altered or corrupted object looks like). Raises KeyError for an unknown file."""
        if path not in self.files[release]:
            raise KeyError(f"release {release} has no stored file {path}")
        self.files[release][path] = content

    def lose(self, release: str, path: str) -> None:
        """Delete the stored bytes of one file, keeping the manifest that lists it."""
        del self.files[release][path]


_WORLDS: dict[tuple[str, str], FakeArtifactState] = {}


def store_state(world: str, name: str) -> FakeArtifactState:
    """The state of store ``name`` in ``world`` (empty at first)."""
    key = (world, name)
    if key not in _WORLDS:
        _WORLDS[key] = FakeArtifactState(world, name)
    return _WORLDS[key]


def drop_world(world: str) -> None:
    """Forget every store of ``world``."""
    for key in [k for k in _WORLDS if k[0] == world]:
        del _WORLDS[key]


class FakeArtifactStore(ArtifactStore):
    """The store ``name`` of the test world ``world``, in memory.

    Errors, as ``LocalArtifactStore`` raises them: ``ArtifactConflict`` for different content
    under a stored release id; ``FileNotFoundError`` for a release with no bundle or a file the
    bundle does not have; ``ArtifactIntegrityError`` (naming the release and file) for a stored
    file that is missing or does not match its digest.
    """

    world: str
    name: str = "artifacts"

    @property
    def state(self) -> FakeArtifactState:
        """This store's bundles (shared by every copy of the resource)."""
        return store_state(self.world, self.name)

    def put_files(self, release_id: str, files: Mapping[str, bytes]) -> BundleManifest:
        """Store ``files`` (bundle-relative path -> bytes) as the release's bundle, with the
        same rules as ``put_bundle``."""
        manifest = BundleManifest(release_id, {p: _sha256(files[p]) for p in sorted(files)})
        state = self.state
        existing = state.manifests.get(release_id)
        if existing is not None:
            return refuse_other_content(existing, manifest)
        state.files[release_id] = dict(files)
        state.manifests[release_id] = manifest
        return manifest

    def put_bundle(self, release_id: str, source_dir: Path) -> BundleManifest:
        manifest = BundleManifest.of_directory(release_id, source_dir)
        return self.put_files(
            release_id, {p: (source_dir / p).read_bytes() for p in manifest.files}
        )

    def manifest(self, release_id: str) -> BundleManifest | None:
        return self.state.manifests.get(release_id)

    def _require(self, release_id: str) -> BundleManifest:
        manifest = self.manifest(release_id)
        if manifest is None:
            raise FileNotFoundError(f"no bundle stored for release {release_id}")
        return manifest

    def _verified(self, release_id: str, rel: str, digest: str) -> bytes:
        data = self.state.files.get(release_id, {}).get(rel)
        if data is None or _sha256(data) != digest:
            raise ArtifactIntegrityError(
                f"release {release_id}: stored file {rel} is missing or was altered "
                f"(expected sha256 {digest[:12]}); the bundle cannot be trusted"
            )
        return data

    def read_file(self, release_id: str, rel_path: str) -> bytes:
        manifest = self._require(release_id)
        if rel_path not in manifest.files:
            raise FileNotFoundError(f"release {release_id} has no file {rel_path}")
        return self._verified(release_id, rel_path, manifest.files[rel_path])

    def fetch_bundle(self, release_id: str, dest_dir: Path) -> BundleManifest:
        manifest = self._require(release_id)
        for rel, digest in manifest.files.items():
            data = self._verified(release_id, rel, digest)
            target = dest_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return manifest
