"""Judging a release's canary tables against baselines built from the same inputs.

For each table: the columns of both relations (the schema group), then one query per side and
metric group (``queries``), turned into results (``metrics``, ``shape``) and scored
(``scoring``). A query that fails makes every metric of its group for that table an error
carrying the warehouse's message; nothing passes by default.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from release_assets.config.judge_config import ExpectedChange, JudgeConfig, Limits
from release_assets.core.judge import declared as declarations
from release_assets.core.judge import metrics, queries, shape, volume
from release_assets.core.judge.report import Judgement
from release_assets.core.judge.results import TABLE_GROUP, JudgedTable, MetricResult
from release_assets.core.judge.scoring import (
    critical_failures,
    group_scores,
    overall_score,
    verdict,
)
from release_assets.runtimes.warehouse.types import WarehouseError

if TYPE_CHECKING:
    from release_assets.runtimes.warehouse.base import Warehouse

T = TypeVar("T")
FIRST_RELEASE = (
    "first release: nothing is live yet, so no table has a baseline; only the absolute "
    "metrics ran (duplicate rate, null rates within judge.thresholds.max_null_rate, rows > 0)"
)


def judge(
    warehouse: Warehouse,
    tables: list[JudgedTable],
    config: JudgeConfig,
    release: str,
    first_release: bool = False,
) -> Judgement:
    """Judge each table's canary against its baseline (both relations in ``warehouse``) with
    ``config`` (``ReleaseConfig.judge``); the ``expected_changes`` of ``release`` apply.
    ``first_release``: nothing is live, only absolute metrics run. Never raises for a failing
    query or a missing relation: those are failing results."""
    results: list[MetricResult] = []
    if first_release:
        results.append(
            MetricResult(
                "*", TABLE_GROUP, "first_release", None, "-", "-", "-", "n/a", FIRST_RELEASE
            )
        )
    timings: dict[str, float] = {}
    for table in tables:
        results += _judge_table(warehouse, table, config, release, first_release, timings)
    if not first_release:  # (the monitor's absolute checks run as a first release)
        results += declarations.not_judged(config, release, [t.table for t in tables])
    return scored(results, config, timings)


def scored(
    results: list[MetricResult], config: JudgeConfig, timings: dict[str, float] | None = None
) -> Judgement:
    """The judgement of ``results`` under ``config``'s groups and scores (``scoring``);
    ``timings``: seconds per ``<table>/<group>``."""
    scores = group_scores(results, config)
    score = overall_score(scores, config)
    return Judgement(
        metrics=results,
        group_scores=scores,
        score=score,
        verdict=verdict(results, scores, score, config),
        critical_failures=critical_failures(results, config),
        pass_score=config.pass_score,
        marginal_score=config.marginal_score,
        timings=dict(timings or {}),
    )


class _SideFailed(Exception):
    """A side's query failed: ``str()`` is the one-line reason."""


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _side(side: str, relation: str, run: Callable[[str], T]) -> T:
    """``run(relation)``; a ``WarehouseError`` becomes ``_SideFailed`` naming the side."""
    try:
        return run(relation)
    except WarehouseError as exc:
        raise _SideFailed(f"{side} query on {relation} failed: {_one_line(exc)}") from None


def _errors(
    table: str, group: str, metric: str, columns: list[str | None], reason: str
) -> list[MetricResult]:
    return [MetricResult(table, group, metric, c, "-", "-", "-", "error", reason) for c in columns]


def _judge_table(
    wh: Warehouse,
    t: JudgedTable,
    config: JudgeConfig,
    release: str,
    first_release: bool,
    timings: dict[str, float],
) -> list[MetricResult]:
    if first_release:  # nothing is live: whatever was passed as a baseline is not one
        t = replace(t, baseline=None)
    declared: declarations.Declared = {}
    for change in config.expected(release, t.table):
        declared.setdefault(change.metric, {})[change.column or ""] = change
    run = _TableRun(wh, t, config.limits(t.thresholds), declared, timings)
    try:
        with run.timed("schema"):
            canary_cols = dict(_side("canary", t.canary, wh.columns))
            base_cols = dict(_side("baseline", t.baseline, wh.columns)) if t.baseline else None
    except _SideFailed as exc:
        return _errors(t.table, TABLE_GROUP, "columns", [None], str(exc))
    if not canary_cols:
        return [_missing(t.table, "canary", t.canary)]
    out = declarations.baseline_rows(t, declared.get("new_table", {}).get(""), first_release)
    if base_cols is None:
        unobservable = [] if first_release else declarations.without_baseline(t, declared)
        return out + run.absolute(canary_cols) + unobservable
    if not base_cols:
        return [*out, _missing(t.table, "baseline", str(t.baseline))]
    results = declarations.applied(declared, out + run.compared(base_cols, canary_cols))
    return results + declarations.unmatched(t, declared, results, base_cols, canary_cols)


def _missing(table: str, side: str, relation: str) -> MetricResult:
    return MetricResult(
        table,
        TABLE_GROUP,
        side,
        None,
        "-",
        "-",
        "exists",
        "fail",
        f"{side} relation {relation} does not exist (the warehouse lists no column for it)",
    )


class _TableRun:
    """One table's groups: each runs its query on both sides, timed into ``timings``."""

    def __init__(
        self,
        wh: Warehouse,
        t: JudgedTable,
        limits: Limits,
        declared: dict[str, dict[str, ExpectedChange]],
        timings: dict[str, float],
    ) -> None:
        self.wh, self.t, self.limits, self.declared, self.timings = wh, t, limits, declared, timings

    @contextmanager
    def timed(self, group: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            key = f"{self.t.table}/{group}"
            self.timings[key] = self.timings.get(key, 0.0) + time.perf_counter() - start

    def _both(self, run: Callable[[str], T]) -> tuple[T | None, T]:
        """``run`` on the baseline (None without one) and on the canary."""
        base = self.t.baseline
        return (_side("baseline", base, run) if base else None), _side("canary", self.t.canary, run)

    def absolute(self, cols: dict[str, str]) -> list[MetricResult]:
        """No baseline: rows > 0, null rates within ``max_null_rate``, duplicate rate."""
        return [*self.volume(), *self.completeness(list(cols), None), self.uniqueness(None, cols)]

    def compared(self, base_cols: dict[str, str], cols: dict[str, str]) -> list[MetricResult]:
        """Every group, canary against the baseline."""
        out = [*self.volume(), *self.completeness([c for c in cols if c in base_cols], base_cols)]
        out += [self.uniqueness(base_cols, cols), self.freshness(base_cols, cols)]
        with self.timed("schema"):
            out += shape.schema(self.t.table, base_cols, cols, self.declared.get("schema", {}))
        return out + self.distribution(base_cols, cols)

    def volume(self) -> list[MetricResult]:
        t = self.t
        with self.timed("volume"):
            try:
                b, c = self._both(lambda r: queries.row_counts(self.wh, r, t.partition_by))
            except _SideFailed as exc:
                return _errors(t.table, "volume", "row_count", [None], str(exc))
        change = self.declared.get("row_count", {}).get("")
        limit = self.limits.max_row_count_change_pct
        return [volume.volume(t.table, b, c, t.partition_by, limit, change)]

    def completeness(
        self, columns: list[str], base_cols: dict[str, str] | None
    ) -> list[MetricResult]:
        with self.timed("completeness"):
            try:
                b, c = self._both(lambda r: queries.null_counts(self.wh, r, columns))
            except _SideFailed as exc:
                return _errors(self.t.table, "completeness", "null_rate", [*columns], str(exc))
        declared = self.declared.get("null_rate", {})
        return metrics.completeness(self.t.table, b, c, self.limits, declared)

    def uniqueness(self, base_cols: dict[str, str] | None, cols: dict[str, str]) -> MetricResult:
        t, limit = self.t, self.limits.max_duplicate_rate
        for side, relation, have in (
            ("canary", t.canary, cols),
            ("baseline", t.baseline, base_cols),
        ):
            missing = [k for k in t.keys if have is not None and k not in have]
            if missing:
                return MetricResult(
                    t.table,
                    "uniqueness",
                    "duplicate_rate",
                    None,
                    "-",
                    "-",
                    f"<= {limit:g}",
                    "fail",
                    f"key column(s) {', '.join(missing)} missing from the {side} "
                    f"{relation} (columns: {', '.join(have or {})})",
                )
        with self.timed("uniqueness"):
            try:
                b, c = self._both(lambda r: queries.duplicate_rows(self.wh, r, t.keys))
            except _SideFailed as exc:
                return _errors(t.table, "uniqueness", "duplicate_rate", [None], str(exc))[0]
        return metrics.uniqueness(t.table, t.keys, b, c, limit)

    def freshness(self, base_cols: dict[str, str], cols: dict[str, str]) -> MetricResult:
        """The configured column, else the canary's first date/timestamp column the baseline
        also has."""
        t, limit = self.t, self.limits.max_staleness_hours
        column = t.freshness_column or next(
            (c for c, k in cols.items() if queries.is_time(k) and c in base_cols), None
        )
        if column is None:
            return metrics.freshness(t.table, None, None, None, limit)
        with self.timed("freshness"):
            try:
                b, c = self._both(lambda r: queries.newest(self.wh, r, column))
            except _SideFailed as exc:
                return _errors(t.table, "freshness", "staleness", [column], str(exc))[0]
        return metrics.freshness(t.table, column, b, c, limit)

    def distribution(self, base_cols: dict[str, str], cols: dict[str, str]) -> list[MetricResult]:
        t, limits = self.t, self.limits
        numeric = t.distribution_columns
        if numeric is None:
            skip = {*t.keys, t.partition_by}
            numeric = [
                c
                for c, k in cols.items()
                if c not in skip
                and queries.is_numeric(k)
                and queries.is_numeric(base_cols.get(c, ""))
            ]
        wanted = list(numeric)
        with self.timed("distribution"):
            try:
                b, c = self._both(
                    lambda r: queries.samples(self.wh, r, wanted, t.keys, limits.max_sample)
                )
            except _SideFailed as exc:
                return _errors(t.table, "distribution", "distribution", [*wanted], str(exc))
            declared = self.declared.get("distribution", {})
            return shape.distribution(t.table, b or {}, c, limits, declared)
