"""Where a blue/green environment keeps its state (``blue_green_state.BlueGreenState``: the
active color, each color's runtime, where each release was published, the cutovers).

- ``LocalStateFile``: a JSON file beside the local environment; a read-modify-write holds the
  file's ``flock`` (``<file>.lock``) and the file is replaced atomically.
- ``S3StateObject``: one JSON object in S3 (MWAA environments), which the platform's runs and
  on-call read wherever they run. Concurrent writers: a read-modify-write first takes a lease,
  the object ``<key>.lock``, created by a conditional put (``If-None-Match: *``: of two
  writers exactly one creates it; the other waits, bounded, saying who holds it). A lease
  whose time ran out (its holder died) is taken over by a conditional put on that lock's
  ETag (``If-Match``: one waiter wins). The state itself is written with ``If-Match`` on the
  ETag read under the lease (``If-None-Match: *`` when there was none), so a writer that
  outlived its lease cannot overwrite a newer state: it fails naming the object. In a
  versioned bucket every state written stays readable as an object version.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.exceptions
import dagster as dg

from release_assets.runtimes.airflow.blue_green_state import (
    BlueGreenError,
    BlueGreenState,
    dump_state,
    load_state,
    parse_state,
    save_state,
    utc_now,
)
from release_assets.runtimes.aws import AwsClients, describe_aws_error, error_code
from release_assets.runtimes.locks import exclusive
from release_assets.runtimes.processes import PROGRESS_EVERY_S, TimeoutExpired

log = logging.getLogger(__name__)

_CONFLICT = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class BlueGreenStateStore(dg.ConfigurableResource, ABC):  # type: ignore[type-arg]
    """Reads and updates one environment's blue/green state."""

    @property
    @abstractmethod
    def where(self) -> str:
        """Where the state is (a path or an ``s3://`` URL), for people and messages."""

    @abstractmethod
    def read(self) -> BlueGreenState:
        """The state (a fresh one, blue active, when none was written yet). Raises
        ``BlueGreenError`` naming ``where`` when it cannot be read."""

    @abstractmethod
    def updating(self, what: str, timeout_s: float) -> AbstractContextManager[BlueGreenState]:
        """A context holding the store's lock around a read-modify-write: yields the state,
        writes it back when the body ends without an exception. Waits at most ``timeout_s``
        seconds for another writer (``TimeoutExpired`` naming ``what`` and the holder)."""


class LocalStateFile(BlueGreenStateStore):
    """The state as a local JSON file at ``path``."""

    path: str

    @property
    def where(self) -> str:
        return self.path

    def read(self) -> BlueGreenState:
        return load_state(Path(self.path))

    @contextmanager
    def updating(self, what: str, timeout_s: float) -> Iterator[BlueGreenState]:
        path = Path(self.path)
        with exclusive(path.with_name(path.name + ".lock"), timeout_s, what):
            state = load_state(path)
            yield state
            save_state(path, state)


class S3StateObject(BlueGreenStateStore):
    """The state as the S3 object ``s3://<bucket>/<key>``. Fields: ``aws`` (clients),
    ``lease_s`` (how long a writer's lease lasts: longer than any update, as an MWAA
    environment update plus a cutover's drain; an expired lease is taken over), ``poll_s``
    (how often a waiting writer looks at the lease)."""

    aws: AwsClients
    bucket: str
    key: str
    lease_s: float = 4 * 3600.0
    poll_s: float = 2.0

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def lock_key(self) -> str:
        return f"{self.key}.lock"

    def _s3(self) -> Any:
        try:
            return self.aws.client("s3")
        except botocore.exceptions.BotoCoreError as exc:
            raise BlueGreenError(describe_aws_error(exc, self._what, self.aws.where)) from None

    @property
    def _what(self) -> str:
        return f"blue/green state {self.where}"

    def _fail(self, exc: Exception, doing: str) -> BlueGreenError:
        return BlueGreenError(describe_aws_error(exc, f"{self._what} ({doing})", self.aws.where))

    def _get(self, s3: Any, key: str) -> tuple[str | None, str | None]:
        """(text, ETag) of ``key``; (None, None) when there is none."""
        try:
            answer = s3.get_object(Bucket=self.bucket, Key=key)
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) in _MISSING:
                return None, None
            raise self._fail(exc, f"reading {key}") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise self._fail(exc, f"reading {key}") from None
        return answer["Body"].read().decode(), str(answer["ETag"])

    def _put(self, s3: Any, key: str, text: str, etag: str | None) -> str | None:
        """Put ``text`` at ``key`` only if it is still at ``etag`` (absent when None); the new
        ETag, or None when another writer got there first."""
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            answer = s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=text.encode(),
                ContentType="application/json",
                **condition,
            )
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) in _CONFLICT:
                return None
            raise self._fail(exc, f"writing {key}") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise self._fail(exc, f"writing {key}") from None
        return str(answer["ETag"])

    def read(self) -> BlueGreenState:
        text, _ = self._get(self._s3(), self.key)
        return BlueGreenState() if text is None else parse_state(text, self.where)

    def _take_lease(self, s3: Any, what: str, timeout_s: float) -> str:
        """Create (or take over an expired) ``<key>.lock``; its ETag."""
        holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        started = time.monotonic()
        said_at = started - PROGRESS_EVERY_S
        while True:
            now = utc_now()
            lease = json.dumps(
                {
                    "holder": holder,
                    "taken_at": now.isoformat(),
                    "expires_at": (now + timedelta(seconds=self.lease_s)).isoformat(),
                }
            )
            etag = self._put(s3, self.lock_key, lease, None)
            if etag is not None:
                return etag
            text, held_etag = self._get(s3, self.lock_key)
            if text is None:  # released in between: try again at once
                continue
            held = _lease(text)
            if now >= held["expires"]:
                taken = self._put(s3, self.lock_key, lease, held_etag)
                if taken is not None:
                    log.warning(
                        "%s: took over the lease of %s, which expired at %s",
                        what,
                        held["holder"],
                        held["expires"].isoformat(),
                    )
                    return taken
                continue
            waited = time.monotonic() - started
            says = (
                f"s3://{self.bucket}/{self.lock_key} is held by {held['holder']} since "
                f"{held['taken_at']} (lease until {held['expires'].isoformat()})"
            )
            if waited >= timeout_s:
                raise TimeoutExpired(
                    f"waited {timeout_s:.0f}s for {what}: {says}; if the step holding it is "
                    "gone, delete that object"
                )
            if time.monotonic() - said_at >= PROGRESS_EVERY_S:
                dg.get_dagster_logger().info(
                    f"waiting for {what} ({waited:.0f}s of {timeout_s:.0f}s): {says}"
                )
                said_at = time.monotonic()
            time.sleep(self.poll_s)

    def _release(self, s3: Any, etag: str) -> None:
        try:
            s3.delete_object(Bucket=self.bucket, Key=self.lock_key, IfMatch=etag)
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) not in _CONFLICT | _MISSING:
                raise self._fail(exc, "releasing its lease") from None
            log.warning("%s: the lease was taken over before it was released", self._what)

    @contextmanager
    def updating(self, what: str, timeout_s: float) -> Iterator[BlueGreenState]:
        s3 = self._s3()
        lease = self._take_lease(s3, what, timeout_s)
        try:
            text, etag = self._get(s3, self.key)
            state = BlueGreenState() if text is None else parse_state(text, self.where)
            yield state
            if self._put(s3, self.key, dump_state(state), etag) is None:
                raise BlueGreenError(
                    f"{self.where} changed while this step held its lease (held longer than "
                    f"lease_s={self.lease_s:.0f}s, so another step took it over): not "
                    "overwritten; read it, check the colors, and run the step again"
                )
        finally:
            self._release(s3, lease)


def _lease(text: str) -> dict[str, Any]:
    """A lock object's holder, taken_at and expires (datetime); an unreadable lock counts as
    expired (it is taken over)."""
    try:
        raw = json.loads(text)
        return {
            "holder": str(raw["holder"]),
            "taken_at": str(raw["taken_at"]),
            "expires": datetime.fromisoformat(str(raw["expires_at"])),
        }
    except (ValueError, KeyError, TypeError):
        return {"holder": "(unreadable lock)", "taken_at": "?", "expires": utc_now()}
