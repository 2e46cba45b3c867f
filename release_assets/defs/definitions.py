"""The Dagster definitions of release_assets, bound to a deployment configuration."""

import dagster as dg

from release_assets.config.deployment import Deployment, load_deployment
from release_assets.defs.assets.rollback import rollback
from release_assets.defs.jobs import RELEASE_ASSETS, RELEASE_CHECKS, release_job
from release_assets.defs.resources import build_resources
from release_assets.defs.sensors import merged_tag_sensor
from release_assets.settings import Settings, settings

__all__ = ["RELEASE_ASSETS", "build_defs", "defs"]


def build_defs(deployment: Deployment, config: Settings) -> dg.Definitions:
    """The definitions with every runtime bound as ``deployment`` (resolved against the
    settings' state directory) says."""
    resolved = deployment.resolved(config.state_dir)
    return dg.Definitions(
        assets=[*RELEASE_ASSETS, rollback],
        asset_checks=RELEASE_CHECKS,
        jobs=[release_job],
        sensors=[merged_tag_sensor],
        resources=build_resources(resolved, config),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location's definitions: the deployment file named by the settings (read when
    Dagster loads the code location, not at import)."""
    current = settings()
    return build_defs(load_deployment(current.deployment_file), current)
