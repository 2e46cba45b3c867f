"""Production runtime errors raised in a step end it as one-line failures naming the
environment (``defs/failures.step_failures``), never as a traceback."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from release_assets.defs.assets.staging_deployment import staging_deployment
from release_assets.runtimes.airflow.bundle_repo import BundleRepoError
from release_assets.runtimes.airflow.fake import FakeAirflow
from release_assets.runtimes.airflow.s3_dags import ReleaseTampered
from release_assets.runtimes.audit.types import AuditError
from release_assets.runtimes.aws import AwsRuntimeError
from release_assets.runtimes.environment import Environment
from release_assets.runtimes.secrets.aws import AwsSecretNotFound, SecretsBackendError
from release_assets.runtimes.secrets.base import SecretNotFound
from tests.fakes import STAGING, FakeWorld, failure_metadata, failure_of, materialize

ERRORS: dict[str, type[Exception]] = {
    "bundle_repo": BundleRepoError,
    "tampered": ReleaseTampered,
    "aws": AwsRuntimeError,
    "secrets_backend": SecretsBackendError,
    "aws_secret_missing": AwsSecretNotFound,
    "secret_missing": SecretNotFound,
    "audit": AuditError,
}


class FailingAirflow(FakeAirflow):
    """A fake Airflow whose publish fails with the runtime error named ``error``."""

    error: str

    def publish(self, release_id: str, bundle_dir: Path) -> None:
        raise ERRORS[self.error](f"{STAGING}: {self.error} failed publishing {release_id}")


@pytest.mark.parametrize("error", sorted(ERRORS))
def test_a_production_runtime_error_fails_the_step_with_its_one_line_message(
    world: FakeWorld, instance: dg.DagsterInstance, error: str
) -> None:
    world.add_release("v1")
    env = world.environment(STAGING)
    failing = FailingAirflow(environment=STAGING, world=world.name, error=error)
    changed = Environment(
        name=STAGING,
        airflow=failing,
        warehouse=env.warehouse,
        artifacts=env.artifacts,
        secrets=env.secrets,
        flags=env.flags,
        spark=env.spark,
        locks_dir=env.locks_dir,
    )
    world.overrides.update({f"env_{STAGING}": changed, "integration": changed})

    result = materialize(world, instance, [staging_deployment], "v1")

    # failure_metadata asserts a dg.Failure (no traceback shown) was raised.
    assert failure_metadata(result, "staging_deployment")["environment"] == STAGING
    assert failure_of(result, "staging_deployment") == f"{STAGING}: {error} failed publishing v1"
