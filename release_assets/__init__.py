"""release_assets: release data-pipeline repositories through Dagster assets."""

__version__ = "0.1.0"
