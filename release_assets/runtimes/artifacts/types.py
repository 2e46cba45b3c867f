"""Immutable, content-addressed release bundles: manifests, digests and errors (no Dagster)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path


class ArtifactError(RuntimeError):
    """Base class of artifact store errors."""


class ArtifactConflict(ArtifactError):
    """A release id already holds a bundle with different content."""


class ArtifactIntegrityError(ArtifactError):
    """A stored file no longer matches the digest its manifest recorded."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class BundleManifest:
    """Every file of a bundle with its sha256, and one digest over all of them."""

    release_id: str
    files: dict[str, str]

    @property
    def digest(self) -> str:
        lines = "".join(f"{digest}  {path}\n" for path, digest in sorted(self.files.items()))
        return hashlib.sha256(lines.encode()).hexdigest()

    def to_json(self) -> str:
        body = {"release_id": self.release_id, "digest": self.digest, "files": self.files}
        return json.dumps(body, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> BundleManifest:
        data = json.loads(text)
        manifest = cls(data["release_id"], dict(data["files"]))
        if manifest.digest != data["digest"]:
            raise ArtifactIntegrityError(
                f"manifest of release {manifest.release_id} does not match its own digest"
            )
        return manifest

    @classmethod
    def of_directory(cls, release_id: str, root: Path) -> BundleManifest:
        files = {
            str(path.relative_to(root)): sha256_file(path)
            for path in sorted(root.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts
        }
        return cls(release_id, files)


def refuse_other_content(existing: BundleManifest, new: BundleManifest) -> BundleManifest:
    """The stored manifest when ``new`` has the same content; ArtifactConflict naming both
    digests when a release id would be reused for different content (releases are immutable)."""
    if existing.digest != new.digest:
        raise ArtifactConflict(
            f"release {new.release_id} already has bundle {existing.digest[:12]}; refusing "
            f"different content {new.digest[:12]} under the same release id "
            "(tag a new release instead)"
        )
    return existing
