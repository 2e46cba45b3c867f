"""Turning release-logic errors into Dagster failures with the metadata a person needs.

Each helper raises ``dg.Failure`` with one clear description naming the release, environment,
DAG or file at fault; the underlying exception is not chained, so no traceback is shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from release_assets.core.dag_runs import RunFailed
from release_assets.core.deploy import DeploymentError
from release_assets.runtimes.airflow.types import AirflowError
from release_assets.runtimes.artifacts.types import ArtifactError
from release_assets.runtimes.audit.types import AuditError
from release_assets.runtimes.aws import AwsRuntimeError
from release_assets.runtimes.processes import TimeoutExpired
from release_assets.runtimes.secrets.aws import SecretsBackendError
from release_assets.runtimes.secrets.base import SecretNotFound
from release_assets.runtimes.warehouse.types import WarehouseError

STEP_ERRORS: tuple[type[BaseException], ...] = (
    DeploymentError,
    AirflowError,  # incl. DagsPrefixError/ReleaseTampered (MWAA), BundleRepoError (Airflow 3)
    WarehouseError,
    ArtifactError,
    AuditError,
    AwsRuntimeError,
    SecretsBackendError,
    SecretNotFound,
    TimeoutExpired,
    FileNotFoundError,
)
"""The runtime errors a step reports as a one-line failure: each carries a one-line message
naming what is at fault (environment, store, reference...); anything else is a bug and keeps
its traceback."""


def one_line(exc: BaseException) -> str:
    """``exc``'s message: ``str(exc)``, except for a ``KeyError`` (``SecretNotFound``), whose
    ``str()`` would quote the message, where it is the first argument."""
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc)


@contextmanager
def step_failures(environment: str) -> Iterator[None]:
    """Report runtime errors of a step against ``environment`` (those in ``STEP_ERRORS``)
    as one-line ``dg.Failure``s with ``environment`` in the metadata."""
    try:
        yield
    except RunFailed as exc:
        raise dg.Failure(
            str(exc),
            metadata={
                "environment": environment,
                "runs": dg.MetadataValue.md(exc.table),
                "log_excerpt": dg.MetadataValue.text(exc.result.log_excerpt),
            },
        ) from None
    except STEP_ERRORS as exc:
        raise dg.Failure(one_line(exc), metadata={"environment": environment}) from None
