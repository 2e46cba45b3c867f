"""The canary's input snapshot names: every comparison gets a schema suffix the warehouse and
the example's DAGs accept, one per comparison."""

from __future__ import annotations

import pytest

from release_assets.core.canary_runs import input_suffix, snapshot_suffix_of
from release_assets.runtimes.warehouse.types import SNAPSHOT_SUFFIX


def test_a_release_snapshot_is_named_for_the_release() -> None:
    assert input_suffix("v2.1-RC") == "__i_v2_1_rc"


@pytest.mark.parametrize(
    "run_id",
    [
        "flag_on__order_size_band__v2",
        "flag_on__" + "a_very_long_flag_name_that_goes_on" * 2 + "__v2",
    ],
)
def test_a_comparison_snapshot_suffix_is_one_the_warehouse_accepts(run_id: str) -> None:
    suffix = snapshot_suffix_of(run_id)
    assert SNAPSHOT_SUFFIX.match(suffix), suffix
    # Another comparison (another live release) gets another snapshot.
    assert snapshot_suffix_of(run_id.replace("__v2", "__v3")) != suffix
