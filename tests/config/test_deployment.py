from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from release_assets.config import (
    LOCAL_DEPLOYMENT,
    DeploymentConfigError,
    DuckDBWarehouseSpec,
    LocalAirflowSpec,
    LocalArtifactStoreSpec,
    LocalFileFlagsSpec,
    SecretRef,
    load_deployment,
    parse_deployment,
)
from release_assets.config.blue_green_specs import BlueGreenAirflowSpec
from release_assets.config.deployment import deployment_problems


def _env(name: str, port: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "airflow": {"kind": "local", "port": port},
        "warehouse": {"kind": "duckdb"},
        **extra,
    }


THREE: dict[str, Any] = {
    "version": 1,
    "production": "prod",
    "artifact_store": {"kind": "local"},
    "environments": [_env("dev", 8080), _env("staging", 8081), _env("prod", 8082)],
}


def _write(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _problems(tmp_path: Path, config: dict[str, Any]) -> list[str]:
    path = _write(tmp_path, config)
    with pytest.raises(DeploymentConfigError) as info:
        load_deployment(path)
    assert info.value.path == path
    assert str(info.value).startswith(f"{path}: {len(info.value.problems)} problem(s):")
    for problem in info.value.problems:
        assert f"  - {problem}" in str(info.value)
    return info.value.problems


def _changed(**fields: Any) -> dict[str, Any]:
    config = copy.deepcopy(THREE)
    config.update(fields)
    return config


def test_embedded_local_default_describes_staging_and_prod() -> None:
    deployment = load_deployment(LOCAL_DEPLOYMENT)
    assert deployment.names == ["staging", "prod"]
    assert deployment.production == "prod"
    assert deployment.integration == "staging"
    assert deployment.integration_env.name == "staging"
    assert deployment.production_env.name == "prod"
    # Both are blue/green: blue serves releases on its runtime, green one that changes it.
    colors = {
        env.name: (env.airflow.blue.port, env.airflow.green.port)
        for env in deployment.environments
        if isinstance(env.airflow, BlueGreenAirflowSpec)
    }
    assert colors == {"staging": (8081, 8083), "prod": (8082, 8084)}
    assert all(isinstance(env.warehouse, DuckDBWarehouseSpec) for env in deployment.environments)
    assert all(env.secrets.kind == "env" for env in deployment.environments)
    assert all(env.feature_flags.kind == "local_file" for env in deployment.environments)


def test_embedded_local_default_resolves_under_the_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "state"
    deployment = load_deployment(LOCAL_DEPLOYMENT).resolved(state)
    staging, prod = deployment.environments
    assert deployment.artifact_store.root == str(state / "artifacts")
    assert isinstance(staging.airflow, BlueGreenAirflowSpec)
    assert staging.airflow.blue.home == str(state / "envs" / "staging")
    assert staging.airflow.green.home == str(state / "envs" / "staging-green")
    assert prod.warehouse.path == str(state / "envs" / "prod" / "warehouse.duckdb")
    assert prod.feature_flags.path == str(state / "envs" / "prod" / "feature_flags.json")
    assert staging.artifact_store == deployment.artifact_store


def test_three_environments_integration_defaults_to_the_one_before_production(
    tmp_path: Path,
) -> None:
    deployment = load_deployment(_write(tmp_path, THREE))
    assert deployment.names == ["dev", "staging", "prod"]
    assert deployment.integration == "staging"
    assert deployment.integration_env is deployment.environment("staging")


def test_integration_may_be_any_environment_before_production(tmp_path: Path) -> None:
    deployment = load_deployment(_write(tmp_path, _changed(integration="dev")))
    assert deployment.integration == "dev"
    assert deployment.integration_env.airflow.port == 8080


def test_unknown_environment_lookup_names_the_known_ones(tmp_path: Path) -> None:
    deployment = load_deployment(_write(tmp_path, THREE))
    with pytest.raises(KeyError, match=r"unknown environment 'qa'; .*: dev, staging, prod"):
        deployment.environment("qa")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            _changed(
                environments=[
                    _env("staging", 8081),
                    {**_env("prod", 8082), "airflow": {"kind": "composer", "name": "prod"}},
                ]
            ),
            "environments[1].airflow.kind: unknown kind 'composer' (known: 'local'",
        ),
        (
            _changed(artifact_store={"kind": "gcs", "bucket": "releases"}),
            "artifact_store.kind: unknown kind 'gcs' (known: 'local', 's3')",
        ),
        (
            _changed(environments=[_env("staging", 8081), _env("prod", 8082, warehouse={})]),
            "environments[1].warehouse.kind: Field required",
        ),
        (
            _changed(
                environments=[_env("staging", 8081), _env("staging", 8082)], production="staging"
            ),
            "environments[1].name: 'staging' is already the name of environments[0]; "
            "environment names must be unique",
        ),
        (
            _changed(environments=[_env("staging", 8081), _env("prod", 8081)]),
            "environments[1].airflow.port: 8081 is already the Airflow port of environment "
            "'staging'; each local Airflow needs its own port",
        ),
        (
            _changed(production="live"),
            "production: 'live' is not an environment of this deployment "
            "(environments, in promotion order: dev, staging, prod)",
        ),
        (
            _changed(production="dev"),
            "production: 'dev' is the first environment, so none comes before it",
        ),
        (
            _changed(integration="prod"),
            "integration: 'prod' must come before production 'prod' in environments",
        ),
        (
            _changed(production="staging", integration="prod"),
            "integration: 'prod' must come before production 'staging'",
        ),
        (
            _changed(integration="qa"),
            "integration: 'qa' is not an environment of this deployment",
        ),
        (_changed(colour="blue"), "colour: Extra inputs are not permitted"),
        (
            _changed(environments=[_env("staging", 8081), _env("prod", 8082, region="eu")]),
            "environments[1].region: Extra inputs are not permitted",
        ),
        (
            _changed(environments=[_env("staging", 8081, airflow={"kind": "local", "port": 80})]),
            "environments[0].airflow.port: Input should be greater than or equal to 1024 (got 80)",
        ),
        (_changed(environments=[_env("prod", 8082)]), "environments: List should have at least 2"),
        (_changed(version=2), "version: Input should be 1 (got 2)"),
        (
            _changed(environments=[_env("Staging", 8081), _env("prod", 8082)]),
            "environments[0].name: String should match pattern",
        ),
        (
            _changed(environments=[_env("staging", 8081), _env("prod", 8082, secrets="env")]),
            "environments[1].secrets: expected a mapping of fields",
        ),
        (
            _changed(artifact_store={"kind": "local", "root": "{env}/artifacts"}),
            "artifact_store.root: unknown placeholder(s) {env}; only {state_dir} is expanded",
        ),
    ],
)
def test_each_wrong_field_is_named_with_the_file(
    tmp_path: Path, config: dict[str, Any], expected: str
) -> None:
    problems = _problems(tmp_path, config)
    assert any(p.startswith(expected) for p in problems), problems


def test_every_wrong_field_gets_its_own_line(tmp_path: Path) -> None:
    config = _changed(
        version=3,
        artifact_store={"kind": "gcs"},
        environments=[_env("dev", 8080), _env("staging", 80, warehouse={"kind": "bigquery"})],
        colour="blue",
    )
    problems = _problems(tmp_path, config)
    assert [p.split(":")[0] for p in problems] == [
        "version",
        "artifact_store.kind",
        "environments[1].airflow.port",
        "environments[1].warehouse.kind",
        "colour",
    ]


def test_consistency_faults_are_all_reported_at_once(tmp_path: Path) -> None:
    config = _changed(
        production="live",
        integration="qa",
        environments=[_env("dev", 8080), _env("dev", 8080), _env("prod", 8082)],
    )
    problems = _problems(tmp_path, config)
    assert [p.split(":")[0] for p in problems] == [
        "environments[1].name",
        "environments[1].airflow.port",
        "production",
        "integration",
    ]


def test_a_secret_value_in_the_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    # An unknown key is the likeliest place for a pasted password: it is named, never shown.
    config = _changed(
        environments=[
            _env("staging", 8081),
            _env("prod", 8082, warehouse={"kind": "duckdb", "password": "hunter2-value"}),
        ]
    )
    problems = _problems(tmp_path, config)
    assert "environments[1].warehouse.password: Extra inputs are not permitted" in problems
    assert not any("hunter2-value" in p for p in problems)


class _FutureWarehouse(BaseModel):
    """Stands for a later production kind: a field typed SecretRef."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["future"]
    password: SecretRef


def _secret_problems(password: object) -> list[str]:
    raw = {"kind": "future", "password": password}
    with pytest.raises(ValidationError) as info:
        _FutureWarehouse.model_validate(raw)
    return deployment_problems(info.value, raw)


def test_a_secret_reference_names_an_environment_variable() -> None:
    spec = _FutureWarehouse.model_validate(
        yaml.safe_load("kind: future\npassword: {env: WAREHOUSE_PASSWORD}\n")
    )
    assert spec.password == SecretRef(env="WAREHOUSE_PASSWORD")


def test_a_literal_secret_where_a_reference_is_expected_is_refused() -> None:
    problems = _secret_problems("hunter2-value")
    assert problems == [
        "password: secret values never go in the deployment file; write a reference to where "
        "the value is kept instead, e.g. {env: WAREHOUSE_PASSWORD}"
    ]


@pytest.mark.parametrize("reference", [{"env": "hunter2-value"}, {"env": "9LIVES"}])
def test_a_reference_must_be_a_variable_name(reference: dict[str, str]) -> None:
    problems = _secret_problems(reference)
    assert len(problems) == 1
    assert problems[0].startswith("password.env: must be the NAME of an environment variable")
    assert "hunter2-value" not in problems[0]


def test_a_reference_has_only_the_env_key() -> None:
    problems = _secret_problems({"env": "PW", "value": "hunter2-value"})
    assert problems == ["password.value: Extra inputs are not permitted"]


def test_bad_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "deployment.yaml"
    with pytest.raises(DeploymentConfigError, match="not valid YAML") as info:
        parse_deployment("production: [prod\n", path)
    assert str(info.value).startswith(f"{path}: 1 problem(s):")
    with pytest.raises(DeploymentConfigError, match="expected a mapping of fields"):
        parse_deployment("- staging\n- prod\n", path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(DeploymentConfigError, match="cannot read the file") as info:
        load_deployment(path)
    assert str(info.value).startswith(f"{path}: 1 problem(s):")


def test_resolved_fills_defaults_and_makes_paths_absolute(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = _changed(
        artifact_store={"kind": "local", "root": "bundles"},
        environments=[
            _env("dev", 8080, warehouse={"kind": "duckdb", "path": "/data/dev.duckdb"}),
            _env(
                "staging",
                8081,
                airflow={"kind": "local", "port": 8081, "home": "{state_dir}/airflow/staging"},
                artifact_store={"kind": "local", "root": "{state_dir}/../staging-artifacts"},
                feature_flags={"kind": "local_file", "path": "flags/staging.json"},
            ),
            _env("prod", 8082),
        ],
    )
    deployment = load_deployment(_write(tmp_path, config))
    resolved = deployment.resolved(state)
    dev, staging, prod = resolved.environments
    assert resolved.artifact_store == LocalArtifactStoreSpec(
        kind="local", root=str(state / "bundles")
    )
    assert dev.warehouse.path == "/data/dev.duckdb"
    assert dev.airflow == LocalAirflowSpec(
        kind="local", port=8080, home=str(state / "envs" / "dev")
    )
    assert dev.artifact_store == resolved.artifact_store
    assert staging.airflow.home == str(state / "airflow" / "staging")
    assert staging.artifact_store is not None
    assert staging.artifact_store.root == str(tmp_path / "staging-artifacts")
    assert staging.feature_flags == LocalFileFlagsSpec(
        kind="local_file", path=str(state / "flags" / "staging.json")
    )
    assert prod.warehouse.path == str(state / "envs" / "prod" / "warehouse.duckdb")
    # The loaded deployment is untouched, and resolving twice changes nothing.
    assert deployment.environments[0].airflow.home is None
    assert resolved.resolved(state) == resolved


def test_resolved_against_a_relative_state_dir_is_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    resolved = load_deployment(LOCAL_DEPLOYMENT).resolved(Path(".state"))
    assert resolved.artifact_store.root == str(tmp_path.resolve() / ".state" / "artifacts")
    homes = [
        color.home
        for env in resolved.environments
        if isinstance(env.airflow, BlueGreenAirflowSpec)
        for color in env.airflow.colors().values()
    ]
    assert len(homes) == 4 and all(Path(str(home)).is_absolute() for home in homes)


DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def _yaml_blocks() -> list[str]:
    parts = DOCS.read_text().split("```yaml\n")[1:]
    return [part.split("```", 1)[0] for part in parts]


def test_the_documented_three_environment_example_loads(tmp_path: Path) -> None:
    example = next(block for block in _yaml_blocks() if "environments:" in block)
    deployment = parse_deployment(example, DOCS)
    assert deployment.names == ["dev", "staging", "prod"]
    assert deployment.integration == "staging"
    dev, _, prod = deployment.resolved(tmp_path).environments
    assert dev.feature_flags.path == str(tmp_path / "flags" / "dev.json")
    assert prod.warehouse.path == "/srv/warehouse/prod.duckdb"


def test_the_documented_secret_reference_parses() -> None:
    block = next(block for block in _yaml_blocks() if block.startswith("password:"))
    assert SecretRef.model_validate(yaml.safe_load(block)["password"]).env == "WAREHOUSE_PASSWORD"


SNOWFLAKE: dict[str, Any] = {
    "kind": "snowflake",
    "account": "myorg-northstar",
    "user": "RELEASER",
    "database": "NORTHSTAR",
}
AWS_SECRETS: dict[str, Any] = {"kind": "aws_secrets_manager", "aws": {"region": "eu-west-1"}}


def test_a_secret_reference_the_environments_backend_cannot_resolve_is_refused(
    tmp_path: Path,
) -> None:
    config = copy.deepcopy(THREE)
    staging, prod = config["environments"][1], config["environments"][2]
    # staging reads environment variables: an aws_secret reference cannot be resolved there.
    staging["warehouse"] = {**SNOWFLAKE, "password": {"aws_secret": "ns/staging/sf-4711"}}
    # prod reads Secrets Manager: env references cannot be resolved there.
    prod["secrets"] = AWS_SECRETS
    prod["warehouse"] = {
        **SNOWFLAKE,
        "private_key": {"env": "SF_KEY_4711"},
        "private_key_passphrase": {"aws_secret": "ns/prod/sf", "key": "passphrase"},
    }
    prod["airflow"] = {
        "kind": "self_hosted",
        "url": "https://airflow.prod.example",
        "dags_folder": "/mnt/dags",
        "auth": {"kind": "token", "token": {"env": "AIRFLOW_TOKEN_4711"}},
    }

    problems = _problems(tmp_path, config)

    assert problems == [
        "environments[1].warehouse.password: an aws_secret reference, but this environment's "
        "secrets backend (secrets.kind: env) resolves only env references; write "
        "{env: VARIABLE_NAME} or change secrets.kind",
        "environments[2].airflow.auth.token: an env reference, but this environment's secrets "
        "backend (secrets.kind: aws_secrets_manager) resolves only aws_secret references; "
        "write {aws_secret: SECRET_ID} or change secrets.kind",
        "environments[2].warehouse.private_key: an env reference, but this environment's "
        "secrets backend (secrets.kind: aws_secrets_manager) resolves only aws_secret "
        "references; write {aws_secret: SECRET_ID} or change secrets.kind",
    ]
    assert not any("4711" in problem for problem in problems)


def test_references_of_the_backends_own_form_load(tmp_path: Path) -> None:
    config = copy.deepcopy(THREE)
    config["environments"][1]["warehouse"] = {**SNOWFLAKE, "password": {"env": "SF_PASSWORD"}}
    config["environments"][2]["secrets"] = AWS_SECRETS
    config["environments"][2]["warehouse"] = {
        **SNOWFLAKE,
        "password": {"aws_secret": "ns/prod/sf", "key": "password"},
    }

    deployment = load_deployment(_write(tmp_path, config))

    assert deployment.environment("prod").secrets.kind == "aws_secrets_manager"
