"""The environments of the deployment configuration that run on this machine.

The local stack starts, stops and seeds every environment whose Airflow kind is ``local``;
their paths come from the (resolved) deployment configuration, never from code.
"""

from __future__ import annotations

from pathlib import Path

from release_assets.config.blue_green_specs import BlueGreenAirflowSpec
from release_assets.config.deployment import Deployment, EnvironmentSpec, load_deployment
from release_assets.config.deployment_specs import (
    DuckDBWarehouseSpec,
    LocalAirflowSpec,
    LocalArtifactStoreSpec,
)
from release_assets.config.flags_config import flag_store_uri
from release_assets.runtimes.airflow.local import LocalAirflow
from release_assets.runtimes.local_layout import EnvironmentLayout
from release_assets.settings import Settings


def deployment_of(settings: Settings) -> Deployment:
    """The deployment configuration named by ``settings``, every path resolved; raises
    DeploymentConfigError listing each wrong field."""
    return load_deployment(settings.deployment_file).resolved(settings.state_dir)


def local_airflow_spec(env: EnvironmentSpec) -> LocalAirflowSpec | None:
    """The local Airflow the stack starts for ``env``: its ``kind: local`` block, or the blue
    color of a ``kind: blue_green`` one (green starts when a release needs it); None when the
    environment's Airflow is not on this machine."""
    if isinstance(env.airflow, LocalAirflowSpec):
        return env.airflow
    if isinstance(env.airflow, BlueGreenAirflowSpec):
        return env.airflow.blue
    return None


def layouts(settings: Settings) -> list[EnvironmentLayout]:
    """Every environment with a local Airflow, in promotion order; production's stable names
    are release pointers (``release_schemas``), and each runs its schedules as its spec says."""
    out = []
    deployment = deployment_of(settings)
    for env in deployment.environments:
        airflow = local_airflow_spec(env)
        if airflow is not None:
            warehouse = (
                env.warehouse.path if isinstance(env.warehouse, DuckDBWarehouseSpec) else None
            )
            schedules = airflow.schedules
            out.append(
                EnvironmentLayout(
                    env.name,
                    Path(str(airflow.home)),
                    airflow.port,
                    Path(warehouse) if warehouse else None,
                    flag_store_uri(env.feature_flags, env.name),
                    schedule_compression=schedules.compression if schedules.enabled else None,
                    release_schemas=env.name == deployment.production,
                )
            )
    return out


def log_server_ports(settings: Settings) -> dict[str, int]:
    """Environment name -> the port of its Airflow log servers (``log_server_port`` of its
    local Airflow spec, default its Airflow port + 700), for every local environment."""
    specs = {env.name: local_airflow_spec(env) for env in deployment_of(settings).environments}
    return {name: spec.effective_log_server_port for name, spec in specs.items() if spec}


class UnknownEnvironment(LookupError):
    """An environment name the deployment configuration does not have (as a local one)."""


def layout(settings: Settings, name: str) -> EnvironmentLayout:
    """The local environment ``name``; UnknownEnvironment naming the local environments there
    are."""
    found = {lay.name: lay for lay in layouts(settings)}
    if name not in found:
        known = ", ".join(found) or "none"
        raise UnknownEnvironment(
            f"no local environment {name!r} in {settings.deployment_file} (there are: {known})"
        )
    return found[name]


def local_airflow(settings: Settings, name: str) -> LocalAirflow:
    """The Airflow target of the local environment ``name``."""
    return LocalAirflow.of_layout(layout(settings, name))


def artifacts_dir(settings: Settings) -> Path:
    """The folder of the deployment's local artifact store (ValueError if it is not local)."""
    spec = deployment_of(settings).artifact_store
    if not isinstance(spec, LocalArtifactStoreSpec):
        raise ValueError(f"{settings.deployment_file}: the artifact store is not a local folder")
    return Path(str(spec.root))
