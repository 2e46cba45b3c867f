"""The pipelines repository's release configuration (``release.yaml``)."""

from release_assets.config.release_config import (
    CriticalTable,
    ReleaseConfig,
    ReleaseConfigError,
    Thresholds,
    load_release_config,
)

__all__ = [
    "CriticalTable",
    "ReleaseConfig",
    "ReleaseConfigError",
    "Thresholds",
    "load_release_config",
]
