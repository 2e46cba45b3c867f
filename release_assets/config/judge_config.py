"""The ``judge:`` section of ``release.yaml``: how the canary judge compares a release's tables
with the baseline built by the live release's code from the same inputs.

Thresholds (``judge.thresholds``, overridden field by field by ``critical_tables[].thresholds``),
the metric groups' weights and critical flags, the pass and marginal scores, and the known data
changes a release declares (``judge.expected_changes``). The judge itself is
``release_assets.core.judge``; the scoring model (Kayenta's) is described there.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationInfo,
    model_validator,
)

# ExpectedMetric, COLUMN_METRICS, RANGE_METRICS and judge_context are re-exported.
from release_assets.config.judge_checks import COLUMN_METRICS as COLUMN_METRICS
from release_assets.config.judge_checks import (
    CONTEXT_KEY,
    TABLE_PATTERN,
    JudgeContext,
    Problem,
    change_problems,
    collected,
    context_problems,
)
from release_assets.config.judge_checks import RANGE_METRICS as RANGE_METRICS
from release_assets.config.judge_checks import ExpectedMetric as ExpectedMetric
from release_assets.config.judge_checks import judge_context as judge_context

GroupName = Literal["volume", "completeness", "uniqueness", "freshness", "schema", "distribution"]
GROUPS: tuple[GroupName, ...] = (
    "volume",
    "uniqueness",
    "schema",
    "completeness",
    "distribution",
    "freshness",
)


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
    fails the run when it is not observed.

    Validation reports every problem of an entry at once: its fields' own, a ``column`` or
    ``change_pct`` its ``metric`` needs or does not use and, with the ``judge_context`` of the
    file, a ``table`` that is not a critical table and a ``release`` that cannot match
    ``git.tag_pattern``."""

    release: str = Field(min_length=1)
    table: str = Field(pattern=TABLE_PATTERN)
    metric: ExpectedMetric
    column: str | None = None
    change_pct: ChangeRange | None = None
    reason: str = Field(min_length=1)

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem(
        cls, data: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo
    ) -> Self:
        context = (info.context or {}).get(CONTEXT_KEY)
        return collected(cls, data, handler, lambda raw: change_problems(raw, context))


class JudgeConfig(_Strict):
    """``release.yaml`` ``judge:``: scores in 0..100, thresholds, groups, expected changes.

    Validation reports every problem at once, its entries' and these: ``marginal_score`` above
    ``pass_score``, ``min_sample`` above ``max_sample``, every group weighing 0, the same
    change (release, table, metric, column) declared twice."""

    pass_score: float = Field(default=95.0, ge=0, le=100)
    marginal_score: float = Field(default=75.0, ge=0, le=100)
    thresholds: Thresholds = Thresholds()
    groups: dict[GroupName, GroupOverride] = {}
    expected_changes: list[ExpectedChange] = []

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        return collected(cls, data, handler, _judge_level_problems)

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
    """One ``<field>: <what is wrong>`` line per fault of a validated ``judge`` against the rest
    of the file: a table's own ``min_sample`` above its ``max_sample`` (``critical_tables``:
    name -> the table's own thresholds, in file order); an expected change on a table that is
    not a critical table. Validation with ``judge_context`` finds the latter first (with every
    other fault of the entry, and a ``release`` that cannot match ``git.tag_pattern``): then
    this finds none."""
    problems: list[str] = []
    for i, (name, own) in enumerate(critical_tables.items()):
        table_limits = judge.limits(own)
        sets_sample = own.min_sample is not None or own.max_sample is not None
        if sets_sample and table_limits.min_sample > table_limits.max_sample:
            problems.append(
                f"critical_tables[{i}].thresholds.min_sample: {table_limits.min_sample} is "
                f"above max_sample ({table_limits.max_sample}) for {name}"
            )
    context = JudgeContext(tuple(critical_tables), tag_pattern="*")
    for i, change in enumerate(judge.expected_changes):
        for loc, message in context_problems(change.model_dump(), context):
            problems.append(f"judge.expected_changes[{i}].{loc[0]}: {message}")
    return problems


def _number(value: Any, default: float) -> float | None:
    """``value`` when it is a number, ``default`` when unset, None when it is anything else."""
    if value is None:
        return default
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _section(value: Any) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump()
    return value if isinstance(value, dict) else {}


def _judge_level_problems(raw: dict[str, Any]) -> list[Problem]:
    """Scores and sample sizes out of order, every group weighing 0, a change declared twice."""
    out: list[Problem] = []
    passing = _number(raw.get("pass_score"), 95.0)
    marginal = _number(raw.get("marginal_score"), 75.0)
    if passing is not None and marginal is not None and marginal > passing:
        out.append(
            (
                ("marginal_score",),
                f"{marginal:g} is above judge.pass_score ({passing:g}): the marginal score "
                "must be the lower one",
            )
        )
    thresholds = _section(raw.get("thresholds"))
    low = _number(thresholds.get("min_sample"), Limits().min_sample)
    high = _number(thresholds.get("max_sample"), Limits().max_sample)
    if low is not None and high is not None and low > high:
        out.append((("thresholds", "min_sample"), f"{low:g} is above max_sample ({high:g})"))
    groups = _section(raw.get("groups"))
    weights = [
        _number(_section(groups.get(g)).get("weight"), DEFAULT_GROUPS[g].weight) for g in GROUPS
    ]
    if all(w == 0 for w in weights):
        out.append(
            (
                ("groups",),
                "every group's weight is 0: the score would always be 0 and every release "
                "would fail; give at least one group a weight above 0",
            )
        )
    seen: dict[tuple[Any, ...], int] = {}
    changes = raw.get("expected_changes")
    for i, entry in enumerate(changes if isinstance(changes, list) else []):
        e = _section(entry)
        key = tuple(repr(e.get(f)) for f in ("release", "table", "metric", "column"))
        if key in seen:
            out.append(
                (
                    ("expected_changes", i),
                    f"declares the same release, table, metric and column as "
                    f"judge.expected_changes[{seen[key]}]: keep one (merge their reasons)",
                )
            )
        seen.setdefault(key, i)
    return out
