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
from release_assets.runtimes.processes import TimeoutExpired
from release_assets.runtimes.warehouse.types import WarehouseError


@contextmanager
def step_failures(environment: str) -> Iterator[None]:
    """Report runtime errors of a step against ``environment`` as one-line failures."""
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
    except (
        DeploymentError,
        AirflowError,
        WarehouseError,
        ArtifactError,
        TimeoutExpired,
        FileNotFoundError,
    ) as exc:
        raise dg.Failure(str(exc), metadata={"environment": environment}) from None
