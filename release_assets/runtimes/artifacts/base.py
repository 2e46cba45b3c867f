"""The interface of the store that keeps immutable release bundles."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import dagster as dg

from release_assets.runtimes.artifacts.types import (
    ArtifactConflict,
    ArtifactError,
    ArtifactIntegrityError,
    BundleManifest,
    sha256_file,
)

__all__ = [
    "ArtifactConflict",
    "ArtifactError",
    "ArtifactIntegrityError",
    "ArtifactStore",
    "BundleManifest",
    "sha256_file",
]


class ArtifactStore(dg.ConfigurableResource, ABC):  # type: ignore[type-arg]
    """Keeps one immutable bundle per release (a Dagster resource chosen by the deployment
    configuration; tests bind ``release_assets.runtimes.artifacts.fake.FakeArtifactStore``)."""

    @abstractmethod
    def put_bundle(self, release_id: str, source_dir: Path) -> BundleManifest:
        """Store a directory as the release's bundle.

        Idempotent for identical content; raises ArtifactConflict for different content.
        """

    @abstractmethod
    def manifest(self, release_id: str) -> BundleManifest | None:
        """The release's manifest, or None if nothing is stored for it."""

    @abstractmethod
    def read_file(self, release_id: str, rel_path: str) -> bytes:
        """One file of the release's bundle, verified against its digest."""

    @abstractmethod
    def fetch_bundle(self, release_id: str, dest_dir: Path) -> BundleManifest:
        """Write the bundle's files under ``dest_dir``, verifying every digest."""
