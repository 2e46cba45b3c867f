"""The post-release monitor's signals: given what Airflow and the warehouse hold for the live
release, the breaches (each a named kind, a subject and one line of numbers read from the data).

1. ``task_failure``: a failed run, started after the release went live, of one of the live
   release's DAGs (canary copies, ``<dag_id>__canary_<release>``, are not the release's runs,
   and neither is a run a person triggered by hand, ``run_type`` ``manual``: a mistaken conf
   in a hand-made run must not roll a good release back);
2. ``freshness``: a critical table whose newest value of its freshness column is older than its
   SLO (``critical_tables[].freshness_slo_minutes``, else ``release.yaml`` ``monitor:``);
3. ``quality``: on each new load of a critical table (its newest value moved since the previous
   evaluation), the judge's absolute metrics on the stable relation (rows > 0, null rates
   within ``max_null_rate``, duplicate rate within ``max_duplicate_rate``).

A query that fails is not a breach: it is reported as unobserved (see ``monitor_watch``: the
monitor never acts on missing evidence). The evaluation around these (the bake window, the
cursor) is ``release_assets.core.monitor_watch``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from release_assets.config.judge_config import JudgeConfig
from release_assets.core.judge import JudgedTable, judge
from release_assets.core.judge.queries import is_time, newest
from release_assets.runtimes.warehouse.types import WarehouseError

if TYPE_CHECKING:
    from release_assets.config.release_config import CriticalTable
    from release_assets.runtimes.airflow.base import AirflowTarget, DagRunResult
    from release_assets.runtimes.warehouse.base import Warehouse

BreachKind = Literal["task_failure", "freshness", "quality"]
CANARY_MARK = "__canary_"
RUNS_PAGE = 25
"""Runs read per DAG and evaluation (newest first): a bake sees a few runs per DAG, not more."""


@dataclass(frozen=True)
class Breach:
    """One breach: ``kind``, ``subject`` (the DAG id or the table) and ``line``, one sentence
    naming the subject and the numbers (the reason recorded with the rollback)."""

    kind: BreachKind
    subject: str
    line: str

    @property
    def key(self) -> str:
        """``<kind>:<subject>``: what the monitor records once per release."""
        return f"{self.kind}:{self.subject}"


@dataclass(frozen=True)
class Observed:
    """A critical table as read now: its freshness ``column`` (None: it has no TIMESTAMP or
    DATE column and none is configured), ``newest`` value (naive UTC; None: no value), or
    ``error`` (the warehouse's one-line message: not observed)."""

    table: str
    column: str | None
    newest: datetime | None
    error: str | None = None

    @property
    def mark(self) -> str:
        """What identifies the table's latest load: its newest value, ISO (``-`` for none)."""
        return self.newest.isoformat() if self.newest is not None else "-"


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def naive_utc(moment: datetime) -> datetime:
    """An aware ``moment`` as naive UTC (how the judge's queries return times)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def failed_runs(target: AirflowTarget, dag_ids: Iterable[str], since: datetime) -> list[Breach]:
    """A ``task_failure`` breach per DAG of ``dag_ids`` with a failed run started at or after
    ``since`` (aware). Raises AirflowError (unreachable, an error status): the caller decides."""
    out: list[Breach] = []
    for dag_id in sorted(d for d in dag_ids if CANARY_MARK not in d):
        runs = target.recent_runs(dag_id, since, RUNS_PAGE)
        breach = run_breach(dag_id, runs, since)
        if breach is not None:
            out.append(breach)
    return out


def run_breach(dag_id: str, runs: list[DagRunResult], since: datetime) -> Breach | None:
    """The breach of ``dag_id``'s ``runs`` (newest first; canary copies' and hand-triggered
    (``manual``) runs ignored):
    None unless one failed; the line names the newest failed run and its failed tasks."""
    failed = [
        r
        for r in runs
        if r.state == "failed" and CANARY_MARK not in r.dag_id and r.run_type != "manual"
    ]
    if not failed:
        return None
    first = failed[0]
    tasks = ", ".join(first.failed_tasks) or "no task recorded as failed"
    more = f" ({len(failed)} failed runs of {len(runs)} read)" if len(failed) > 1 else ""
    line = (
        f"DAG {dag_id} failed: run {first.run_id} (started after the swap at "
        f"{since:%Y-%m-%d %H:%M:%S} UTC) failed in task(s) {tasks}{more}"
    )
    return Breach("task_failure", dag_id, line)


def observe(warehouse: Warehouse, tables: Iterable[CriticalTable]) -> dict[str, Observed]:
    """Each critical table's freshness column (``freshness_column``, else its first TIMESTAMP
    or DATE column: the judge's rule) and newest value in its stable relation."""
    out: dict[str, Observed] = {}
    for entry in tables:
        name = entry.table
        try:
            column = entry.freshness_column or next(
                (c for c, kind in warehouse.columns(name) if is_time(kind)), None
            )
            value = newest(warehouse, name, column) if column else None
        except WarehouseError as exc:
            out[name] = Observed(name, entry.freshness_column, None, _one_line(exc))
            continue
        out[name] = Observed(name, column, value)
    return out


@dataclass(frozen=True)
class Freshness:
    """The freshness signal: ``breaches``; ``met``/``watched``: tables within their SLO of
    those with an SLO that could be read (``share`` = met/watched in percent, None when none);
    ``notes``: one line per table not judged (no column, a failed query, within grace)."""

    breaches: list[Breach]
    met: int
    watched: int
    notes: list[str]

    @property
    def share(self) -> float | None:
        return 100.0 * self.met / self.watched if self.watched else None

    def summary(self) -> str:
        if self.share is None:
            if not self.notes:
                return "freshness: not watched (no critical table has a freshness SLO)"
            return "freshness: no critical table with an SLO could be read"
        return (
            f"freshness: {self.met} of {self.watched} critical tables ({self.share:.1f} %) "
            "updated within their SLO"
        )


def freshness(
    tables: Iterable[CriticalTable],
    default_slo: float | None,
    seen: dict[str, Observed],
    went_live: datetime,
    now: datetime,
) -> Freshness:
    """Each table with an SLO (its own ``freshness_slo_minutes``, else ``default_slo``): its age
    is ``now`` minus its newest value (minutes). A table is within its SLO when the age is at
    most the SLO; it is a breach when it is past the SLO *and* the release has been live longer
    than the SLO (the deadline counts from the later of the newest value and ``went_live``): a
    table already stale at the swap gives the new release one SLO period to load it, so a
    breach is evidence about the release, not about its predecessor. No value at all is a
    breach after the same period."""
    breaches: list[Breach] = []
    notes: list[str] = []
    met = watched = 0
    now_n, live_n = naive_utc(now), naive_utc(went_live)
    for entry in tables:
        slo = entry.freshness_slo_minutes or default_slo
        obs = seen.get(entry.table)
        if slo is None or obs is None:
            continue
        if obs.error is not None:
            notes.append(f"{entry.table}: freshness not read: {obs.error}")
            continue
        if obs.column is None:
            notes.append(
                f"{entry.table}: no TIMESTAMP or DATE column: set "
                "critical_tables[].freshness_column to watch its freshness"
            )
            continue
        watched += 1
        live_for = (now_n - live_n).total_seconds() / 60
        if obs.newest is None:
            if live_for > slo:
                line = (
                    f"{entry.table} has no value of {obs.column} {live_for:.0f} min after the "
                    f"swap (freshness SLO {slo:g} min)"
                )
                breaches.append(Breach("freshness", entry.table, line))
            continue
        age = (now_n - obs.newest).total_seconds() / 60
        if age <= slo:
            met += 1
            continue
        since_due = (now_n - max(obs.newest, live_n)).total_seconds() / 60
        stated = (
            f"{entry.table} is stale: newest {obs.column} {obs.newest:%Y-%m-%d %H:%M:%S} is "
            f"{age:.0f} min old, {age - slo:.0f} min past its freshness SLO of {slo:g} min"
        )
        if since_due > slo:
            breaches.append(Breach("freshness", entry.table, stated))
        else:
            notes.append(
                f"{stated}; the release has been live {live_for:.0f} min only: not a breach "
                f"before {slo:g} min"
            )
    return Freshness(breaches, met, watched, notes)


def _as_stable(reason: str) -> str:
    """A judge reason about its canary side, said of the stable table it was run on."""
    return reason.replace("canary has", "the table has").replace("canary relation", "relation")


def quality(
    warehouse: Warehouse,
    tables: Iterable[CriticalTable],
    config: JudgeConfig,
    release: str,
    loads: dict[str, Observed],
) -> tuple[list[Breach], list[str]]:
    """The judge's absolute metrics on the stable relation of each table in ``loads`` (table
    -> what was observed of its new load), with ``release``'s ``judge:`` thresholds: a failing
    metric or one without data is a ``quality`` breach (one per table, naming each failing
    metric); a query that errored is a note (not observed), never a breach."""
    wanted = [e for e in tables if e.table in loads]
    if not wanted:
        return [], []
    judged = [JudgedTable.of(e, None, e.table) for e in wanted]
    judgement = judge(warehouse, judged, config, release, first_release=True)
    failing: dict[str, list[str]] = {}
    notes: list[str] = []
    for m in judgement.metrics:
        if m.status in ("fail", "nodata"):
            failing.setdefault(m.table, []).append(_as_stable(m.reason))
        elif m.status == "error":
            notes.append(f"{m.table}: {m.metric} not observed: {m.reason}")
    breaches = [
        Breach(
            "quality",
            table,
            f"{table} after its load of {loads[table].mark}: " + "; ".join(reasons),
        )
        for table, reasons in sorted(failing.items())
    ]
    return breaches, notes
