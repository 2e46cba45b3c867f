from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from release_assets.settings import CHECKOUT_ROOT


def test_the_local_instance_config_loads_and_limits_prod_swaps(tmp_path: Path) -> None:
    shutil.copy(CHECKOUT_ROOT / "deploy" / "local" / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert instance.run_coordinator.__class__.__name__ == "QueuedRunCoordinator"
