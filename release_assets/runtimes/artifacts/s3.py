"""An S3 bucket with versioning and object lock as the artifact store.

Layout under ``s3://<bucket>/<prefix>/``: ``blobs/<sha256[:2]>/<sha256>`` (each file's bytes,
shared by every release carrying that content) and ``manifests/<release id>.json`` (the
release's ``BundleManifest``, the same JSON as the local store's). Every object is written once
and locked for the retention (``release_assets.runtimes.s3_objects``): a published release
cannot be altered or deleted during retention.

Which version is read: a manifest is read from its key's original version (the first, by
version id, from ``ListObjectVersions``), and refused when the key was overwritten or deleted
since, so a re-written manifest with a consistent digest is never taken. A blob's key is its
sha256, so the digest is the pin: the blob is read once and refused unless its bytes hash to
the digest the manifest recorded (its history is read only to say what happened).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from dagster_aws.s3 import S3Resource
from pydantic import Field

from release_assets.config.s3_specs import S3ArtifactStoreSpec
from release_assets.runtimes.artifacts.base import (
    ArtifactError,
    ArtifactIntegrityError,
    ArtifactStore,
    BundleManifest,
)
from release_assets.runtimes.artifacts.types import refuse_other_content
from release_assets.runtimes.aws import error_code
from release_assets.runtimes.s3_objects import (
    KeyHistory,
    ObjectLock,
    RetentionMode,
    aws_failures,
    bucket_problems,
    check_bucket_once,
    client_of,
    create_locked_bucket,
    endpoint_of,
    in_threads,
    join_key,
    key_history,
    put_once,
    read_version,
    s3_resource,
)


class S3ArtifactStore(ArtifactStore):
    """Release bundles in ``s3://<bucket>/<prefix>/`` (see the module docstring).

    ``s3``: dagster-aws's S3Resource (how the bucket is reached); ``retention_mode``
    (COMPLIANCE or GOVERNANCE) and ``retention_days``: the object lock each object is written
    with; ``environment``: the environment owning the store (None: the deployment's store,
    where bundles are built), named in every message with ``name``.

    Errors: ``ArtifactConflict`` (different content for a stored release id);
    ``ArtifactIntegrityError`` naming the release, the file and ``s3://bucket/key`` (an object
    missing, overwritten, deleted or not matching its digest); ``ArtifactError`` with one line
    naming the environment, the store and the endpoint for a failed AWS call (unreachable,
    credentials rejected, a bucket without versioning or lock...); ``FileNotFoundError`` for a
    release with no bundle or a file the bundle does not have.
    """

    s3: S3Resource
    bucket: str
    prefix: str = "releases"
    retention_mode: RetentionMode = "COMPLIANCE"
    retention_days: int = Field(ge=1)
    environment: str | None = None
    name: str = "artifact store"

    @classmethod
    def of(cls, spec: S3ArtifactStoreSpec, environment: str | None = None) -> S3ArtifactStore:
        """The store a deployment file's ``artifact_store`` block of kind ``s3`` describes;
        ``environment`` the environment whose own store it is (None: the deployment's)."""
        return cls(
            s3=s3_resource(spec.aws),
            bucket=spec.bucket,
            prefix=spec.prefix,
            retention_mode=spec.object_lock.mode,
            retention_days=spec.object_lock.retention_days,
            environment=environment,
        )

    @property
    def location(self) -> str:
        """``s3://bucket/prefix``."""
        return f"s3://{join_key(self.bucket, self.prefix)}"

    @property
    def label(self) -> str:
        """The store as messages name it: ``environment prod: artifact store s3://...``."""
        owner = f"environment {self.environment}" if self.environment else "deployment"
        return f"{owner}: {self.name} {self.location}"

    @property
    def lock(self) -> ObjectLock:
        """The retention every object is written with."""
        return ObjectLock(self.retention_mode, self.retention_days)

    def _s3(self) -> Any:
        return client_of(self.s3)

    def _failures(self) -> Any:
        return aws_failures(self.label, endpoint_of(self.s3), ArtifactError)

    def _blob_key(self, digest: str) -> str:
        return join_key(self.prefix, "blobs", digest[:2], digest)

    def _manifest_key(self, release_id: str) -> str:
        return join_key(self.prefix, "manifests", f"{release_id}.json")

    def _url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    # -- the bucket --------------------------------------------------------------------

    def verify_bucket(self) -> None:
        """Check that the bucket has versioning and object lock enabled, with this store's
        retention as its default. Raises ArtifactError naming the store and the bucket, and
        every problem found (or the AWS failure)."""
        with self._failures():
            problems = bucket_problems(self._s3(), self.bucket, self.lock)
        if problems:
            raise ArtifactError(
                f"{self.label}: bucket {self.bucket} cannot keep releases immutable: "
                f"{'; '.join(problems)}; create it with object lock "
                f"(`aws s3api create-bucket --object-lock-enabled-for-bucket`) and set default "
                f"retention {self.retention_mode} {self.retention_days} days"
            )

    def ensure_bucket(self) -> None:
        """Create the bucket with object lock and this store's default retention if it does
        not exist (local profiles, tests), then ``verify_bucket``."""
        with self._failures():
            create_locked_bucket(self._s3(), self.bucket, self.s3.region_name, self.lock)
        self.verify_bucket()

    # -- writing -------------------------------------------------------------------------

    def put_bundle(self, release_id: str, source_dir: Path) -> BundleManifest:
        manifest = BundleManifest.of_directory(release_id, source_dir)
        check_bucket_once(self.s3, self.bucket, self.lock, self.verify_bucket)
        existing = self.manifest(release_id)
        if existing is not None:
            return refuse_other_content(existing, manifest)
        client = self._s3()
        paths = {digest: rel for rel, digest in sorted(manifest.files.items())}

        def put_blob(digest: str) -> str | None:
            body = (source_dir / paths[digest]).read_bytes()
            return put_once(client, self.bucket, self._blob_key(digest), body, self.lock)

        with self._failures():
            # a blob already stored (by any release) answers 412 and is not written again
            in_threads(put_blob, paths)
            key = self._manifest_key(release_id)
            written = put_once(client, self.bucket, key, manifest.to_json().encode(), self.lock)
        if written is None:  # another writer stored this release meanwhile
            stored = self.manifest(release_id)
            if stored is None:
                raise ArtifactIntegrityError(
                    f"{self.label}: release {release_id}'s manifest {self._url(key)} exists "
                    "but cannot be read back"
                )
            return refuse_other_content(stored, manifest)
        return manifest

    # -- reading -------------------------------------------------------------------------

    def _refuse_tampered(self, history: KeyHistory, release_id: str, what: str) -> str:
        """The version to read of ``history``'s key; ArtifactIntegrityError when it is
        missing, overwritten or deleted."""
        where = self._url(history.key)
        if history.tampering is not None:
            raise ArtifactIntegrityError(
                f"{self.label}: release {release_id}: {what} {where} {history.tampering}; "
                "the bundle cannot be trusted"
            )
        if history.original is None:
            raise ArtifactIntegrityError(
                f"{self.label}: release {release_id}: {what} {where} is missing; "
                "the bundle cannot be trusted"
            )
        return history.original

    def manifest(self, release_id: str) -> BundleManifest | None:
        key = self._manifest_key(release_id)
        with self._failures():
            history = key_history(self._s3(), self.bucket, key)
            if not history.exists:
                return None
            version = self._refuse_tampered(history, release_id, "manifest")
            text = read_version(self._s3(), self.bucket, key, version).decode()
        try:
            manifest = BundleManifest.from_json(text)
        except (ArtifactIntegrityError, ValueError, KeyError, TypeError) as exc:
            raise ArtifactIntegrityError(
                f"{self.label}: release {release_id}: manifest {self._url(key)} is unreadable "
                f"or altered ({exc})"
            ) from None
        if manifest.release_id != release_id:
            raise ArtifactIntegrityError(
                f"{self.label}: manifest {self._url(key)} is release {manifest.release_id}'s, "
                f"not {release_id}'s; the bundle cannot be trusted"
            )
        return manifest

    def _require(self, release_id: str) -> BundleManifest:
        manifest = self.manifest(release_id)
        if manifest is None:
            raise FileNotFoundError(f"{self.label}: no bundle stored for release {release_id}")
        return manifest

    def _blob(self, client: Any, key: str) -> bytes | None:
        """The latest version of blob ``key``; None when there is none (deleted, missing)."""
        try:
            return bytes(client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except Exception as exc:
            if error_code(exc) in {"NoSuchKey", "404"}:
                return None
            raise

    def _verified(self, release_id: str, files: dict[str, str]) -> dict[str, bytes]:
        """The bytes of ``files`` (bundle path -> sha256), each checked against its digest.

        A blob's key is its digest, so the digest pins the content written: a blob is read
        once (its latest version) and refused unless it hashes to its key; the key's history
        (``ListObjectVersions``) is read only to say what happened to a refused one.
        """
        client = self._s3()
        keys = {rel: self._blob_key(digest) for rel, digest in files.items()}
        with self._failures():
            bodies = in_threads(lambda key: self._blob(client, key), keys.values())
        out: dict[str, bytes] = {}
        for (rel, digest), data in zip(files.items(), bodies, strict=True):
            actual = hashlib.sha256(data).hexdigest() if data is not None else None
            if actual == digest and data is not None:
                out[rel] = data
                continue
            with self._failures():
                history = key_history(client, self.bucket, keys[rel])
            what = f"stored file {rel} ({self._url(keys[rel])})"
            if data is None:
                why = history.tampering or "is missing"
            else:
                why = f"was altered: sha256 {(actual or '')[:12]}, expected {digest[:12]}"
                if history.tampering:
                    why = f"{history.tampering} and {why}"
            raise ArtifactIntegrityError(
                f"{self.label}: release {release_id}: {what} {why}; the bundle cannot be trusted"
            )
        return out

    def read_file(self, release_id: str, rel_path: str) -> bytes:
        manifest = self._require(release_id)
        if rel_path not in manifest.files:
            raise FileNotFoundError(f"{self.label}: release {release_id} has no file {rel_path}")
        return self._verified(release_id, {rel_path: manifest.files[rel_path]})[rel_path]

    def fetch_bundle(self, release_id: str, dest_dir: Path) -> BundleManifest:
        manifest = self._require(release_id)
        for rel, data in self._verified(release_id, dict(manifest.files)).items():
            target = dest_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return manifest
