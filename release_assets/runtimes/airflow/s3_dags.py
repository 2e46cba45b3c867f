"""Releases under an S3 DAGs prefix (MWAA's ``DagS3Path``), switched by one pointer object.

MWAA copies the prefix to its workers about every 30 s, file by file, in no guaranteed order,
so a switch cannot rely on files arriving together. The layout under ``s3://bucket/<prefix>/``:

- ``release_loader.py``: the release loader (``in_airflow/release_loader.py``), the only DAG
  file Airflow scans; ``.airflowignore`` keeps ``releases/`` and ``canaries/`` out of the scan;
- ``releases/<id>/...``: a release's bundle, never changed once published, and
  ``releases/<id>.manifest.json`` (``{"release", "files": {path: {"sha256", "size"}}}``),
  uploaded after every file it lists;
- ``current.json``: the live pointer (``{"release", "manifest_sha256", "previous",
  "previous_manifest_sha256"}``), ONE small object written last by :meth:`S3DagsPrefix.activate`.

The loader on a worker loads the pointed release only when its manifest and every listed file
have arrived with the right size and sha256 and its folder holds nothing else (no file added
after publishing, no ``.pyc``), else the previous release the pointer names
(``in_airflow/release_loader.py``, pointer mode). Every upload carries its SHA-256
(``ChecksumSHA256``: S3 refuses a body that does not match it) and the digest S3 reports back is
compared with the bundle's.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from release_assets.runtimes.airflow.in_airflow import RELEASE_LOADER
from release_assets.runtimes.airflow.types import AirflowError
from release_assets.runtimes.aws import AwsRuntimeError, describe_aws_error, error_code

LOADER_KEY = "release_loader.py"
IGNORE_KEY = ".airflowignore"
POINTER_KEY = "current.json"
IGNORE_TEXT = (
    "# release_assets: only release_loader.py loads DAGs; releases are never scanned directly\n"
    "^(releases|canaries)(/|$)\n"
)
_SKIPPED_DIRS = {"__pycache__"}
_SKIPPED_SUFFIXES = {".pyc"}


class DagsPrefixError(AirflowError):
    """A release cannot be published or switched under the DAGs prefix; the message names the
    environment, the S3 location and what to do (an AirflowError: a step fails with this one
    line)."""


class ReleaseTampered(DagsPrefixError):
    """An object under the DAGs prefix differs from the release's manifest."""


def sha256_b64(data: bytes) -> str:
    """The base64 SHA-256 S3 uses for ``ChecksumSHA256``."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def bundle_manifest(release_id: str, bundle_dir: Path) -> dict[str, Any]:
    """``{"release": id, "files": {posix path: {"sha256": hex, "size": bytes}}}`` of every
    file of ``bundle_dir`` (``__pycache__`` and ``.pyc`` left out), sorted by path."""
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in bundle_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(bundle_dir)
        if set(rel.parts) & _SKIPPED_DIRS or rel.suffix in _SKIPPED_SUFFIXES:
            continue
        data = path.read_bytes()
        files[rel.as_posix()] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    return {"release": release_id, "files": files}


def _encode(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()


@dataclass(frozen=True)
class S3DagsPrefix:
    """The DAGs prefix of one environment: ``s3`` a boto3 S3 client, ``bucket``/``prefix`` the
    location, ``what`` names the environment and resource in messages (``"staging MWAA
    environment 'northstar-staging'"``), ``where`` the endpoint (``AwsClients.where``)."""

    s3: Any
    bucket: str
    prefix: str
    what: str
    where: str

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}/"

    def key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}"

    def _fail(self, exc: Exception, doing: str) -> AwsRuntimeError:
        return AwsRuntimeError(describe_aws_error(exc, f"{self.what} ({doing})", self.where))

    def _head(self, rel: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self.s3.head_object(
                Bucket=self.bucket, Key=self.key(rel), ChecksumMode="ENABLED"
            )
        except Exception as exc:
            if error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise self._fail(exc, f"reading s3://{self.bucket}/{self.key(rel)}") from None
        return head

    def read(self, rel: str) -> bytes | None:
        """The object's body, None if it does not exist."""
        try:
            body: bytes = self.s3.get_object(Bucket=self.bucket, Key=self.key(rel))["Body"].read()
        except Exception as exc:
            if error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise self._fail(exc, f"reading s3://{self.bucket}/{self.key(rel)}") from None
        return body

    def put(self, rel: str, data: bytes) -> None:
        """Upload ``data`` with its SHA-256; raises ReleaseTampered when S3 reports another
        digest, AwsRuntimeError when the upload fails (S3 refuses a body that does not match
        its checksum: ``BadDigest``)."""
        digest = sha256_b64(data)
        try:
            answer = self.s3.put_object(
                Bucket=self.bucket,
                Key=self.key(rel),
                Body=data,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=digest,
            )
        except Exception as exc:
            raise self._fail(exc, f"uploading s3://{self.bucket}/{self.key(rel)}") from None
        if answer.get("ChecksumSHA256") not in (None, digest):
            raise ReleaseTampered(
                f"{self.what}: S3 stored s3://{self.bucket}/{self.key(rel)} with SHA-256 "
                f"{answer['ChecksumSHA256']}, not the uploaded {digest}; publish again"
            )

    def _put_if_changed(self, rel: str, data: bytes) -> bool:
        head = self._head(rel)
        if head is not None and head.get("ChecksumSHA256") == sha256_b64(data):
            return False
        self.put(rel, data)
        return True

    def install_loader(self, loader_source: bytes | None = None) -> None:
        """The loader and ``.airflowignore`` at the prefix root (uploaded only when they
        differ)."""
        self._put_if_changed(LOADER_KEY, loader_source or RELEASE_LOADER.read_bytes())
        self._put_if_changed(IGNORE_KEY, IGNORE_TEXT.encode())

    def publish(self, release_id: str, bundle_dir: Path) -> int:
        """Upload the bundle to ``releases/<id>/`` then its manifest; returns how many objects
        were uploaded (0 when the release is already there, intact). Idempotent: objects already
        present with the right digest are kept, missing ones are uploaded. Raises
        DagsPrefixError when the release id is already published with other content."""
        manifest = _encode(bundle_manifest(release_id, bundle_dir))
        manifest_rel = f"releases/{release_id}.manifest.json"
        existing = self.read(manifest_rel)
        if existing is not None and existing != manifest:
            raise DagsPrefixError(
                f"{self.what}: release {release_id} is already published at "
                f"s3://{self.bucket}/{self.key(manifest_rel)} with other content; a release id "
                "names one content, so tag a new release"
            )
        uploaded = 0
        for rel, meta in json.loads(manifest)["files"].items():
            head = self._head(f"releases/{release_id}/{rel}")
            expected = base64.b64encode(bytes.fromhex(meta["sha256"])).decode()
            if (
                head is None
                or head.get("ChecksumSHA256") != expected
                or head.get("ContentLength") != meta["size"]
            ):
                self.put(f"releases/{release_id}/{rel}", (bundle_dir / rel).read_bytes())
                uploaded += 1
        if existing is None:
            self.put(manifest_rel, manifest)
            uploaded += 1
        self.install_loader()
        return uploaded

    def verify(self, release_id: str) -> str:
        """Check every object of a published release against its manifest (size and the
        SHA-256 S3 computed on upload) and check that ``releases/<id>/`` holds nothing the
        manifest does not list (a DAG file or a ``.pyc`` written after publishing would run
        as part of the release); returns the manifest's sha256 (hex). Raises
        FileNotFoundError when the release is not published, ReleaseTampered naming the first
        object that differs, is missing or is not in the manifest."""
        manifest_rel = f"releases/{release_id}.manifest.json"
        raw = self.read(manifest_rel)
        if raw is None:
            raise FileNotFoundError(
                f"{self.what}: release {release_id} is not published under {self.location}; "
                "publish it first"
            )
        files = json.loads(raw)["files"]
        unlisted = sorted(set(self._listing(f"releases/{release_id}/")) - set(files))
        if unlisted:
            raise ReleaseTampered(
                f"{self.what}: s3://{self.bucket}/{self.key(f'releases/{release_id}/')}"
                f"{unlisted[0]} is not in the manifest of release {release_id}"
                + (f" (and {len(unlisted) - 1} more)" if len(unlisted) > 1 else "")
                + "; it was written after publishing: delete it and investigate who wrote it"
            )
        for rel, meta in sorted(files.items()):
            key = f"releases/{release_id}/{rel}"
            head = self._head(key)
            expected = base64.b64encode(bytes.fromhex(meta["sha256"])).decode()
            if head is None:
                problem = "is missing"
            elif head.get("ContentLength") != meta["size"]:
                problem = f"has {head.get('ContentLength')} bytes, the manifest {meta['size']}"
            elif head.get("ChecksumSHA256") != expected:
                problem = "has another SHA-256 than the manifest"
            else:
                continue
            raise ReleaseTampered(
                f"{self.what}: s3://{self.bucket}/{self.key(key)} of release {release_id} "
                f"{problem}; it was altered after publishing: publish the release again or "
                "investigate who wrote it"
            )
        return hashlib.sha256(raw).hexdigest()

    def _listing(self, rel_dir: str) -> list[str]:
        """Every key under ``<prefix>/<rel_dir>``, relative to it."""
        start = self.key(rel_dir)
        found: list[str] = []
        try:
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=start
            )
            for page in pages:
                found.extend(o["Key"][len(start) :] for o in page.get("Contents", []))
        except Exception as exc:
            raise self._fail(exc, f"listing s3://{self.bucket}/{start}") from None
        return found

    def pointer(self) -> dict[str, Any]:
        """The live pointer (``{}`` before the first switch)."""
        raw = self.read(POINTER_KEY)
        return dict(json.loads(raw)) if raw else {}

    def live_release(self) -> str | None:
        release = self.pointer().get("release")
        return str(release) if release else None

    def activate(self, release_id: str) -> str | None:
        """Verify the release, then write the pointer (one object, last); returns the release
        it replaced. Re-activating the live release keeps the pointer's ``previous``."""
        digest = self.verify(release_id)
        self.install_loader()
        current = self.pointer()
        live = current.get("release")
        if live == release_id:
            previous, previous_digest = (
                current.get("previous"),
                current.get("previous_manifest_sha256"),
            )
        else:
            previous, previous_digest = live, current.get("manifest_sha256")
        self.put(
            POINTER_KEY,
            _encode(
                {
                    "release": release_id,
                    "manifest_sha256": digest,
                    "previous": previous,
                    "previous_manifest_sha256": previous_digest,
                }
            ),
        )
        return str(live) if live else None

    def delete(self, rel: str) -> None:
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=self.key(rel))
        except Exception as exc:
            raise self._fail(exc, f"deleting s3://{self.bucket}/{self.key(rel)}") from None
