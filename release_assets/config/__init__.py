"""Configuration files: the pipelines repository's ``release.yaml`` and the platform
engineer's deployment file (environments and their runtimes)."""

from release_assets.config.config_file import ConfigFileError
from release_assets.config.deployment import (
    DEPLOYMENT_ENV_VAR,
    LOCAL_DEPLOYMENT,
    Deployment,
    DeploymentConfigError,
    EnvironmentSpec,
    load_deployment,
    parse_deployment,
)
from release_assets.config.deployment_specs import (
    DuckDBWarehouseSpec,
    EnvSecretsSpec,
    LocalAirflowSpec,
    LocalArtifactStoreSpec,
    LocalFileFlagsSpec,
    SecretRef,
)
from release_assets.config.release_config import (
    CriticalTable,
    ReleaseConfig,
    ReleaseConfigError,
    Thresholds,
    load_release_config,
)

__all__ = [
    "DEPLOYMENT_ENV_VAR",
    "LOCAL_DEPLOYMENT",
    "ConfigFileError",
    "CriticalTable",
    "Deployment",
    "DeploymentConfigError",
    "DuckDBWarehouseSpec",
    "EnvSecretsSpec",
    "EnvironmentSpec",
    "LocalAirflowSpec",
    "LocalArtifactStoreSpec",
    "LocalFileFlagsSpec",
    "ReleaseConfig",
    "ReleaseConfigError",
    "SecretRef",
    "Thresholds",
    "load_deployment",
    "load_release_config",
    "parse_deployment",
]
