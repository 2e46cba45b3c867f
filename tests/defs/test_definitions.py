"""The code location loads, and binds one set of runtimes per configured environment."""

from pathlib import Path

import dagster as dg
import pytest

from release_assets.config.deployment import LOCAL_DEPLOYMENT, load_deployment
from release_assets.defs.definitions import bound_resources, build_defs, defs
from release_assets.defs.resources import build_resources
from release_assets.runtimes.airflow.blue_green import BlueGreenAirflow
from release_assets.runtimes.airflow.local import LocalAirflow
from release_assets.runtimes.environment import Environment
from release_assets.runtimes.warehouse.duckdb import DuckDBWarehouse
from release_assets.settings import Settings, settings
from tests.deployments import write_local_deployment


def test_definitions_load_and_validate(isolated_settings: Settings) -> None:
    loaded = defs()
    dg.Definitions.validate_loadable(loaded)
    resources = bound_resources()
    assert {"artifact_store", "integration", "production", "env_staging", "env_prod"} <= set(
        resources
    )
    assert resources["production"].name == "prod"
    assert resources["integration"].name == "staging"


def test_the_embedded_local_deployment_is_the_default(
    isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELEASE_ASSETS_DEPLOYMENT", str(LOCAL_DEPLOYMENT))
    settings.cache_clear()
    ours = settings()
    local = load_deployment(LOCAL_DEPLOYMENT)
    dg.Definitions.validate_loadable(build_defs(local, ours))
    prod = build_resources(local.resolved(ours.state_dir), ours)["production"]
    # Blue/green: blue (8082) serves until a release changes the runtime; green is 8084.
    assert isinstance(prod.airflow, BlueGreenAirflow)
    assert prod.airflow.url == "http://127.0.0.1:8082"
    assert prod.airflow.color("green").url == "http://127.0.0.1:8084"
    assert Path(prod.warehouse.database) == ours.state_dir / "envs/prod/warehouse.duckdb"


def test_a_third_environment_is_one_more_block(tmp_path: Path, isolated_settings: Settings) -> None:
    path = write_local_deployment(
        tmp_path / "three.yaml", {"dev": 18090, "staging": 18091, "prod": 18092}
    )
    loaded = build_defs(load_deployment(path), isolated_settings)
    dg.Definitions.validate_loadable(loaded)
    resources = build_resources(
        load_deployment(path).resolved(isolated_settings.state_dir), isolated_settings
    )
    envs = {k: v for k, v in resources.items() if k.startswith("env_")}
    assert sorted(envs) == ["env_dev", "env_prod", "env_staging"]
    for name, env in envs.items():
        assert isinstance(env, Environment)
        assert env.name == name.removeprefix("env_")
        assert isinstance(env.airflow, LocalAirflow) and isinstance(env.warehouse, DuckDBWarehouse)
    ports = {env.airflow.port for env in envs.values()}
    assert ports == {18090, 18091, 18092}
    assert resources["integration"].name == "staging"
    assert resources["production"].name == "prod"
    dev_home = Path(resources["env_dev"].airflow.home)
    assert dev_home == isolated_settings.state_dir / "envs" / "dev"


def test_workspace_entry_point_loads_the_same_definitions() -> None:
    import definitions as entry

    assert entry.defs is defs
