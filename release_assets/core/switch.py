"""Switching an environment to a release: code and warehouse together, one switch at a time.

Airflow switches by an atomic pointer to the release's (already published) code; the warehouse
switches the stable table names to the release's relations in one transaction, which is the
commit point: a switch killed before it leaves the environment on the previous release's data,
and a re-run converges.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from release_assets.core.deploy import SERVE_TIMEOUT_S, DeploymentError, wait_until_serving
from release_assets.runtimes.locks import exclusive

if TYPE_CHECKING:
    from release_assets.runtimes.airflow.base import AirflowTarget
    from release_assets.runtimes.warehouse.base import Warehouse

ANY_LIVE = object()
"""``switch_environment``'s default ``expected_live``: switch whatever is live."""

LOCK_TIMEOUT_S = 600.0
"""How long a switch waits for another switch of the same environment (seconds)."""


def switch_environment(
    target: AirflowTarget,
    warehouse: Warehouse,
    release: str,
    dag_ids: set[str],
    sources: dict[str, str],
    lock_file: Path,
    retire: tuple[str, ...] = (),
    serve_timeout_s: float = SERVE_TIMEOUT_S,
    expected_live: str | object | None = ANY_LIVE,
) -> str | None:
    """Code first, then the warehouse (the commit point); returns the release replaced (the
    one live before ``release`` was first switched in; None for a first release).

    ``sources`` maps stable table names to the release's relations; ``retire`` lists stable
    names to drop. Holds ``lock_file`` (an exclusive file lock, at most ``LOCK_TIMEOUT_S``) so
    switches of one environment never overlap. If the warehouse switch fails, the code pointer
    goes back, so the environment never mixes releases. Raises ``DeploymentError`` when the
    release's DAGs are not served in time, ``WarehouseError`` when the switch is refused,
    ``TimeoutExpired`` when another switch holds the lock. With ``expected_live`` (the release
    the caller saw live when it checked its evidence), raises ``DeploymentError`` without
    switching if another switch made something else live meanwhile.
    """
    with exclusive(lock_file, LOCK_TIMEOUT_S, f"the {target.environment} switch"):
        live_code = target.live_release()
        if expected_live is not ANY_LIVE and live_code != expected_live:
            raise DeploymentError(
                f"{target.environment}: {live_code or 'nothing'} went live while {release}'s "
                f"switch was checked against {expected_live or 'nothing'}; nothing was "
                "switched: run the step again"
            )
        live_data = warehouse.last_switched()
        if live_code != release:
            back_to = live_code  # the usual case: the live release is replaced
        elif live_data != release:
            back_to = live_data  # an interrupted switch: code moved, data did not
        else:
            back_to = None  # a re-run of a completed switch: nothing to go back to
        target.activate(release)
        try:
            wait_until_serving(target, release, dag_ids, serve_timeout_s)
            warehouse.switch(release, sources, retire, back_to)
        except BaseException:
            # Any end of the step here, an interrupt too (a terminated run raises Dagster's
            # DagsterExecutionInterruptedError, not an Exception), puts the code back: prod
            # never keeps running the new code on the old tables. Only SIGKILL cannot be
            # caught; a re-run of the step converges from that state.
            if back_to is not None:
                target.activate(back_to)
            raise
    return back_to if back_to is not None else warehouse.replaced(release)[0]
