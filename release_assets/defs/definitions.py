"""The Dagster definitions of release_assets."""

import dagster as dg

from release_assets.defs.assets.rollback import rollback
from release_assets.defs.jobs import RELEASE_ASSETS, RELEASE_CHECKS, release_job
from release_assets.defs.resources import build_resources
from release_assets.defs.sensors import merged_tag_sensor

__all__ = ["RELEASE_ASSETS", "defs"]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[*RELEASE_ASSETS, rollback],
        asset_checks=RELEASE_CHECKS,
        jobs=[release_job],
        sensors=[merged_tag_sensor],
        resources=build_resources(),
    )
