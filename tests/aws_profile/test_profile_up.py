"""The AWS-shaped profile comes up and every runtime of each environment answers through the
product's resources built from the deployment file it writes: MWAA (the stand-in in front of
Airflow 2.11) and Airflow 3, Snowflake (fakesnow), the S3 artifact store and audit trail
(object lock), Secrets Manager, SSM flags, EMR Serverless staging; and the on-call commands
run against it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from release_assets.cli.main import main
from release_assets.core.audit import verify_chain
from release_assets.runtimes.audit.types import AuditEvent
from release_assets.settings import settings
from tests.aws_profile import servers, state
from tests.aws_profile.provision import NAMES
from tests.aws_profile.stack import Profile, running_profile
from tests.aws_server import FAKE_CREDENTIALS
from tests.paths import SHARED_RUNTIMES
from tests.runtimes.spark.bundles import JOB, spark_bundle, spark_jobs

pytestmark = pytest.mark.slow

RAW_TABLES = {"raw.orders", "raw.order_items", "raw.inventory_movements", "raw.customers"}


@pytest.fixture(scope="module")
def profile() -> Iterator[Profile]:
    """The profile under a folder of its own (mode 0755: the ``postgres`` user must reach its
    cluster's folder), moto's fake credentials in this process's environment."""
    root = Path(tempfile.mkdtemp(prefix="release-assets-aws-profile-"))
    root.chmod(0o755)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in FAKE_CREDENTIALS.items():
            mp.setenv(key, value)
        mp.delenv("AWS_PROFILE", raising=False)
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        try:
            with running_profile(root / "aws-profile", SHARED_RUNTIMES) as running:
                yield running
            # `down` leaves nothing listening on any of the profile's ports.
            listening = {n: p for n, p in running.ports.items() if servers.port_open(p)}
            assert listening == {}, f"still listening after down: {listening}"
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _cli(profile: Profile, *args: str) -> tuple[int, str]:
    settings.cache_clear()
    try:
        result = CliRunner().invoke(main, list(args), env=profile.env)
    finally:
        settings.cache_clear()
    return result.exit_code, result.output


def test_every_runtime_answers_through_the_written_deployment_file(
    profile: Profile, tmp_path: Path
) -> None:
    resources = profile.resources()
    staging, prod = resources["env_staging"], resources["env_prod"]

    # Airflow: staging is MWAA (GetEnvironment + InvokeRestApi through the stand-in), prod
    # Airflow 3 (REST v2, a JWT from the password kept in Secrets Manager).
    assert staging.airflow.health().healthy
    assert prod.airflow.health().healthy
    assert staging.airflow.describe_environment()["Status"] == "AVAILABLE"

    # Snowflake: one database per environment, each with the loaders' raw tables.
    for env in (staging, prod):
        assert set(env.warehouse.tables()) >= RAW_TABLES
    assert staging.warehouse.database == NAMES["staging_database"]
    assert prod.warehouse.database == NAMES["prod_database"]

    # The artifact store: a locked bucket, a bundle in and back out verified by digest.
    store = resources["artifact_store"]
    store.verify_bucket()
    bundle = tmp_path / "bundle"
    (bundle / "dags").mkdir(parents=True)
    (bundle / "dags" / "hello.py").write_text("HELLO = 1\n")
    store.put_bundle("v0-smoke", bundle)
    store.fetch_bundle("v0-smoke", tmp_path / "fetched")
    assert (tmp_path / "fetched" / "dags" / "hello.py").read_text() == "HELLO = 1\n"

    # The audit trail: an append chains and verifies.
    audit = resources["audit"]
    audit.append(
        AuditEvent(action="step", outcome="passed", actor="smoke", release="v0-smoke", step="up")
    )
    assert verify_chain(audit.entries()) == []

    # Secrets Manager holds what prod's Airflow and each warehouse log in with.
    password = profile.layout("prod").credentials().password
    assert prod.secrets.resolve(f"{NAMES['prod_airflow_secret']}#password") == password
    assert staging.secrets.resolve(f"{NAMES['staging_snowflake_secret']}#password")

    # SSM flags, per environment.
    staging.flags.set_flag("smoke_checkout", True)
    assert staging.flags.flags()["smoke_checkout"] is True
    assert "smoke_checkout" not in prod.flags.flags()

    # EMR Serverless: the example's Spark job staged in the EMR bucket.
    staged = staging.spark.stage("v0-smoke", spark_bundle(tmp_path / "spark"), spark_jobs())
    assert set(staged) == {JOB}

    # The on-call commands read the same file (settings from the profile's variables).
    code, output = _cli(profile, "status")
    assert code == 0, output
    assert "staging" in output and "prod" in output
    code, output = _cli(profile, "audit", "verify")
    assert code == 0, output
    assert "audit trail intact: 1 records" in output

    rss = sum(s.rss_bytes for s in state.status(profile.paths.root))
    starts = ", ".join(f"{name} {s:.1f}s" for name, s in profile.start_s.items())
    print(
        f"\nAWS-shaped profile up in {profile.up_s:.1f}s ({starts}); "
        f"memory {rss / 2**20:.0f} MiB RSS over every session"
    )
