"""The MWAA colors of a blue/green environment (``kind: blue_green`` with ``kind: mwaa``
colors): each color is an MWAA environment, and running a release's runtime in it is an
environment update.

``MwaaColorRuntime.ensure`` uploads the release's ``requirements.txt`` (and its ``plugins/`` as
``plugins.zip``) to the standby environment's source bucket, a versioned bucket, and calls
``UpdateEnvironment`` with those object versions (and the release's Airflow version when it
differs), then waits, bounded and saying the status at every poll, until the environment is
AVAILABLE again. MWAA installs them on new workers; nothing here installs anything. An
environment that already runs those contents is not updated again (the objects it runs, at
the versions it runs, are compared with the bundle). MWAA environments are never stopped:
deleting one is the only stop, so a standby stays provisioned (and billed) between releases.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import botocore.exceptions
import dagster as dg

from release_assets.config.blue_green_specs import MwaaBlueGreenAirflowSpec
from release_assets.runtimes.airflow.base import AirflowError, AirflowTarget
from release_assets.runtimes.airflow.blue_green import BlueGreenAirflow
from release_assets.runtimes.airflow.blue_green_state import bundle_airflow
from release_assets.runtimes.airflow.blue_green_store import S3StateObject
from release_assets.runtimes.airflow.color_runtime import ColorRuntime
from release_assets.runtimes.airflow.mwaa import READY, MwaaAirflow, source_object, zip_digests
from release_assets.runtimes.aws import AwsClients, describe_aws_error
from release_assets.runtimes.processes import watch

SETTLING = frozenset(
    {"CREATING", "UPDATING", "ROLLING_BACK", "CREATING_SNAPSHOT", "PENDING", "MAINTENANCE"}
)
"""MWAA statuses that end by themselves: an update waits them out."""
UPDATABLE = frozenset({READY, "UPDATE_FAILED"})
"""Statuses in which MWAA takes an environment update."""


class MwaaUpdateFailed(AirflowError):
    """An MWAA environment update failed or the environment cannot be updated; the message
    names the environment, its status and MWAA's ``LastUpdate.Error`` message."""


def plugins_zip(folder: Path) -> bytes:
    """``folder`` as MWAA's ``plugins.zip`` (files at the archive's root, ``__pycache__``
    left out); the same files give the same bytes (sorted, fixed timestamps)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if "__pycache__" in path.parts:
                continue
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), (1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


class MwaaColorRuntime(ColorRuntime):
    """Runs a release's runtime in an MWAA color by an environment update. Fields:
    ``update_timeout_s`` (how long an update may take; MWAA: 20-40 minutes),
    ``poll_s`` (how often the status is read and said), ``requirements_key`` and
    ``plugins_key`` (the objects' keys in the environment's source bucket)."""

    update_timeout_s: float = 3600.0
    poll_s: float = 30.0
    requirements_key: str = "requirements.txt"
    plugins_key: str = "plugins.zip"

    def _mwaa(self, color: str, target: AirflowTarget) -> MwaaAirflow:
        if not isinstance(target, MwaaAirflow):
            raise AirflowError(
                f"{target.environment}: the {color} color is not an MWAA environment "
                f"({type(target).__name__}); MWAA colors are updated, not started"
            )
        return target

    def ensure(self, color: str, target: AirflowTarget, bundle_dir: Path, identity: str) -> None:
        """Make the color's MWAA environment run the bundle's requirements, plugins and Airflow
        version: nothing when it already does, else upload + ``UpdateEnvironment`` + wait until
        AVAILABLE. Raises ``MwaaUpdateFailed`` (the update failed, or the environment is in a
        status that takes none: its name, status and MWAA's error), ``TimeoutExpired`` after
        ``update_timeout_s`` of a status that does not settle, ``AirflowError`` for an S3 or
        MWAA call that fails (naming the object or the environment)."""
        mwaa = self._mwaa(color, target)
        what = f"{mwaa.what} ({color})"
        env = self._settled(mwaa, what, "its current change")
        status = str(env.get("Status", "unknown"))
        if status not in UPDATABLE:
            raise self._failed(what, env, f"cannot take runtime {identity}")
        fields = self._update_fields(mwaa, env, bundle_dir)
        if not fields and status == READY:
            dg.get_dagster_logger().info(f"{what} already runs runtime {identity}: not updated")
            return
        if not fields:  # UPDATE_FAILED, yet what it would run is the release's
            raise self._failed(what, env, f"cannot take runtime {identity}")
        changes = ", ".join(f"{k}={v}" for k, v in sorted(fields.items()))
        dg.get_dagster_logger().info(f"{what}: updating to runtime {identity} ({changes})")
        try:
            mwaa.boto("mwaa").update_environment(Name=mwaa.environment_name, **fields)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise MwaaUpdateFailed(describe_aws_error(exc, what, mwaa.url)) from None
        env = self._settled(mwaa, what, f"its update to runtime {identity}")
        last = (env.get("LastUpdate") or {}).get("Status")
        if env.get("Status") != READY or last == "FAILED":
            raise self._failed(what, env, f"update to runtime {identity} failed")
        if self._update_fields(mwaa, env, bundle_dir):
            raise self._failed(
                what, env, f"update ended without runtime {identity} (changed again?)"
            )
        dg.get_dagster_logger().info(f"{what} runs runtime {identity}")

    def _failed(self, what: str, env: dict[str, Any], doing: str) -> MwaaUpdateFailed:
        last = env.get("LastUpdate") or {}
        error = (last.get("Error") or {}).get("ErrorMessage")
        detail = f", last update {last['Status']}" if last.get("Status") else ""
        return MwaaUpdateFailed(
            f"{what}: {doing}: it is {env.get('Status', 'unknown')}{detail}"
            + (f": {error}" if error else "")
            + "; the release was not published to it and nothing was switched"
        )

    def _settled(self, mwaa: MwaaAirflow, what: str, change: str) -> dict[str, Any]:
        """The environment's description once its status is not one that ends by itself."""
        seen: dict[str, Any] = {}

        def observe() -> tuple[bool, str]:
            env = mwaa.describe_environment()
            seen["env"] = env
            status = str(env.get("Status", "unknown"))
            last = (env.get("LastUpdate") or {}).get("Status")
            return status not in SETTLING, status + (f" (last update {last})" if last else "")

        watch(
            observe,
            self.update_timeout_s,
            f"{what} to finish {change}",
            dg.get_dagster_logger().info,
            interval_s=self.poll_s,
            progress_s=self.poll_s,
        )
        found: dict[str, Any] = seen["env"]
        return found

    def _update_fields(
        self, mwaa: MwaaAirflow, env: dict[str, Any], bundle_dir: Path
    ) -> dict[str, str]:
        """The ``UpdateEnvironment`` fields that make ``env`` run the bundle (uploading the
        objects they name); empty when it runs it."""
        airflow = bundle_airflow(bundle_dir)
        bucket = str(env.get("SourceBucketArn", "")).rsplit(":", 1)[-1] or mwaa.dags_bucket
        dags = mwaa.dags
        fields: dict[str, str] = {}
        requirements = (bundle_dir / airflow.requirements).read_bytes()
        running = env.get("RequirementsS3Path")
        version = env.get("RequirementsS3ObjectVersion")
        if not running or source_object(dags, bucket, running, version) != requirements:
            fields["RequirementsS3Path"] = self.requirements_key
            fields["RequirementsS3ObjectVersion"] = self._upload(
                mwaa, bucket, self.requirements_key, requirements
            )
        folder = bundle_dir / "plugins"
        if folder.is_dir():
            archive = plugins_zip(folder)
            running = env.get("PluginsS3Path")
            version = env.get("PluginsS3ObjectVersion")
            ran = source_object(dags, bucket, running, version) if running else None
            if ran is None or zip_digests(ran) != zip_digests(archive):
                fields["PluginsS3Path"] = self.plugins_key
                fields["PluginsS3ObjectVersion"] = self._upload(
                    mwaa, bucket, self.plugins_key, archive
                )
        if env.get("AirflowVersion") and env["AirflowVersion"] != airflow.version:
            fields["AirflowVersion"] = airflow.version
        return fields

    def _upload(self, mwaa: MwaaAirflow, bucket: str, key: str, body: bytes) -> str:
        """The version id of ``s3://bucket/key`` holding ``body``: its latest version when it
        already does (a re-run uploads nothing), else a new one. Raises ``AirflowError`` when
        the bucket keeps no versions (MWAA pins objects by version)."""
        s3, where = mwaa.dags.s3, f"{mwaa.what} (s3://{bucket}/{key})"
        try:
            if source_object(mwaa.dags, bucket, key, None) == body:
                head = s3.head_object(Bucket=bucket, Key=key)
                version = head.get("VersionId")
            else:
                version = s3.put_object(Bucket=bucket, Key=key, Body=body).get("VersionId")
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise AirflowError(describe_aws_error(exc, where, mwaa.aws.where)) from None
        if not version or version == "null":
            raise AirflowError(
                f"{where}: the source bucket keeps no object versions; MWAA needs a versioned "
                "source bucket (it runs requirements and plugins at a given version)"
            )
        return str(version)

    def running(self, color: str, target: AirflowTarget) -> bool:
        """Whether the color's environment is AVAILABLE (False when it cannot be read)."""
        try:
            return self._mwaa(color, target).describe_environment().get("Status") == READY
        except AirflowError:
            return False

    def stop(self, color: str, target: AirflowTarget) -> bool:
        """Nothing: an MWAA environment cannot be stopped, only deleted. Its keep-warm window
        ending means it is no longer needed for a cut back; it stays provisioned."""
        dg.get_dagster_logger().info(
            f"{self._mwaa(color, target).what} ({color}): keep-warm window over; MWAA "
            "environments are not stopped (only deleted), so it stays provisioned"
        )
        return False


def mwaa_blue_green_airflow(environment: str, spec: MwaaBlueGreenAirflowSpec) -> BlueGreenAirflow:
    """The target of a resolved ``kind: blue_green`` block with MWAA colors: the two
    environments, the MWAA color runtime and the S3 state object (reached with blue's
    ``aws`` block). Raises ``ValueError`` for a block that was not resolved (no state)."""
    if spec.state is None:
        raise ValueError(f"environment {environment}: blue/green block not resolved (no state)")
    return BlueGreenAirflow(
        environment=environment,
        blue=MwaaAirflow.of_spec(environment, spec.blue),
        green=MwaaAirflow.of_spec(environment, spec.green),
        runtime=MwaaColorRuntime(
            update_timeout_s=spec.update_timeout_s,
            poll_s=spec.update_poll_s,
            requirements_key=spec.requirements_key,
            plugins_key=spec.plugins_key,
        ),
        state_store=S3StateObject(
            aws=AwsClients.of(spec.blue.aws), bucket=spec.state.bucket, key=spec.state.key
        ),
        keep_warm_minutes=spec.keep_warm_minutes,
        serve_timeout_s=spec.serve_timeout_s,
        drain_timeout_s=spec.drain_timeout_s,
    )
