"""The ``judge:`` section of ``release.yaml``: how the canary judge compares a release's tables
with the baseline built by the live release's code from the same inputs.

Thresholds (``judge.thresholds``, overridden field by field by ``critical_tables[].thresholds``),
the metric groups' weights and critical flags, the pass and marginal scores, and the known data
changes a release declares (``judge.expected_changes``). The judge itself is
``release_assets.core.judge``; the scoring model (Kayenta's) is described there.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_TABLE = r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$"

GroupName = Literal["volume", "completeness", "uniqueness", "freshness", "schema", "distribution"]
GROUPS: tuple[GroupName, ...] = (
    "volume",
    "uniqueness",
    "schema",
    "completeness",
    "distribution",
    "freshness",
)
ExpectedMetric = Literal["row_count", "distribution", "null_rate", "schema", "new_table"]
# Metrics of an expected change that name a column, and those that need a range.
COLUMN_METRICS = frozenset({"distribution", "null_rate", "schema"})
RANGE_METRICS = frozenset({"row_count"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    """The judge's limits; unset fields fall back to ``judge.thresholds`` (then the defaults).

    Units: percent for ``*_pct``, a share 0..1 for rates, hours, a p-value for ``alpha``,
    values per side for the sample sizes."""

    max_row_count_change_pct: float | None = Field(default=None, ge=0)
    max_null_rate_increase: float | None = Field(default=None, ge=0, le=1)
    max_null_rate: float | None = Field(default=None, ge=0, le=1)
    max_duplicate_rate: float | None = Field(default=None, ge=0, le=1)
    max_staleness_hours: float | None = Field(default=None, gt=0)
    alpha: float | None = Field(default=None, gt=0, le=0.5)
    min_effect_pct: float | None = Field(default=None, ge=0)
    min_sample: int | None = Field(default=None, ge=3, le=100_000)
    max_sample: int | None = Field(default=None, ge=3, le=100_000)


class Limits(_Strict):
    """Every threshold resolved for one table (the defaults, ``judge.thresholds``, the table's)."""

    max_row_count_change_pct: float = 10.0
    max_null_rate_increase: float = 0.01
    max_null_rate: float = 1.0
    max_duplicate_rate: float = 0.0
    max_staleness_hours: float = 26.0
    alpha: float = 0.01
    min_effect_pct: float = 1.0
    min_sample: int = 20
    max_sample: int = 5000


class GroupOverride(_Strict):
    """A metric group's weight and critical flag; unset fields keep the default."""

    weight: float | None = Field(default=None, ge=0)
    critical: bool | None = None


class GroupSettings(_Strict):
    """A metric group's resolved weight (relative, >= 0) and critical flag."""

    weight: float
    critical: bool


DEFAULT_GROUPS: dict[GroupName, GroupSettings] = {
    "volume": GroupSettings(weight=25, critical=True),
    "uniqueness": GroupSettings(weight=20, critical=True),
    "schema": GroupSettings(weight=15, critical=True),
    "completeness": GroupSettings(weight=15, critical=True),
    "distribution": GroupSettings(weight=15, critical=False),
    "freshness": GroupSettings(weight=10, critical=False),
}


class ChangeRange(_Strict):
    """An expected relative change in percent, ``min`` <= ``max`` (e.g. -40 .. -30)."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> ChangeRange:
        if self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g}): swap them")
        return self


class ExpectedChange(_Strict):
    """A known data change of one release: the judge expects it instead of failing on it, and
    fails when it is not observed."""

    release: str = Field(min_length=1)
    table: str = Field(pattern=_TABLE)
    metric: ExpectedMetric
    column: str | None = None
    change_pct: ChangeRange | None = None
    reason: str = Field(min_length=1)


class JudgeConfig(_Strict):
    """``release.yaml`` ``judge:``: scores in 0..100, thresholds, groups, expected changes."""

    pass_score: float = Field(default=95.0, ge=0, le=100)
    marginal_score: float = Field(default=75.0, ge=0, le=100)
    thresholds: Thresholds = Thresholds()
    groups: dict[GroupName, GroupOverride] = {}
    expected_changes: list[ExpectedChange] = []

    def group(self, name: GroupName) -> GroupSettings:
        """The group's weight and critical flag: the default overlaid with ``groups[name]``."""
        base = DEFAULT_GROUPS[name]
        override = self.groups.get(name)
        if override is None:
            return base
        return GroupSettings(
            weight=base.weight if override.weight is None else override.weight,
            critical=base.critical if override.critical is None else override.critical,
        )

    def limits(self, table: Thresholds | None = None) -> Limits:
        """The defaults, overlaid with ``judge.thresholds``, then with a table's own."""
        merged = Limits().model_dump()
        merged.update(self.thresholds.model_dump(exclude_none=True))
        if table is not None:
            merged.update(table.model_dump(exclude_none=True))
        return Limits(**merged)

    def expected(self, release: str, table: str) -> list[ExpectedChange]:
        """The changes declared for ``release`` on ``table`` (other releases' are ignored)."""
        return [c for c in self.expected_changes if c.release == release and c.table == table]


def judge_problems(judge: JudgeConfig, critical_tables: dict[str, Thresholds]) -> list[str]:
    """One ``judge.<field>: <what is wrong>`` line per fault pydantic cannot see alone: an
    expected change on a table that is not a key of ``critical_tables`` (name -> the table's
    own thresholds), a missing or superfluous ``column``/``change_pct`` for its metric,
    ``marginal_score`` above ``pass_score``, ``min_sample`` above ``max_sample``."""
    problems: list[str] = []
    if judge.marginal_score > judge.pass_score:
        problems.append(
            f"judge.marginal_score: {judge.marginal_score:g} is above judge.pass_score "
            f"({judge.pass_score:g}): the marginal score must be the lower one"
        )
    limits = judge.limits()
    if limits.min_sample > limits.max_sample:
        problems.append(
            f"judge.thresholds.min_sample: {limits.min_sample} is above max_sample "
            f"({limits.max_sample})"
        )
    for i, (name, own) in enumerate(critical_tables.items()):
        table_limits = judge.limits(own)
        sets_sample = own.min_sample is not None or own.max_sample is not None
        if sets_sample and table_limits.min_sample > table_limits.max_sample:
            problems.append(
                f"critical_tables[{i}].thresholds.min_sample: {table_limits.min_sample} is "
                f"above max_sample ({table_limits.max_sample}) for {name}"
            )
    known = ", ".join(critical_tables) or "none declared"
    for i, change in enumerate(judge.expected_changes):
        at = f"judge.expected_changes[{i}]"
        if change.table not in critical_tables:
            problems.append(
                f"{at}.table: {change.table!r} is not a critical table (critical_tables: {known})"
            )
        if change.metric in COLUMN_METRICS and change.column is None:
            problems.append(f"{at}.column: required for metric {change.metric}: name the column")
        if change.metric not in COLUMN_METRICS and change.column is not None:
            problems.append(f"{at}.column: not used by metric {change.metric}: remove it")
        if change.metric in RANGE_METRICS and change.change_pct is None:
            problems.append(
                f"{at}.change_pct: required for metric {change.metric}: give the expected "
                "range in percent, e.g. {min: -40, max: -30}"
            )
        if change.metric not in RANGE_METRICS and change.change_pct is not None:
            problems.append(f"{at}.change_pct: not used by metric {change.metric}: remove it")
    return problems
