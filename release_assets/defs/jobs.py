"""The release job: every release step for one partition (= one tag). `rollback` is not in it."""

import dagster as dg

from release_assets.defs.assets.canary_publish import canary_publish
from release_assets.defs.assets.prod_swap import prod_swap
from release_assets.defs.assets.regression_check import regression_check
from release_assets.defs.assets.release_artifact import release_artifact
from release_assets.defs.assets.release_candidate import release_candidate
from release_assets.defs.assets.staging_deployment import staging_deployment
from release_assets.defs.assets.staging_integration_run import staging_integration_run
from release_assets.defs.checks.validation_gates import validation_gates
from release_assets.defs.partitions import releases

RELEASE_ASSETS = [
    release_candidate,
    release_artifact,
    staging_deployment,
    staging_integration_run,
    canary_publish,
    regression_check,
    prod_swap,
]

# Blocking checks on release_candidate: a failing gate stops the release before its artifact.
RELEASE_CHECKS = [validation_gates]

release_job = dg.define_asset_job(
    "release",
    selection=dg.AssetSelection.assets(*RELEASE_ASSETS),
    partitions_def=releases,
    description="Take one release (partition = git tag) through every release step.",
)
