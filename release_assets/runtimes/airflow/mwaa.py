"""An Amazon MWAA environment: code under its S3 DAGs prefix, REST through ``InvokeRestApi``.

Releases are published and switched with :class:`~release_assets.runtimes.airflow.s3_dags.
S3DagsPrefix` (one pointer object, the loader loads a release only when every file of it has
reached the worker). Airflow's REST API v1 is called through boto3's ``mwaa.invoke_rest_api``
with the caller's IAM identity: no web token is minted, no Airflow credential exists here.
A changed ``requirements.txt`` or plugins folder is not a DAG change: MWAA installs them only
through an environment update, which replaces the workers (:meth:`MwaaAirflow.runtime_changes`).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import botocore.exceptions
import dagster as dg
from pydantic import PrivateAttr

from release_assets.config.mwaa_specs import MwaaAirflowSpec
from release_assets.runtimes.airflow.base import AirflowApiError, AirflowError, AirflowHealth
from release_assets.runtimes.airflow.in_airflow import RELEASE_LOADER
from release_assets.runtimes.airflow.local import canary_dag_id, check_release_id
from release_assets.runtimes.airflow.mwaa_rest import MwaaRestClient
from release_assets.runtimes.airflow.rest_client import AirflowApi
from release_assets.runtimes.airflow.rest_target import RestAirflowTarget
from release_assets.runtimes.airflow.s3_dags import S3DagsPrefix
from release_assets.runtimes.airflow.types import AirflowUnreachable
from release_assets.runtimes.aws import AwsClients, describe_aws_error, error_code

NEEDS_UPDATE = "needs an environment update (MWAA replaces workers)"
"""Ends every line of :meth:`MwaaAirflow.runtime_changes`."""
READY = "AVAILABLE"
"""The only MWAA status in which a new release is deployed (source: MWAA's
``EnvironmentStatus``)."""
GONE = frozenset({"DELETING", "DELETED"})
"""Statuses in which not even a release that was live before is switched back in."""


class MwaaEnvironmentNotReady(AirflowError):
    """The MWAA environment is not AVAILABLE (updating, creating, failed...)."""


class MwaaAirflow(RestAirflowTarget):
    """An MWAA environment. Fields: ``environment_name`` (MWAA's name), ``aws`` (clients for
    S3 and MWAA: region, endpoint, profile, retries), ``dags_bucket``/``dags_prefix`` (the
    environment's DAGs location, its ``SourceBucketArn`` bucket and ``DagS3Path``),
    ``mwaa_endpoint_url`` (the MWAA API's URL when not AWS's: a test stand-in).

    Deploying a new release (``health``, ``publish``, ``activate``, ``publish_canary``) is
    refused with ``MwaaEnvironmentNotReady`` unless the environment is AVAILABLE; switching
    back to a release the pointer names (the live or the previous one: a rollback, a put-back
    after a failed switch) is done in any status but DELETING/DELETED, with a warning."""

    environment_name: str
    aws: AwsClients
    dags_bucket: str
    dags_prefix: str = "dags"
    mwaa_endpoint_url: str | None = None
    _clients: dict[str, Any] = PrivateAttr(default_factory=dict)

    @classmethod
    def of_spec(cls, environment: str, spec: MwaaAirflowSpec) -> MwaaAirflow:
        """The target of a deployment file's ``kind: mwaa`` block."""
        return cls(
            environment=environment,
            environment_name=spec.environment_name,
            aws=AwsClients.of(spec.aws),
            dags_bucket=spec.dags.bucket,
            dags_prefix=spec.dags.prefix,
            mwaa_endpoint_url=spec.mwaa_endpoint_url,
        )

    @property
    def what(self) -> str:
        """``"<environment> MWAA environment '<name>'"`` for messages."""
        return f"{self.environment} MWAA environment {self.environment_name!r}"

    @property
    def _mwaa_where(self) -> str:
        return self.mwaa_endpoint_url or f"AWS {self.aws.region_name or '(default region)'}"

    def boto(self, service: str) -> Any:
        """The boto3 client of ``service`` (``"s3"``: with ``aws``; ``"mwaa"``: with ``aws``
        and ``mwaa_endpoint_url``), made once per resource object (a client costs 0.1-0.6 s to
        make; boto3 clients are thread-safe). Raises AirflowError naming the environment when
        the client cannot be made (e.g. an unknown ``aws.profile``)."""
        if service not in self._clients:
            try:
                client = self._mwaa() if service == "mwaa" else self.aws.client(service)
            except botocore.exceptions.BotoCoreError as exc:  # e.g. ProfileNotFound
                where = self._mwaa_where if service == "mwaa" else self.aws.where
                raise AirflowError(describe_aws_error(exc, self.what, where)) from None
            self._clients[service] = client
        return self._clients[service]

    def _mwaa(self) -> Any:
        clients = AwsClients(
            region_name=self.aws.region_name,
            endpoint_url=self.mwaa_endpoint_url,
            profile_name=self.aws.profile_name,
            max_attempts=self.aws.max_attempts,
        )
        client = clients.client("mwaa")
        if self.mwaa_endpoint_url:
            # MWAA's model prefixes the host ("api.", "env."): right for AWS, wrong for a URL
            # given as is (an emulator on 127.0.0.1).
            client.meta.config.inject_host_prefix = False
        return client

    @property
    def dags(self) -> S3DagsPrefix:
        """The environment's S3 DAGs prefix."""
        return S3DagsPrefix(
            self.boto("s3"),
            self.dags_bucket,
            self.dags_prefix,
            self.what,
            self.aws.where,
        )

    @property
    def url(self) -> str:
        if self.mwaa_endpoint_url:
            return self.mwaa_endpoint_url
        region = self.aws.region_name
        return (
            f"https://{region}.console.aws.amazon.com/mwaa/home?region={region}"
            f"#environments/{self.environment_name}"
        )

    @property
    def client(self) -> AirflowApi:
        return MwaaRestClient(
            self.environment, self.environment_name, self.boto("mwaa"), self._mwaa_where
        )

    def describe_environment(self) -> dict[str, Any]:
        """MWAA's ``GetEnvironment`` ``Environment`` object; raises AirflowUnreachable."""
        try:
            env: dict[str, Any] = self.boto("mwaa").get_environment(Name=self.environment_name)[
                "Environment"
            ]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise AirflowUnreachable(describe_aws_error(exc, self.what, self._mwaa_where)) from None
        return env

    def require_available(self, doing: str) -> dict[str, Any]:
        """The environment's description when it is AVAILABLE; else MwaaEnvironmentNotReady
        saying its status (and its last update's status and error, when MWAA gives them)."""
        env = self.describe_environment()
        if str(env.get("Status", "unknown")) == READY:
            return env
        raise self._not_ready(env, doing)

    def _not_ready(self, env: dict[str, Any], doing: str) -> MwaaEnvironmentNotReady:
        status = str(env.get("Status", "unknown"))
        last = env.get("LastUpdate") or {}
        error = (last.get("Error") or {}).get("ErrorMessage")
        detail = f"; last update {last['Status']}" if last.get("Status") else ""
        detail += f": {error}" if error else ""
        return MwaaEnvironmentNotReady(
            f"{self.what} is {status}{detail}: refusing to {doing} until it is {READY} "
            "(MWAA is changing the environment; retry when the update is over)"
        )

    def health(self) -> AirflowHealth:
        self.require_available("deploy")
        return super().health()

    def publish(self, release_id: str, bundle_dir: Path) -> None:
        check_release_id(release_id)
        self.require_available(f"publish release {release_id}")
        self.dags.publish(release_id, bundle_dir)

    def activate(self, release_id: str) -> str | None:
        """Write the pointer; workers load the release on their next parse of the loader once
        MWAA's sync has brought every file of it (``min_file_process_interval``).

        A new release is switched in only while the environment is AVAILABLE. A release the
        pointer already names (live, or the previous one: a rollback, or the put-back after a
        switch whose DAGs did not load) is switched back in any status but DELETING/DELETED,
        with a warning in the step's log, since refusing would leave the failed release live.
        Raises MwaaEnvironmentNotReady, ReleaseTampered (the release no longer verifies)."""
        check_release_id(release_id)
        doing = f"switch to release {release_id}"
        env = self.describe_environment()
        status = str(env.get("Status", "unknown"))
        if status != READY:
            pointer = self.dags.pointer()
            if status in GONE or release_id not in {
                pointer.get("release"),
                pointer.get("previous"),
            }:
                raise self._not_ready(env, doing)
            dg.get_dagster_logger().warning(
                f"{self.what} is {status}, not {READY}: switching back to release "
                f"{release_id}, which was live before, anyway (a rollback is not held back by "
                "an environment update); workers replaced by the update load it once synced"
            )
        return self.dags.activate(release_id)

    def live_release(self) -> str | None:
        return self.dags.live_release()

    def _canary_loader(self, release_id: str) -> str:
        return f"canary__{release_id.replace('.', '_').replace('-', '_')}.py"

    def publish_canary(self, release_id: str, dag_ids: list[str]) -> dict[str, str]:
        check_release_id(release_id)
        self.require_available(f"publish canaries of release {release_id}")
        dags = self.dags
        dags.verify(release_id)
        dags.put(f"canaries/{release_id}.dags", ("\n".join(sorted(dag_ids)) + "\n").encode())
        source = RELEASE_LOADER.read_text().replace(
            "CANARY: str | None = None", f"CANARY: str | None = {release_id!r}", 1
        )
        dags.put(self._canary_loader(release_id), source.encode())
        return {dag_id: canary_dag_id(dag_id, release_id) for dag_id in dag_ids}

    def remove_canary(self, release_id: str) -> list[str]:
        dags = self.dags
        spec = dags.read(f"canaries/{release_id}.dags")
        dag_ids = spec.decode().split() if spec else []
        dags.delete(self._canary_loader(release_id))
        dags.delete(f"canaries/{release_id}.dags")
        removed = []
        for dag_id in dag_ids:
            try:
                self.client.request("DELETE", f"/dags/{canary_dag_id(dag_id, release_id)}")
                removed.append(canary_dag_id(dag_id, release_id))
            except AirflowApiError as exc:
                if exc.status != 404:
                    raise
        return removed

    def runtime_changes(
        self, bundle_dir: Path, requirements: str = "requirements.txt", plugins: str = "plugins"
    ) -> list[str]:
        """What in the bundle MWAA installs only through an environment update: one line per
        difference between the bundle's ``requirements`` file / ``plugins`` folder and the
        objects the environment runs (``RequirementsS3Path``/``PluginsS3Path`` at their
        ``...S3ObjectVersion`` in its source bucket), each ending with NEEDS_UPDATE; empty
        when the release changes neither. Raises AirflowUnreachable, AwsRuntimeError."""
        env = self.describe_environment()
        bucket = str(env.get("SourceBucketArn", "")).rsplit(":", 1)[-1] or self.dags_bucket
        dags = self.dags
        changes = []
        req = bundle_dir / requirements
        running = env.get("RequirementsS3Path")
        if req.is_file():
            ours = req.read_bytes()
            if not running:
                changes.append(f"{requirements} is new (the environment installs none)")
            elif (
                source_object(dags, bucket, running, env.get("RequirementsS3ObjectVersion")) != ours
            ):
                changes.append(
                    f"{requirements} differs from s3://{bucket}/{running} "
                    f"(version {env.get('RequirementsS3ObjectVersion') or 'latest'}), which "
                    "the environment runs"
                )
        folder = bundle_dir / plugins
        running = env.get("PluginsS3Path")
        if folder.is_dir():
            ours_files = {
                p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in folder.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts
            }
            if not running:
                changes.append(f"{plugins}/ is new (the environment installs no plugins)")
            else:
                version = env.get("PluginsS3ObjectVersion")
                archive = source_object(dags, bucket, running, version) or b""
                if zip_digests(archive) != ours_files:
                    changes.append(
                        f"{plugins}/ differs from s3://{bucket}/{running} "
                        f"(version {version or 'latest'}), which the environment runs"
                    )
        return [f"{self.what}: {change}: {NEEDS_UPDATE}" for change in changes]


def source_object(dags: S3DagsPrefix, bucket: str, key: str, version: str | None) -> bytes | None:
    """The bytes of ``s3://<bucket>/<key>`` (the environment's source bucket, e.g. its
    ``RequirementsS3Path``) at ``version`` (latest when None), read with ``dags``' S3 client;
    None when the key or version does not exist. Raises AirflowError naming the key for any
    other S3 failure (access denied, unreachable)."""
    call: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version:
        call["VersionId"] = version
    try:
        body: bytes = dags.s3.get_object(**call)["Body"].read()
    except Exception as exc:
        if error_code(exc) in {"404", "NoSuchKey", "NoSuchVersion"}:
            return None
        raise AirflowError(describe_aws_error(exc, f"{dags.what} ({key})", dags.where)) from None
    return body


def zip_digests(archive: bytes) -> dict[str, str]:
    """The files of a ``plugins.zip``: archive path -> hex SHA-256 of its content (directories
    left out), so two archives of the same files compare equal whatever their timestamps or
    order; an archive that is not a zip gives ``{}``."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            return {
                i.filename: hashlib.sha256(zf.read(i)).hexdigest()
                for i in zf.infolist()
                if not i.is_dir()
            }
    except zipfile.BadZipFile:
        return {}
