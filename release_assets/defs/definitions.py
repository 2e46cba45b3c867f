"""The Dagster definitions of release_assets, bound to a deployment configuration."""

from typing import Any

import dagster as dg

from release_assets.config.deployment import Deployment, load_deployment
from release_assets.defs.approval_sensor import approval_sensor
from release_assets.defs.assets.environment_deployment import build_environment_deployment
from release_assets.defs.assets.feature_flag import build_feature_flag
from release_assets.defs.assets.flag_canary import flag_canary
from release_assets.defs.assets.staging_deployment import (
    build_staging_deployment,
    staging_deployment,
)
from release_assets.defs.environment_history import history_specs
from release_assets.defs.jobs import JOBS, ON_CALL_ASSETS, RELEASE_ASSETS, RELEASE_CHECKS
from release_assets.defs.monitor_sensor import build_post_release_monitor
from release_assets.defs.progress_logger import LOGGERS
from release_assets.defs.promotion_inputs import deploy_step
from release_assets.defs.resources import build_resources
from release_assets.defs.sensors import merged_tag_sensor
from release_assets.settings import Settings, settings

__all__ = ["RELEASE_ASSETS", "bound_resources", "build_defs", "defs"]


def build_defs(deployment: Deployment, config: Settings) -> dg.Definitions:
    """The definitions with every runtime bound as ``deployment`` (resolved against the
    settings' state directory) says."""
    resolved = deployment.resolved(config.state_dir)
    return dg.Definitions(
        assets=[
            *release_steps(resolved),
            *ON_CALL_ASSETS,
            build_feature_flag(resolved.names),
            flag_canary,
            *history_specs(resolved.names),
        ],
        asset_checks=RELEASE_CHECKS,
        jobs=JOBS,
        sensors=[
            merged_tag_sensor,
            approval_sensor,
            build_post_release_monitor(resolved.production_env.monitor),
        ],
        resources=fixed(build_resources(resolved, config)),
        loggers=LOGGERS,
    )


def release_steps(deployment: Deployment) -> list[dg.AssetsDefinition]:
    """The release steps for ``deployment``: one ``deploy_<name>`` step per environment
    before the integration environment, in promotion order, between the artifact and
    ``staging_deployment``; the fixed steps otherwise."""
    names = deployment.names
    early = names[: names.index(deployment.integration_env.name)]
    if not early:
        return list(RELEASE_ASSETS)
    steps: list[dg.AssetsDefinition] = []
    after = "release_artifact"
    for name in early:
        steps.append(build_environment_deployment(name, after))
        after = deploy_step(name)
    replaced = [
        build_staging_deployment(after) if a is staging_deployment else a for a in RELEASE_ASSETS
    ]
    return [*replaced, *steps]


def fixed(resources: dict[str, Any]) -> dict[str, Any]:
    """Every resource bound as a fixed value. Dagster lets a run's config override the fields
    of a configurable resource (the Launchpad, the GraphQL API), which would let a launch point
    the controls at another promotion policy, audit trail or record store; a fixed resource
    ignores run config."""
    out: dict[str, Any] = {}
    for key, value in resources.items():
        if isinstance(value, dg.ConfigurableIOManager):
            out[key] = dg.IOManagerDefinition.hardcoded_io_manager(value)
        elif isinstance(value, dg.ConfigurableResource):
            out[key] = dg.ResourceDefinition.hardcoded_resource(value)
        else:
            out[key] = value
    return out


def bound_resources() -> dict[str, Any]:
    """The resource objects the code location binds (for the CLI and tests that read them)."""
    current = settings()
    deployment = load_deployment(current.deployment_file).resolved(current.state_dir)
    return build_resources(deployment, current)


@dg.definitions
def defs() -> dg.Definitions:
    """The code location's definitions: the deployment file named by the settings (read when
    Dagster loads the code location, not at import)."""
    current = settings()
    return build_defs(load_deployment(current.deployment_file), current)
