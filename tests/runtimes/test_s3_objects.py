"""The S3 stores' client (``s3_objects.client_of``): dagster-aws's configuration with the
bounded timeouts, so a hung endpoint fails in bounded time with one line naming the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from release_assets.config.aws_specs import AwsConnectionSpec
from release_assets.config.s3_specs import S3ArtifactStoreSpec
from release_assets.runtimes.artifacts.base import ArtifactError
from release_assets.runtimes.artifacts.s3 import S3ArtifactStore
from tests.aws_server import REGION
from tests.runtimes.silent_endpoint import silent_endpoint


@pytest.mark.usefixtures("moto_server")  # the session's made-up credentials
def test_a_silent_endpoint_fails_the_store_after_the_bounded_read_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bound comes from AwsClients (not botocore's 60 s); lowered so the test is quick.
    monkeypatch.setattr("release_assets.runtimes.aws.READ_TIMEOUT_S", 0.5)
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "orders.py").write_text("print('v1')\n")
    with silent_endpoint() as endpoint:
        spec = S3ArtifactStoreSpec(
            kind="s3",
            aws=AwsConnectionSpec(region=REGION, endpoint_url=endpoint, max_attempts=1),
            bucket="releases-prod",
            object_lock={"retention_days": 30},  # type: ignore[arg-type]
        )
        store = S3ArtifactStore.of(spec, environment="prod")
        with pytest.raises(ArtifactError) as caught:
            store.put_bundle("v1", tmp_path)
    assert str(caught.value) == (
        f"environment prod: artifact store s3://releases-prod/releases: {endpoint} did not "
        "answer within 0.5s"
    )
