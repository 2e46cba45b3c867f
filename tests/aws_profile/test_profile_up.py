"""The AWS-shaped profile comes up and every runtime of each environment answers through the
product's resources built from the deployment file it writes: MWAA (the stand-in in front of
Airflow 2.11) and Airflow 3, Snowflake (fakesnow), the S3 artifact store and audit trail
(object lock), Secrets Manager, SSM flags, EMR Serverless staging; and the on-call commands
run against it. Then a release of the example goes from a git tag to prod through the profile
and is rolled back, as a user drives it (``tests/aws_profile/release.py``).

The emulator's limit: moto's EMR Serverless marks the Spark job run SUCCESS without running it;
the profile's provisioning writes what the job would have written (``LAKE.INVENTORY_POSITIONS``,
see ``seed.provision_lake``), which the dbt models read."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from release_assets.cli.demo import change_v2
from release_assets.cli.main import main
from release_assets.config.aws_specs import AwsConnectionSpec
from release_assets.core.audit import verify_chain
from release_assets.runtimes.audit.types import AuditEvent
from release_assets.runtimes.aws import AwsClients
from release_assets.settings import settings
from tests.aws_profile import servers, state
from tests.aws_profile.provision import NAMES
from tests.aws_profile.release import ProfileRelease, environment, failures, release_env
from tests.aws_profile.stack import Profile, running_profile
from tests.aws_server import FAKE_CREDENTIALS, REGION
from tests.paths import SHARED_RUNTIMES
from tests.runtimes.spark.bundles import JOB, spark_bundle, spark_jobs

# The profile comes up in the first test's setup; the release test takes two releases (v1's
# validation in full) to prod and rolls one back, on a loaded 2-core machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

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


def _pointed(release: ProfileRelease) -> dict[str, str]:
    """Prod's stable names (Snowflake, through the fakesnow server) -> the release whose
    relation each points at."""
    warehouse = release.resources()["env_prod"].warehouse
    return {table: p.release for table, p in warehouse.pointers().items()}


def _locked_manifest(profile: Profile, tag: str) -> dict[str, object]:
    """``head_object`` of ``tag``'s manifest in the S3 artifact store."""
    spec = AwsConnectionSpec(region=REGION, endpoint_url=profile.endpoints["moto"])
    head: dict[str, object] = (
        AwsClients.of(spec)
        .client("s3")
        .head_object(Bucket=NAMES["artifacts_bucket"], Key=f"releases/manifests/{tag}.json")
    )
    return head


def test_a_release_goes_from_tag_to_prod_and_rolls_back(
    profile: Profile, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("release")
    repo, keys = ProfileRelease.prepare(profile, root)
    with (
        environment(release_env(profile, root, repo.path)),
        dg.DagsterInstance.get() as instance,
    ):
        release = ProfileRelease(profile, repo, keys, instance)

        # v1: validated in full, integration run on MWAA, canary on Airflow 3, approved for prod
        # (a first release changes every critical table), swapped in.
        for run in release.to_prod("v1"):
            assert run.success, failures(run)
        assert release.served() == {"v1"}
        v1_pointers = _pointed(release)
        assert v1_pointers and set(v1_pointers.values()) == {"v1"}, v1_pointers
        prod = release.resources()["env_prod"].warehouse
        assert prod.query("select count(*) from marts.fct_inventory_positions")[0][0] > 0

        # v2: one DAG and one dbt model change (the demo's), approved and swapped in.
        change_v2(repo.path)
        repo.commit("v2: documented revenue grain")
        for run in release.to_prod("v2"):
            assert run.success, failures(run)
        assert release.served() == {"v2"}
        v2_pointers = _pointed(release)
        assert v2_pointers["marts.fct_daily_revenue"] == "v2", v2_pointers

        # The on-call rollback: prod serves v1 again, its stable names point back at v1.
        code, output = release.rollback("v2")
        assert code == 0, output
        assert release.served() == {"v1"}
        assert _pointed(release) == v1_pointers

        # Each release's artifact is in the S3 store, under COMPLIANCE object lock, also after
        # the rollback re-published v1 from it.
        for tag in ("v1", "v2"):
            head = _locked_manifest(profile, tag)
            assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"]

        # The audit trail in S3 verifies and records each step of each release.
        code, output = _cli(profile, "audit", "verify")
        assert code == 0, output
        records = [r.event for r in release.resources()["audit"].records()]
        done = {(e.release, e.step or e.action) for e in records if e.outcome != "failed"}
        for tag in ("v1", "v2"):
            for step in ("validation_gates", "staging_integration_run", "prod_swap"):
                assert (tag, step) in done, (tag, step, sorted(done, key=str))
        assert any(e.action == "rollback" and e.release == "v2" for e in records), records
