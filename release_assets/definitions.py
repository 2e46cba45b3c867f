"""The Dagster definitions of release_assets."""

from __future__ import annotations

import dagster as dg

from release_assets.release_artifact import release_artifact
from release_assets.release_candidate import release_candidate
from release_assets.resources import build_resources


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[release_candidate, release_artifact],
        resources=build_resources(),
    )
