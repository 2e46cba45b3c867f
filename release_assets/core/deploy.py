"""Putting a stored release into an Airflow environment and confirming it is served."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from release_assets.core.spark_staging import stage_spark_jobs
from release_assets.runtimes.airflow.types import AirflowError
from release_assets.runtimes.artifacts.types import BundleManifest
from release_assets.runtimes.spark.types import SparkError

if TYPE_CHECKING:
    from release_assets.runtimes.airflow.base import AirflowTarget
    from release_assets.runtimes.artifacts.base import ArtifactStore
    from release_assets.runtimes.spark.base import SparkRuntime

SERVE_TIMEOUT_S = 240.0
"""How long an environment may take to serve every DAG of a newly activated release (s)."""


class DeploymentError(RuntimeError):
    """The environment did not come to serve the release; the message names what failed."""


class DeploymentRefused(DeploymentError):
    """The release cannot be deployed to the environment as it stands (it changes what only an
    environment update installs); nothing was published."""


@dataclass(frozen=True)
class Published:
    """A release staged in an environment: its ``manifest`` (the verified bundle) and
    ``spark_jobs``, what its DAGs were told of its Spark jobs (``spark_staging.SPARK_JOBS``;
    empty without Spark jobs or without a Spark runtime)."""

    manifest: BundleManifest
    spark_jobs: dict[str, dict[str, str]] = field(default_factory=dict)


def publish_release(
    build_store: ArtifactStore,
    env_store: ArtifactStore,
    target: AirflowTarget,
    release_id: str,
    spark: SparkRuntime | None = None,
) -> Published:
    """Stage the release's bundle in the environment without making it live.

    The bundle is built once into ``build_store``; an environment with its own store
    (``env_store``) first receives exactly that bundle (promotion copies, never rebuilds), and
    the digest the environment publishes must equal the built one. Every file's digest is
    verified on fetch. Before anything is published, the environment is asked what of the
    bundle it installs only through an environment update (``AirflowTarget.runtime_changes``:
    MWAA's requirements and plugins) and, with ``spark``, the release's Spark jobs are staged
    there and their locations written into the copy published (``spark_staging``).

    Raises ``FileNotFoundError`` for a release with no bundle, ``ArtifactIntegrityError`` for an
    altered file, ``DeploymentError`` for a digest mismatch, ``DeploymentRefused`` naming the
    environment and each change needing an environment update, ``DeploymentError`` quoting the
    Spark runtime's error when staging fails (a job's entry point missing from the bundle
    included).
    """
    built = build_store.manifest(release_id)
    if built is None:
        raise FileNotFoundError(f"no bundle stored for release {release_id}")
    with tempfile.TemporaryDirectory(prefix="ra-publish-") as tmp:
        if env_store.manifest(release_id) is None:
            build_store.fetch_bundle(release_id, Path(tmp) / "promote")
            env_store.put_bundle(release_id, Path(tmp) / "promote")
        bundle = Path(tmp) / "bundle"
        manifest = env_store.fetch_bundle(release_id, bundle)
        if manifest.digest != built.digest:
            raise DeploymentError(
                f"{target.environment}: release {release_id} in the environment's artifact "
                f"store has digest {manifest.digest[:12]}, not the built {built.digest[:12]}"
            )
        changes = target.runtime_changes(bundle)
        if changes:
            raise DeploymentRefused(
                f"{target.environment}: release {release_id} is refused, nothing was "
                f"published: {'; '.join(changes)}; update the environment first, then deploy "
                "again"
            )
        try:
            spark_jobs = {} if spark is None else stage_spark_jobs(spark, release_id, bundle)
        except (SparkError, FileNotFoundError) as exc:
            raise DeploymentError(
                f"{target.environment}: the Spark jobs of release {release_id} could not be "
                f"staged, nothing was published: {exc}"
            ) from exc
        target.publish(release_id, bundle)
    return Published(manifest, spark_jobs)


def publish_from_store(
    build_store: ArtifactStore,
    env_store: ArtifactStore,
    target: AirflowTarget,
    release_id: str,
    spark: SparkRuntime | None = None,
) -> BundleManifest:
    """``publish_release``'s manifest (for callers that need only the digest)."""
    return publish_release(build_store, env_store, target, release_id, spark).manifest


def _broken_files(stack_trace: str) -> list[str]:
    return [
        line.rstrip(":").strip()
        for line in stack_trace.splitlines()
        if line.rstrip().endswith(".py:") and not line.startswith(" ")
    ]


SERVE_POLL_S = 0.5
"""How often a switch asks the environment which DAGs it serves (s): the switch waits only for
the parse it requested (``AirflowTarget.activate``), so a short poll is most of the gain."""


def wait_until_serving(
    target: AirflowTarget,
    release_id: str,
    dag_ids: set[str],
    timeout_s: float,
    poll_s: float = SERVE_POLL_S,
) -> None:
    """Wait (bounded) until every DAG of the release is parsed from the release.

    Fails early, naming each broken file, when the environment reports that the release's DAG
    files do not import. On timeout, ``DeploymentError`` names the DAGs still missing and the
    release each of them is served from now (or that the environment did not list it, or did
    not answer).
    """
    deadline = time.monotonic() + timeout_s
    seen: dict[str, str | None] = {}
    unreachable = ""
    while True:
        try:
            for error in target.import_errors():
                if f"release {release_id}:" in error.stack_trace:
                    files = _broken_files(error.stack_trace) or [error.filename]
                    raise DeploymentError(
                        f"{target.environment}: DAG files of release {release_id} fail to "
                        f"import: {', '.join(files)}\n{error.stack_trace[-3000:]}"
                    )
            seen = {d.dag_id: d.release for d in target.list_dags()}
            unreachable = ""
            if all(seen.get(dag_id) == release_id for dag_id in dag_ids):
                return
        except AirflowError as exc:
            if time.monotonic() >= deadline:
                raise
            unreachable = f" (the last request failed: {str(exc).splitlines()[0]})"
        if time.monotonic() >= deadline:
            raise DeploymentError(
                f"{target.environment}: after {timeout_s:.0f}s these DAGs are still not served "
                f"from release {release_id}: {_not_served(dag_ids, release_id, seen)}"
                f"{unreachable}"
            )
        time.sleep(poll_s)


def _not_served(dag_ids: set[str], release_id: str, seen: dict[str, str | None]) -> str:
    """``"a (served from v1), b (not listed)"`` for the DAGs not yet served from the release."""
    parts = []
    for dag_id in sorted(dag_ids):
        if dag_id not in seen:
            parts.append(f"{dag_id} (not listed)")
        elif seen[dag_id] != release_id:
            parts.append(f"{dag_id} (served from {seen[dag_id] or 'no release'})")
    return ", ".join(parts)
