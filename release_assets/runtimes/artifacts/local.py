"""A local folder as the artifact store: ``blobs/<sha256>`` plus ``releases/<id>.json``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from release_assets.runtimes.artifacts.base import (
    ArtifactIntegrityError,
    ArtifactStore,
    BundleManifest,
    sha256_file,
)
from release_assets.runtimes.artifacts.types import refuse_other_content


class LocalArtifactStore(ArtifactStore):
    """Bundles under the folder ``root``: ``blobs/<sha256>`` (read-only files, shared by
    releases) and ``releases/<id>.json`` (each release's manifest)."""

    root: str

    @classmethod
    def at(cls, root: Path) -> LocalArtifactStore:
        """The store in folder ``root`` (created on first write)."""
        return cls(root=str(root))

    @property
    def root_dir(self) -> Path:
        """The store's folder."""
        return Path(self.root)

    def _blob(self, digest: str) -> Path:
        return self.root_dir / "blobs" / digest[:2] / digest

    def _manifest_path(self, release_id: str) -> Path:
        return self.root_dir / "releases" / f"{release_id}.json"

    def put_bundle(self, release_id: str, source_dir: Path) -> BundleManifest:
        manifest = BundleManifest.of_directory(release_id, source_dir)
        existing = self.manifest(release_id)
        if existing is not None:
            return refuse_other_content(existing, manifest)
        for rel, digest in manifest.files.items():
            blob = self._blob(digest)
            if blob.exists():
                continue
            blob.parent.mkdir(parents=True, exist_ok=True)
            tmp = blob.with_name(f".{digest}.{os.getpid()}")
            shutil.copyfile(source_dir / rel, tmp)
            tmp.chmod(0o444)
            tmp.replace(blob)
        path = self._manifest_path(release_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(manifest.to_json())
        tmp.chmod(0o444)
        tmp.replace(path)
        return manifest

    def manifest(self, release_id: str) -> BundleManifest | None:
        path = self._manifest_path(release_id)
        if not path.exists():
            return None
        return BundleManifest.from_json(path.read_text())

    def _verified_blob(self, release_id: str, rel: str, digest: str) -> Path:
        blob = self._blob(digest)
        if not blob.exists() or sha256_file(blob) != digest:
            raise ArtifactIntegrityError(
                f"release {release_id}: stored file {rel} is missing or was altered "
                f"(expected sha256 {digest[:12]}); the bundle cannot be trusted"
            )
        return blob

    def _require(self, release_id: str) -> BundleManifest:
        manifest = self.manifest(release_id)
        if manifest is None:
            raise FileNotFoundError(f"no bundle stored for release {release_id}")
        return manifest

    def read_file(self, release_id: str, rel_path: str) -> bytes:
        manifest = self._require(release_id)
        if rel_path not in manifest.files:
            raise FileNotFoundError(f"release {release_id} has no file {rel_path}")
        return self._verified_blob(release_id, rel_path, manifest.files[rel_path]).read_bytes()

    def fetch_bundle(self, release_id: str, dest_dir: Path) -> BundleManifest:
        manifest = self._require(release_id)
        for rel, digest in manifest.files.items():
            blob = self._verified_blob(release_id, rel, digest)
            target = dest_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(blob, target)
        return manifest
