"""Code location entry point: `dagster dev -w workspace.yaml` loads the definitions here."""

from release_assets.defs.definitions import defs

__all__ = ["defs"]
