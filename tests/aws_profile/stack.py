"""Bring the AWS-shaped profile up, report it, take it down.

``up(root, runtimes_dir)`` starts every server on 127.0.0.1 free ports (kept in
``<root>/ports.json`` while they stay free), provisions the emulators, writes
``<root>/deployment.yaml`` from ``deployment.yaml.tmpl``, checks that it loads and that
``build_resources`` builds it, and waits until both Airflows are healthy; it is idempotent.
``down(root)`` stops every session it started (nothing stays listening). moto keeps its state in
memory, so ``down`` also deletes the profile's other state (Airflow homes, fakesnow files,
PostgreSQL cluster): the next ``up`` starts from an empty, consistent profile.
``running_profile`` is ``up`` ... ``down`` as a context manager, for tests.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from release_assets.cli.demo import create_repository
from release_assets.cli.demo_approvals import allowed_signers, demo_keys
from release_assets.config.aws_specs import AwsConnectionSpec
from release_assets.config.deployment import Deployment, load_deployment
from release_assets.config.snowflake_specs import SnowflakeWarehouseSpec
from release_assets.defs.resources import build_resources
from release_assets.runtimes import processes
from release_assets.runtimes.aws import AwsClients
from release_assets.runtimes.processes import Say
from release_assets.runtimes.warehouse.snowflake import SnowflakeWarehouse
from release_assets.settings import CHECKOUT_ROOT, Settings, load_settings
from tests.aws_profile import airflows, provision, seed, servers
from tests.aws_profile.airflows import ProfileLayout
from tests.aws_profile.instance import settings_env, write_env_file, write_instance
from tests.aws_profile.servers import ProfilePaths
from tests.aws_profile.state import ENVIRONMENTS, SERVERS, down
from tests.aws_server import FAKE_CREDENTIALS, REGION
from tests.environ import patched_environ
from tests.fakesnow_server import fakesnow_command, fakesnow_ready

AIRFLOW_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Profile:
    """A running profile: ``paths``, ``ports`` (server -> port), ``deployment_file``,
    ``env`` (the settings variables: see ``instance.settings_env``), ``endpoints`` (name ->
    URL), ``start_s`` (server -> seconds from start to ready; 0.0 if it was running),
    ``up_s`` (the whole ``up``, seconds) and ``emr`` (application id, role ARN)."""

    paths: ProfilePaths
    ports: dict[str, int]
    deployment_file: Path
    env: dict[str, str]
    endpoints: dict[str, str]
    start_s: dict[str, float]
    up_s: float
    emr: tuple[str, str]

    def settings(self) -> Settings:
        """This process's settings pointed at the profile (nothing else changed)."""
        return dataclasses.replace(
            load_settings(),
            state_dir=self.paths.root,
            deployment_file=self.deployment_file,
            dagster_home=self.paths.dagster_home,
            runtimes_dir=Path(self.env["RELEASE_ASSETS_RUNTIMES_DIR"]),
        )

    def deployment(self) -> Deployment:
        """The written deployment file, loaded and resolved against the profile's state."""
        return load_deployment(self.deployment_file).resolved(self.paths.root)

    def resources(self) -> dict[str, Any]:
        """The product's resources built from the deployment file (``build_resources``)."""
        return build_resources(self.deployment(), self.settings())

    def layout(self, env: str) -> ProfileLayout:
        """The environment's Airflow layout (home, DAGs folder, credentials, Variables)."""
        return _layout(self.paths, env, self.ports, self.emr)

    def set_mwaa_status(self, status: str) -> None:
        """What the stand-in's GetEnvironment reports for staging (``UPDATING`` plays an
        environment update); picked up within a second."""
        _record(self.paths).write_text(json.dumps({"status": status}))


def fake_aws_credentials() -> contextlib.AbstractContextManager[None]:
    """moto's fake credentials in this process's environment (boto3's default chain) for the
    duration; restores what was there."""
    return patched_environ(FAKE_CREDENTIALS, remove=["AWS_PROFILE"])


def _pipelines_repository(profile: Profile) -> Path:
    """The example as the team's git repository (branch main) at the settings' ``git_repo``
    for the profile (``<profile>/demo/northstar``), made once, with the demo approvers' SSH
    keys (``<profile>/demo/keys``) in its allowed signers, as ``release-assets demo prepare``
    makes the local one; the UI's tag sensor reads it."""
    current = profile.settings()
    repo = profile.paths.root / "demo" / "northstar"
    create_repository(current.pipelines_repo, repo, allowed_signers(demo_keys(current)))
    return repo


def _record(paths: ProfilePaths) -> Path:
    return paths.mwaa_dir / f"{provision.NAMES['staging_mwaa_name']}.json"


def _layout(
    paths: ProfilePaths, env: str, ports: dict[str, int], emr: tuple[str, str]
) -> ProfileLayout:
    variables = (
        ("warehouse_kind", "snowflake"),
        ("spark_runner", "emr_serverless"),
        ("emr_application_id", emr[0]),
        ("emr_execution_role_arn", emr[1]),
        # The job's input on S3 (EMR cannot read the worker's disk); moto's EMR Serverless
        # runs no code, so nothing is uploaded there.
        ("inventory_input_uri", f"s3://{provision.NAMES['emr_bucket']}/sources/{env}/s3/inventory"),
        # Where the DAGs read this environment's feature flags: the SSM path the platform
        # writes (the deployment's feature_flags prefix), reached through AWS_ENDPOINT_URL.
        ("feature_flags_uri", f"ssm://{provision.NAMES['flags_prefix']}/{env}"),
    )
    return ProfileLayout(env, paths.env_root(env), ports[f"{env}-airflow"], variables=variables)


def _start_servers(paths: ProfilePaths, ports: dict[str, int], say: Say) -> dict[str, float]:
    env = servers.aws_env()
    took = {
        "moto": servers.start_server(
            paths,
            "moto",
            servers.moto_command(ports["moto"]),
            env,
            lambda: servers.port_open(ports["moto"]),
            say,
        )
    }
    log = paths.log_file("fakesnow")
    # A server started now is ready when its own lines say so (the log is appended to by
    # every start); one already running said so earlier in the log.
    running = processes.read(paths.pid_file("fakesnow")) is not None
    logged = log.stat().st_size if log.exists() and not running else 0
    took["fakesnow"] = servers.start_server(
        paths,
        "fakesnow",
        fakesnow_command(ports["fakesnow"]),
        env,
        lambda: fakesnow_ready(log, ports["fakesnow"], after=logged),
        say,
    )
    servers.init_postgres(paths)
    took["postgres"] = servers.start_server(
        paths,
        "postgres",
        servers.postgres_command(paths, ports["postgres"]),
        env,
        lambda: servers.postgres_ready(ports["postgres"]),
        say,
    )
    servers.ensure_database(ports["postgres"])
    return took


def _start_standin(
    paths: ProfilePaths, ports: dict[str, int], moto: str, staging: ProfileLayout, version: str
) -> Callable[[Say], float]:
    paths.mwaa_dir.mkdir(parents=True, exist_ok=True)
    if not _record(paths).exists():
        _record(paths).write_text(json.dumps({"status": "AVAILABLE"}))
    name = provision.NAMES["staging_mwaa_name"]
    config = {
        "port": ports["mwaa-standin"],
        "region": REGION,
        "moto": moto,
        "sync_interval_s": 2.0,
        "environments": [
            {
                "name": name,
                "bucket": provision.NAMES["staging_dags_bucket"],
                "prefix": "dags",
                "airflow_url": staging.url,
                "credentials_file": str(staging.credentials_file),
                "dags_folder": str(staging.dags_folder),
                "record_file": str(_record(paths)),
                "requirements_path": provision.REQUIREMENTS_KEY,
                "requirements_version": version or None,
            }
        ],
    }
    config_file = paths.mwaa_dir / "standin.json"
    config_file.write_text(json.dumps(config, indent=2))
    command = [sys.executable, "-m", "tests.aws_profile.standin_service", str(config_file)]
    return lambda say: servers.start_server(
        paths,
        "mwaa-standin",
        command,
        servers.aws_env(),
        lambda: servers.port_open(ports["mwaa-standin"]),
        say,
        cwd=CHECKOUT_ROOT,
    )


def up(root: Path, runtimes_dir: Path, say: Say = print) -> Profile:
    """Bring the profile up under ``root`` (idempotent) and return it; RuntimeError naming
    the server or Airflow that did not come up."""
    began = time.monotonic()
    paths = ProfilePaths(root.resolve())
    owners = {name: paths.pid_file(name) for name in SERVERS}
    owners["staging-airflow"] = paths.env_root("staging") / "run" / "webserver.pid"
    owners["prod-airflow"] = paths.env_root("prod") / "run" / "api-server.pid"
    ports = servers.choose_ports(paths, owners)
    moto = f"http://127.0.0.1:{ports['moto']}"
    with fake_aws_credentials():
        start_s = _start_servers(paths, ports, say)
        clients = AwsClients.of(AwsConnectionSpec(region=REGION, endpoint_url=moto))
        emr = provision.ensure_emr(clients)
        layouts = {env: _layout(paths, env, ports, emr) for env in ENVIRONMENTS}
        values = {
            "region": REGION,
            "moto": moto,
            "mwaa": f"http://127.0.0.1:{ports['mwaa-standin']}",
            "fakesnow_port": str(ports["fakesnow"]),
            "prod_airflow_port": str(ports["prod-airflow"]),
            "prod_bundle_repo": str(layouts["prod"].root / "deploy.git"),
            "emr_application_id": emr[0],
            "emr_execution_role_arn": emr[1],
        }
        deployment_file = provision.write_deployment(paths.deployment_file, values)
        deployment = load_deployment(deployment_file).resolved(paths.root)
        say(f"deployment file {deployment_file} loads: environments {deployment.names}")
        versions = provision.provision_buckets(deployment, clients)
        passwords = provision.provision_secrets(clients, layouts["prod"].credentials().password)
        env = settings_env(
            paths.root,
            deployment_file,
            runtimes_dir,
            paths.dagster_home,
            ports["postgres"],
            servers.PG_DATABASE,
            REGION,
        )
        write_instance(paths.dagster_home, moto, provision.NAMES["logs_bucket"])
        write_env_file(paths.env_file, env)
        profile = Profile(paths, ports, deployment_file, env, {}, start_s, 0.0, emr)
        repo = _pipelines_repository(profile)
        say(f"pipelines repository {repo} (branch main): a tag on it starts a release")
        resources = profile.resources()
        say("build_resources builds every resource of the deployment file")
        workers: dict[str, dict[str, str]] = {}
        for name in ENVIRONMENTS:
            warehouse = resources[f"env_{name}"].warehouse
            assert isinstance(warehouse, SnowflakeWarehouse)
            tables = provision.provision_snowflake(warehouse)
            say(f"{name}: Snowflake database {warehouse.database}: {len(tables)} tables")
            sources = seed.provision_sources(layouts[name])
            positions = seed.provision_lake(warehouse, sources)
            say(f"{name}: sources in {sources}; {positions} lake positions (EMR stand-in)")
            spec = deployment.environment(name).warehouse
            assert isinstance(spec, SnowflakeWarehouseSpec)
            snowflake = provision.snowflake_worker_settings(spec, passwords[name])
            workers[name] = airflows.worker_env(snowflake, moto, REGION, FAKE_CREDENTIALS)
        say("runtimes: the example's Airflow 2.11 runtime and an Airflow 3 one (built once)")
        runtimes = {
            "staging": airflows.staging_runtime(runtimes_dir),
            "prod": airflows.airflow3_runtime(runtimes_dir, paths.root),
        }
        prod_warehouse = resources["env_prod"].warehouse
        assert isinstance(prod_warehouse, SnowflakeWarehouse)
        if seed.seed_prod(
            layouts["prod"],
            runtimes["staging"],
            workers["prod"],
            load_settings().integration_date,
            prod_warehouse,
        ):
            say(f"prod: raw tables seeded by {', '.join(seed.PROD_INGESTION)}")
        airflow_began = time.monotonic()
        with ThreadPoolExecutor(max_workers=2) as pool:
            staging_f = pool.submit(
                airflows.launch_staging, layouts["staging"], runtimes["staging"], workers["staging"]
            )
            prod_f = pool.submit(
                airflows.launch_prod, layouts["prod"], runtimes["prod"], workers["prod"]
            )
            targets = {"staging": staging_f.result(), "prod": prod_f.result()}
        start_standin = _start_standin(
            paths, ports, moto, layouts["staging"], versions[provision.NAMES["staging_mwaa_name"]]
        )
        start_s["mwaa-standin"] = start_standin(say)
        airflows.wait_healthy(
            {layouts[n]: (targets[n], services) for n, services in ENVIRONMENTS.items()},
            AIRFLOW_TIMEOUT_S,
            say,
        )
        start_s["airflows"] = time.monotonic() - airflow_began
    endpoints = {
        "moto": moto,
        "fakesnow": f"http://127.0.0.1:{ports['fakesnow']}",
        "postgres": f"postgresql://postgres@127.0.0.1:{ports['postgres']}/{servers.PG_DATABASE}",
        "mwaa-standin": f"http://127.0.0.1:{ports['mwaa-standin']}",
        "staging-airflow": layouts["staging"].url,
        "prod-airflow": layouts["prod"].url,
    }
    return dataclasses.replace(
        profile, endpoints=endpoints, start_s=start_s, up_s=time.monotonic() - began
    )


@contextlib.contextmanager
def running_profile(root: Path, runtimes_dir: Path, say: Say = print) -> Iterator[Profile]:
    """``up`` on enter, ``down`` on exit (also when ``up`` fails half-way)."""
    try:
        yield up(root, runtimes_dir, say)
    finally:
        down(root, say)
