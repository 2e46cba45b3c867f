"""A release's relations brought up to date right before its swap.

The canary builds the release's relations (``<schema>__r_<release>``) from an input snapshot
taken at canary time; from then until the swap, scheduled loads go on landing in raw and the
live release's own dbt runs keep ITS relations current, not the candidate's. Switching the
stable names to relations as old as the canary would move every table back in time by the
approval wait (in the demo, 27 minutes: past the freshness SLO of ``marts.fct_orders``).

So the swap first rebuilds the release's relations with the release's code from the raw data
as it is now: its dbt DAGs run as canary copies (the release is not live yet) with its schema
suffix and ``full_refresh``, the same rebuild a rollback does for the previous release
(``core.data_rollback.rebuild_relations``). What lands in raw between that rebuild and the
switch reaches the relations with the release's next scheduled dbt run: the staleness left is
the rebuild's duration plus at most one schedule period.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from release_assets.core.data_rollback import dbt_waves, rebuild_relations
from release_assets.core.deploy import SERVE_TIMEOUT_S, wait_until_serving

if TYPE_CHECKING:
    from release_assets.core.record import ReleaseRecord
    from release_assets.runtimes.airflow.base import AirflowTarget
    from release_assets.runtimes.airflow.types import DagRunResult


def refresh_before_switch(
    target: AirflowTarget,
    record: ReleaseRecord,
    live: str | None,
    run_id: str,
    progress: Callable[[str], None] = print,
) -> list[DagRunResult]:
    """Rebuild ``record``'s relations from the current raw data with its dbt DAGs (copies
    ``<dag>__canary_<release>``, run id ``run_id``), before the switch; the runs' results
    (empty for a release without dbt DAGs). The copies stay published: the swap removes
    them after switching. Raises ``RebuildFailed`` naming the failed run and saying nothing
    was switched (``live`` stays live), ``DeploymentError`` when the copies are not served
    within ``SERVE_TIMEOUT_S``, ``AirflowError`` when Airflow cannot be reached."""
    waves = dbt_waves(record)
    if not waves:
        return []
    copies = target.publish_canary(record.release, [d for wave in waves for d in wave])
    wait_until_serving(target, record.release, set(copies.values()), SERVE_TIMEOUT_S)
    return rebuild_relations(
        target,
        record.release,
        waves,
        run_id,
        progress,
        copies=copies,
        consequence=(
            f"nothing was switched: {live or 'nothing'} stays live in {target.environment}"
        ),
    )
