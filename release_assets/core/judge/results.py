"""What the judge reads (``JudgedTable``) and what it says about each metric (``MetricResult``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from release_assets.config.judge_config import Thresholds

if TYPE_CHECKING:
    from release_assets.config.release_config import CriticalTable

Status = Literal["pass", "fail", "nodata", "error", "n/a"]
# A reserved group, always critical: the relations themselves (no baseline, no canary).
TABLE_GROUP = "table"


@dataclass(frozen=True)
class JudgedTable:
    """One critical table the release affects, as two relations of one warehouse.

    ``table`` is the stable name (``critical_tables[].table``, e.g. ``marts.fct_orders``);
    ``baseline`` the relation built by the live release's code from the same inputs
    (``schema.name``; None when there is none: the table is new, or nothing is live);
    ``canary`` the relation built by the release's code; ``keys`` the key columns;
    ``partition_by`` a date/timestamp column (row counts per day; None: the total);
    ``distribution_columns`` the numeric columns compared (None: every numeric non-key column);
    ``freshness_column`` the column whose newest value is compared (None: the first
    TIMESTAMP/DATE column); ``thresholds`` the table's own (over ``judge.thresholds``)."""

    table: str
    baseline: str | None
    canary: str
    keys: list[str]
    partition_by: str | None = None
    distribution_columns: list[str] | None = None
    freshness_column: str | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)

    @classmethod
    def of(cls, entry: CriticalTable, baseline: str | None, canary: str) -> JudgedTable:
        """The table as ``release.yaml`` declares it (``critical_tables[]``), with its two
        relations."""
        return cls(
            table=entry.table,
            baseline=baseline,
            canary=canary,
            keys=list(entry.keys),
            partition_by=entry.partition_by,
            distribution_columns=(
                list(entry.distribution_columns) if entry.distribution_columns is not None else None
            ),
            freshness_column=entry.freshness_column,
            thresholds=entry.thresholds,
        )


@dataclass(frozen=True)
class MetricResult:
    """One metric of one table, canary against baseline: a row of the verdict table.

    ``group`` is a metric group of ``judge.groups`` (or ``table``: the relations themselves);
    ``metric`` one of row_count, null_rate, duplicate_rate, staleness, schema, distribution,
    baseline, canary, first_release; ``baseline``/``canary``/``threshold`` are the cells as
    shown; ``status`` pass | fail | nodata (no data: a failure) | error (the query failed: a
    failure) | n/a (shown, not scored); ``reason`` one sentence of numbers read from the data
    (or the warehouse's message); ``value`` the metric's figure for numeric metadata (unit in
    the key: percent, share, hours, count); ``expected`` the declared change's reason when one
    applied."""

    table: str
    group: str
    metric: str
    column: str | None
    baseline: str
    canary: str
    threshold: str
    status: Status
    reason: str
    p_value: float | None = None
    n_baseline: int | None = None
    n_canary: int | None = None
    expected: str | None = None
    value: float | None = None

    @property
    def ok(self) -> bool:
        """True only for a pass: no data, an error and a failure are all not ok."""
        return self.status == "pass"

    @property
    def scored(self) -> bool:
        """Whether the metric counts in its group's score (everything but n/a)."""
        return self.status != "n/a"
