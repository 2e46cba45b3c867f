"""The jobs: `release` (every release step for one partition = one tag), `promote` (what the
approval sensor resumes for a release that waited: `approval` then `prod_swap`), and the
on-call jobs `rollback` and `redeploy`, so their runs are named in the UI."""

import dagster as dg

from release_assets.defs.assets.approval import approval
from release_assets.defs.assets.canary_publish import canary_publish
from release_assets.defs.assets.flag_canary import flag_canary
from release_assets.defs.assets.prod_swap import prod_swap
from release_assets.defs.assets.redeploy import redeploy
from release_assets.defs.assets.regression_check import regression_check
from release_assets.defs.assets.release_artifact import release_artifact
from release_assets.defs.assets.release_candidate import release_candidate
from release_assets.defs.assets.rollback import rollback
from release_assets.defs.assets.staging_deployment import staging_deployment
from release_assets.defs.assets.staging_integration_run import staging_integration_run
from release_assets.defs.checks.validation_gates import validation_gates
from release_assets.defs.partitions import feature_flags, releases

RELEASE_ASSETS = [
    release_candidate,
    release_artifact,
    staging_deployment,
    staging_integration_run,
    canary_publish,
    regression_check,
    approval,
    prod_swap,
]

ON_CALL_ASSETS = [rollback, redeploy]

# Blocking checks on release_candidate: a failing gate stops the release before its artifact.
RELEASE_CHECKS = [validation_gates]

RELEASE_GROUP = "release"
"""Every release step is in this asset group, the deployments to environments before
integration (built from the deployment configuration) included: the release job is the group."""

release_job = dg.define_asset_job(
    "release",
    selection=dg.AssetSelection.groups(RELEASE_GROUP),
    partitions_def=releases,
    description="Take one release (partition = git tag) through every release step.",
)

promote_job = dg.define_asset_job(
    "promote",
    selection=dg.AssetSelection.assets(approval, prod_swap),
    partitions_def=releases,
    description=(
        "Resume a release that waited for approval: `approval` again, then `prod_swap` "
        "(nothing is rebuilt). Launched by approval_sensor."
    ),
    executor_def=dg.in_process_executor,
)

rollback_job = dg.define_asset_job(
    "rollback",
    selection=dg.AssetSelection.assets(rollback),
    partitions_def=releases,
    description="Make the release live before the partition's (live) release live again.",
    executor_def=dg.in_process_executor,  # one process: no second spawn for the one step
)

redeploy_job = dg.define_asset_job(
    "redeploy",
    selection=dg.AssetSelection.assets(redeploy),
    partitions_def=releases,
    description="Make the partition's release, live before, live again (a reason is required).",
    executor_def=dg.in_process_executor,
)

feature_flag_job = dg.define_asset_job(
    "feature_flag",
    selection=dg.AssetSelection.assets(dg.AssetKey(["on_call", "feature_flag"])),
    partitions_def=feature_flags,
    description="Turn the partition's feature flag on or off in one environment (config: "
    "environment, state, reason).",
    executor_def=dg.in_process_executor,
)

flag_canary_job = dg.define_asset_job(
    "flag_canary",
    selection=dg.AssetSelection.assets(flag_canary),
    partitions_def=feature_flags,
    description="Run the partition's feature flag canary in production (the live release's "
    "code with the flag off and on, same inputs) and judge it.",
    executor_def=dg.in_process_executor,
)

JOBS = [release_job, promote_job, rollback_job, redeploy_job, feature_flag_job, flag_canary_job]
