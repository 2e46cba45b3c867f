"""One evaluation of the post-release monitor, without Dagster: which release is watched and
until when (its bake window, read from the environment's history), what the sensor remembers
between evaluations (``WatchCursor``), and the breaches of the signals in
``release_assets.core.monitor``.

Missing evidence is never a breach. An Airflow that does not answer raises out of ``watch``
(the sensor skips, naming it), a warehouse query that fails is a note: rolling back on an
outage of the observer would act on no evidence about the release, and would move production
while the thing that could confirm the move is down.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from release_assets.core.monitor import Breach, failed_runs, freshness, observe, quality

if TYPE_CHECKING:
    from release_assets.config.release_config import ReleaseConfig
    from release_assets.core.history import HistoryEntry
    from release_assets.runtimes.airflow.base import AirflowTarget
    from release_assets.runtimes.warehouse.base import Warehouse


@dataclass(frozen=True)
class WatchCursor:
    """What the sensor keeps between evaluations (its cursor, small JSON): the ``release``
    watched and ``since`` when it went live (ISO: a redeploy of the same release is a new
    bake), ``seen`` (table -> the newest value of the last load judged, ISO) and
    ``requested`` (the breach a rollback of ``release`` was requested for, if any)."""

    release: str | None = None
    seen: dict[str, str] = field(default_factory=dict)
    requested: str | None = None
    since: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "release": self.release,
                "since": self.since,
                "seen": self.seen,
                "requested": self.requested,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | None) -> WatchCursor:
        """The cursor in ``text``; an empty or unreadable one starts afresh (the cost: the
        current loads are judged once more)."""
        try:
            raw = json.loads(text) if text else {}
            seen = dict(raw.get("seen") or {})
            return cls(raw.get("release"), seen, raw.get("requested"), raw.get("since"))
        except (ValueError, AttributeError, TypeError):
            return cls()

    def watching(self, window: Window) -> WatchCursor:
        """This cursor for ``window``: unchanged when it already watched that release since
        that time, else fresh."""
        since = window.went_live.isoformat()
        if self.release == window.release and self.since == since:
            return self
        return WatchCursor(window.release, since=since)


@dataclass(frozen=True)
class Window:
    """The bake of ``release``: it went live at ``went_live`` (aware, from the audit trail) and
    is watched until ``ends``."""

    release: str
    went_live: datetime
    ends: datetime


def bake_window(
    history: list[HistoryEntry],
    live: str | None,
    environment: str,
    now: datetime,
    bake_minutes: float,
) -> Window | str:
    """The window to watch now, or why nothing is watched (one line): nothing live, a live
    release the trail does not show going live, one that went live through a rollback (it is
    not a release: watching it could roll back the rollback), a bake that ended."""
    if live is None:
        return f"nothing is live in {environment}: nothing to watch"
    last = history[-1] if history else None
    if last is None or last.live != live:
        recorded = f"the audit trail says {last.live}" if last else "the audit trail has no record"
        return (
            f"{environment} serves {live} but {recorded} went live last: not watched "
            "(`release-assets status` shows both)"
        )
    when = f"{last.time:%Y-%m-%d %H:%M:%S} UTC"
    if last.how == "rollback":
        return (
            f"{live} went live in {environment} through a rollback (of {last.replaced}) at "
            f"{when}: a rollback is not watched"
        )
    ends = last.time + timedelta(minutes=bake_minutes)
    if now >= ends:
        return (
            f"the bake of {live} in {environment} ended at {ends:%Y-%m-%d %H:%M:%S} UTC "
            f"({bake_minutes:g} min after it went live at {when}): not watched"
        )
    return Window(live, last.time, ends)


@dataclass(frozen=True)
class WatchResult:
    """An evaluation: the ``breaches``, a one-line ``summary`` of what was observed (numbers:
    runs read, the freshness share, loads judged, notes), the next ``cursor`` and the
    freshness ``share`` in percent (None when no table with an SLO could be read)."""

    breaches: list[Breach]
    summary: str
    cursor: WatchCursor
    share: float | None


def watch(
    target: AirflowTarget,
    warehouse: Warehouse,
    window: Window,
    dag_ids: set[str],
    config: ReleaseConfig,
    cursor: WatchCursor,
    now: datetime,
) -> WatchResult:
    """Evaluate the signals for ``window.release`` (``dag_ids``: its DAGs; ``config``: its
    release.yaml): task failures since it went live, freshness of every critical table with an
    SLO, quality of each critical table whose newest value moved since ``cursor`` saw it (or
    was never seen for this release). Raises AirflowError when Airflow cannot be read (before
    anything else is read)."""
    cursor = cursor.watching(window)
    breaches = failed_runs(target, dag_ids, window.went_live)
    tables = config.critical_tables
    seen = observe(warehouse, tables)
    fresh = freshness(tables, config.monitor.freshness_slo_minutes, seen, window.went_live, now)
    loads = {t: o for t, o in seen.items() if o.error is None and cursor.seen.get(t) != o.mark}
    judged, notes = quality(warehouse, tables, config.judge, window.release, loads)
    breaches += fresh.breaches + judged
    marks = {**cursor.seen, **{t: o.mark for t, o in loads.items()}}
    left = (window.ends - now).total_seconds() / 60
    parts = [
        f"{window.release}: {left:.0f} min of bake left",
        f"{len(dag_ids)} DAG(s) read for failed runs since the swap",
        fresh.summary(),
        f"quality judged on {len(loads)} new load(s)",
        *fresh.notes,
        *notes,
        *(f"{o.table}: not observed: {o.error}" for o in seen.values() if o.error),
    ]
    return WatchResult(breaches, "; ".join(parts), replace(cursor, seen=marks), fresh.share)
