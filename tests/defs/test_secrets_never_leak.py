"""No secret value leaks: credentials the runtimes resolve (from environment variables in
staging, from Secrets Manager on moto in prod) are planted with known values, releases run
through their steps against the fakes (one reaching prod, one failing while a credential is in
scope), and the sweep finds none of the values in the Dagster instance (runs, events, step
failures, compute logs), the audit trail or any file under the state folder. A second test
shows the sweep finds a value that is deliberately leaked in each kind of place."""

import json
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from release_assets.config.aws_service_specs import AwsSecretsManagerSpec
from release_assets.core.audit import AuditEvent
from release_assets.defs.assets.approval import approval
from release_assets.defs.assets.canary_publish import canary_publish
from release_assets.defs.assets.prod_swap import prod_swap
from release_assets.defs.assets.regression_check import regression_check
from release_assets.defs.assets.staging_deployment import staging_deployment
from release_assets.defs.assets.staging_integration_run import staging_integration_run
from release_assets.runtimes.airflow.fake import FakeAirflow
from release_assets.runtimes.airflow.types import AirflowApiError
from release_assets.runtimes.environment import Environment
from release_assets.runtimes.secrets.aws import AwsSecretsManager, clear_cache
from release_assets.runtimes.secrets.base import SecretsBackend
from release_assets.runtimes.secrets.env import EnvSecrets
from release_assets.runtimes.warehouse.fake import FakeWarehouse
from tests.aws_server import MotoServer
from tests.fakes import (
    PROD,
    STAGING,
    FakeWorld,
    failure_of,
    materialize,
    materialized,
    table_sql,
)
from tests.secret_sweep import sweep

STEPS = [
    staging_deployment,
    staging_integration_run,
    canary_publish,
    regression_check,
    approval,
    prod_swap,
]
RESOLVED: Counter[tuple[str, str]] = Counter()
"""(environment, reference) -> how many times a test runtime resolved it."""


def _home(world: FakeWorld) -> str:
    """A Dagster home inside the world's folder (SQLite storage, captured compute logs), so
    the sweep of that folder reads the instance's files too."""
    home = world.root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    return str(home)


def _planted(what: str) -> str:
    return f"planted-{what}-{uuid.uuid4().hex}"


def _use(secrets: SecretsBackend, environment: str, reference: str) -> str:
    value = secrets.resolve(reference)
    RESOLVED[(environment, reference)] += 1
    return value


class CredentialedAirflow(FakeAirflow):
    """A fake Airflow that, as the REST targets do, resolves its API token for each call
    that changes it; with ``refuse_token`` the API answers 401 once the token is in hand."""

    secrets: SecretsBackend
    token_ref: str
    refuse_token: bool = False

    def _call(self, method: str, path: str) -> None:
        token = _use(self.secrets, self.environment, self.token_ref)
        if self.refuse_token and token:
            raise AirflowApiError(self.environment, method, path, 401, "Unauthorized")

    def publish(self, release_id: str, bundle_dir: Path) -> None:
        self._call("PUT", f"/releases/{release_id}")
        super().publish(release_id, bundle_dir)

    def publish_canary(self, release_id: str, dag_ids: list[str]) -> dict[str, str]:
        self._call("PUT", f"/canaries/{release_id}")
        return super().publish_canary(release_id, dag_ids)

    def trigger(
        self,
        dag_id: str,
        run_id: str,
        conf: dict[str, object],
        logical_date: str | None = None,
    ) -> str:
        self._call("POST", f"/dags/{dag_id}/dagRuns")
        return super().trigger(dag_id, run_id, conf, logical_date)


class CredentialedWarehouse(FakeWarehouse):
    """A fake warehouse that resolves its password on every connection, as a Snowflake
    connection would."""

    secrets: SecretsBackend
    password_ref: str

    @contextmanager
    def connect(self, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        _use(self.secrets, self.environment, self.password_ref)
        with super().connect(read_only) as connection:
            yield connection


def _environment(
    world: FakeWorld, name: str, secrets: SecretsBackend, refs: dict[str, str], refuse: bool
) -> Environment:
    """The world's fake environment ``name`` with a credentialed Airflow and warehouse whose
    credentials ``secrets`` resolves (every other runtime as the world binds it)."""
    base = world.environment(name)
    runtimes = {field: getattr(base, field) for field in Environment.model_fields}
    runtimes |= {
        "airflow": CredentialedAirflow(
            environment=name,
            world=world.name,
            secrets=secrets,
            token_ref=refs["token"],
            refuse_token=refuse,
        ),
        "warehouse": CredentialedWarehouse(
            environment=name, world=world.name, secrets=secrets, password_ref=refs["password"]
        ),
        "secrets": secrets,
    }
    return Environment(**runtimes)


def _bind(
    world: FakeWorld,
    staging: tuple[SecretsBackend, dict[str, str]],
    prod: tuple[SecretsBackend, dict[str, str]],
    refuse_prod: bool = False,
) -> None:
    envs = {
        STAGING: _environment(world, STAGING, *staging, refuse=False),
        PROD: _environment(world, PROD, *prod, refuse=refuse_prod),
    }
    world.overrides.update(
        {
            f"env_{STAGING}": envs[STAGING],
            f"env_{PROD}": envs[PROD],
            "integration": envs[STAGING],
            "production": envs[PROD],
        }
    )


def _dbt_builds_with_the_warehouse_password(
    world: FakeWorld, environment: str, warehouse: FakeWarehouse
) -> None:
    """As the real dbt_build DAG: each run builds the marts into the run's schema suffix,
    connecting to the warehouse with its password (resolved by ``warehouse``)."""

    def effect(dag_id: str, conf: dict[str, object]) -> None:
        if dag_id.split("__canary_", 1)[0] == "dbt_build":
            suffix = str(conf.get("schema_suffix") or "")
            for table, rows in {"marts.fct_orders": 120, "marts.dim_customers": 40}.items():
                schema, name = table.split(".", 1)
                warehouse.execute(table_sql(f"{schema}{suffix}.{name}", rows))

    world.on_run(environment, effect)


def test_no_planted_secret_appears_anywhere_after_releases_pass_and_fail(
    world: FakeWorld,
    moto_server: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    clear_cache()
    planted = {name: _planted(name) for name in ("staging_token", "staging_password")}
    planted |= {name: _planted(name) for name in ("prod_token", "prod_password")}
    monkeypatch.setenv("RA_STAGING_AIRFLOW_TOKEN", planted["staging_token"])
    monkeypatch.setenv("RA_STAGING_WAREHOUSE_PASSWORD", planted["staging_password"])
    sm = moto_server.clients.client("secretsmanager")
    token_id, warehouse_id = (f"prod/{moto_server.unique(n)}" for n in ("airflow", "warehouse"))
    sm.create_secret(Name=token_id, SecretString=planted["prod_token"])
    sm.create_secret(
        Name=warehouse_id,
        SecretString=json.dumps({"user": "svc_release", "password": planted["prod_password"]}),
    )
    aws = AwsSecretsManager.of(
        AwsSecretsManagerSpec(kind="aws_secrets_manager", aws=moto_server.spec), PROD
    )
    staging_refs = {
        "token": "RA_STAGING_AIRFLOW_TOKEN",
        "password": "RA_STAGING_WAREHOUSE_PASSWORD",
    }
    prod_refs = {"token": token_id, "password": f"{warehouse_id}#password"}
    RESOLVED.clear()

    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", {"marts.fct_orders": 120, "marts.dim_customers": 40})
    backends = {STAGING: (EnvSecrets(), staging_refs), PROD: (aws, prod_refs)}
    for env, (secrets, refs) in backends.items():
        warehouse = _environment(world, env, secrets, refs, refuse=False).warehouse
        assert isinstance(warehouse, FakeWarehouse)
        _dbt_builds_with_the_warehouse_password(world, env, warehouse)
    for tag, base in (("v2", "v1"), ("v3", "v2")):
        world.add_release(tag, base_release=base, evidence_through="release_artifact")

    with dg.instance_for_test(temp_dir=_home(world)) as instance:
        _bind(world, backends[STAGING], backends[PROD])
        passed = materialize(world, instance, STEPS, "v2")
        _bind(world, backends[STAGING], backends[PROD], refuse_prod=True)
        failed = materialize(world, instance, STEPS, "v3")

        assert passed.success and world.airflow(PROD).live == "v2"
        assert not failed.success and not materialized(failed, "canary_publish")
        assert "answered HTTP 401" in failure_of(failed, "canary_publish")
        # Every credential was really resolved while the steps ran (the sweep is not vacuous).
        for env, refs in ((STAGING, staging_refs), (PROD, prod_refs)):
            assert all(RESOLVED[(env, ref)] > 0 for ref in refs.values()), RESOLVED

        captured = capsys.readouterr()
        leaks = sweep(
            planted,
            instance=instance,
            audit=world.audit,
            folders=[world.root],
            texts={
                "pytest captured stdout": captured.out,
                "pytest captured stderr": captured.err,
                "log records": caplog.text,
            },
        )
    assert leaks == []


@dg.asset(config_schema={"token": str})
def _leaky(context: dg.AssetExecutionContext) -> None:
    """A deliberately careless step: every way a value can leak."""
    token = str(context.op_execution_context.op_config["token"])
    context.log.info(f"using {token[:24]}")
    print(f"stdout {token}")
    print(f"stderr {token}", file=sys.stderr)
    raise RuntimeError(f"request refused for token {token}")


def test_the_sweep_finds_a_value_leaked_in_each_kind_of_place(world: FakeWorld) -> None:
    token = _planted("leaked")
    world.audit.append(
        AuditEvent(action="step", outcome="failed", actor="test", step="x", detail=token)
    )
    (world.root / "state.json").write_text(json.dumps({"token": token}))
    with dg.instance_for_test(temp_dir=_home(world)) as instance:
        result = dg.materialize(
            [_leaky],
            instance=instance,
            run_config={"ops": {"_leaky": {"config": {"token": token}}}},
            tags={"note": token},
            raise_on_error=False,
        )
        assert not result.success
        leaks = sweep(
            {"token": token, "unused": _planted("unused")},
            instance=instance,
            audit=world.audit,
            folders=[world.root],
            texts={"log": f"x{token}x"},
        )

    kinds = {leak.kind for leak in leaks}
    assert kinds == {
        "run tags",
        "run config",
        "event log",
        "step failure",
        "compute log",
        "audit trail",
        "file",
        "text",
    }
    assert {leak.secret for leak in leaks} == {"token"}
    assert all(token not in leak.place for leak in leaks)
