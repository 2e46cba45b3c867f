"""Putting a stored release into an Airflow environment and confirming it is served."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from release_assets.runtimes.airflow.base import AirflowError, AirflowTarget
from release_assets.runtimes.artifacts.base import ArtifactStore, BundleManifest


class DeploymentError(RuntimeError):
    """The environment did not come to serve the release; the message names what failed."""


def publish_from_store(
    store: ArtifactStore, target: AirflowTarget, release_id: str
) -> BundleManifest:
    """Stage the stored bundle in the environment, verifying every file's digest first."""
    with tempfile.TemporaryDirectory(prefix="ra-publish-") as tmp:
        manifest = store.fetch_bundle(release_id, Path(tmp))
        target.publish(release_id, Path(tmp))
    return manifest


def _broken_files(stack_trace: str) -> list[str]:
    return [
        line.rstrip(":").strip()
        for line in stack_trace.splitlines()
        if line.rstrip().endswith(".py:") and not line.startswith(" ")
    ]


def wait_until_serving(
    target: AirflowTarget, release_id: str, dag_ids: set[str], timeout_s: float
) -> None:
    """Wait (bounded) until every DAG of the release is parsed from the release.

    Fails early, naming each broken file, when the environment reports that the release's DAG
    files do not import.
    """
    deadline = time.monotonic() + timeout_s
    pending = set(dag_ids)
    while True:
        try:
            for error in target.import_errors():
                if f"release {release_id}:" in error.stack_trace:
                    files = _broken_files(error.stack_trace) or [error.filename]
                    raise DeploymentError(
                        f"{target.environment}: DAG files of release {release_id} fail to "
                        f"import: {', '.join(files)}\n{error.stack_trace[-3000:]}"
                    )
            served = {d.dag_id for d in target.list_dags() if d.release == release_id}
            pending = set(dag_ids) - served
            if not pending:
                return
        except AirflowError:
            if time.monotonic() >= deadline:
                raise
        if time.monotonic() >= deadline:
            raise DeploymentError(
                f"{target.environment}: after {timeout_s:.0f}s these DAGs are still not served "
                f"from release {release_id}: {', '.join(sorted(pending))}"
            )
        time.sleep(2)
