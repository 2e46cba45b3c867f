"""The Dagster definitions of release_assets."""

from __future__ import annotations

import dagster as dg

from release_assets.resources import build_resources


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
