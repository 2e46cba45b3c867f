"""The judge's answer (``Judgement``) and how it is shown: one summary line, the verdict table
(Markdown, shown in the Dagster UI) and numeric metadata with keys stable across releases."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from release_assets.config.judge_config import GROUPS
from release_assets.core.judge.results import MetricResult

_SHOWN = {"pass": "pass", "fail": "**FAIL**", "nodata": "**NO DATA**", "error": "**ERROR**"}


@dataclass(frozen=True)
class Judgement:
    """The canary's verdict: every metric's result, the group scores and the score (0..100),
    ``verdict`` (pass | marginal | fail; marginal blocks too) and the failing metrics that
    fail it whatever the score (critical groups', unobserved declared changes');
    ``pass_score``/``marginal_score`` as configured; ``timings`` the seconds
    each ``<table>/<group>`` took (its queries on both sides and the computation)."""

    metrics: list[MetricResult]
    group_scores: dict[str, float]
    score: float
    verdict: Literal["pass", "marginal", "fail"]
    critical_failures: list[MetricResult]
    pass_score: float = 95.0
    marginal_score: float = 75.0
    timings: dict[str, float] = field(default_factory=dict)
    failing: list[MetricResult] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "failing", [m for m in self.metrics if m.scored and not m.ok])

    def summary(self) -> str:
        """One line: verdict, score and the failing metrics with their numbers, e.g.
        ``fail (score 62.5): marts.fct_orders distribution of amount shifted (...)``."""
        head = f"{self.verdict} (score {self.score:.1f}"
        if self.verdict == "marginal":
            head += f"; pass needs {self.pass_score:g}"
        if self.critical_failures and self.score >= self.pass_score:
            # Otherwise "fail (score 98.3)" reads as a contradiction of pass_score.
            critical = sorted({m.group for m in self.critical_failures if m.expected is None})
            if critical:
                head += f"; critical group {', '.join(critical)} failed"
            if any(m.expected is not None for m in self.critical_failures):
                head += "; a declared change was not observed"
        head += ")"
        if not self.group_scores and not self.failing:
            return f"{head}: nothing was measured (no metric was scored)"
        if not self.failing:
            tables = len({m.table for m in self.metrics if m.scored})
            scored = sum(m.scored for m in self.metrics)
            return f"{head}: {scored} metric(s) on {tables} table(s) passed"
        return f"{head}: " + "; ".join(_failure(m) for m in self.failing)

    def markdown(self) -> str:
        """The verdict table: a line of verdict and group scores, then table | group | metric
        | baseline | canary | threshold/test | n baseline/canary | p-value | result | reason."""
        groups = ", ".join(f"{g} {s:.0f}" for g, s in self.group_scores.items()) or "none"
        lines = [
            f"**{self.verdict}** (score {self.score:.1f}; pass >= {self.pass_score:g}, marginal "
            f">= {self.marginal_score:g}; groups: {groups})",
            "",
            "| table | group | metric | baseline | canary | threshold/test | n baseline/canary "
            "| p-value | result | reason |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for m in self.metrics:
            metric = f"{m.metric} {m.column}" if m.column else m.metric
            n = (
                "-"
                if m.n_baseline is None and m.n_canary is None
                else (f"{_n(m.n_baseline)}/{_n(m.n_canary)}")
            )
            p = "-" if m.p_value is None else f"{m.p_value:.2g}"
            result = _SHOWN.get(m.status, m.status)
            if m.expected and m.ok:
                result += " (expected)"
            cells = [m.table, m.group, metric, m.baseline, m.canary, m.threshold, n, p, result]
            cells.append(m.reason)
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        return "\n".join(lines)

    def numeric_metadata(self) -> dict[str, float]:
        """Stable keys (across releases, so Dagster plots them over partitions) -> figures;
        NaN where a figure could not be measured this time. ``judge/score``,
        ``judge/<group>/score``, ``judge/failed_metrics`` and per table:
        ``<t>/volume/max_change_pct``, ``<t>/uniqueness/duplicate_rate``,
        ``<t>/completeness/<column>/null_rate_increase``, ``<t>/freshness/lag_hours``,
        ``<t>/schema/changed_columns``, ``<t>/distribution/<column>/p_value`` and
        ``.../shift_pct``."""
        nan = math.nan
        out: dict[str, float] = {"judge/score": self.score}
        for group in GROUPS:
            out[f"judge/{group}/score"] = self.group_scores.get(group, nan)
        out["judge/failed_metrics"] = float(len(self.failing))
        for m in self.metrics:
            value = nan if m.value is None else m.value
            t = m.table
            if m.metric == "row_count":
                out[f"{t}/volume/max_change_pct"] = value
            elif m.metric == "duplicate_rate":
                out[f"{t}/uniqueness/duplicate_rate"] = value
            elif m.metric == "null_rate" and m.column:
                out[f"{t}/completeness/{m.column}/null_rate_increase"] = value
            elif m.metric == "staleness":
                out[f"{t}/freshness/lag_hours"] = value
            elif m.metric == "schema":
                key = f"{t}/schema/changed_columns"
                out[key] = out.get(key, 0.0) + (value if m.status != "error" else nan)
            elif m.metric == "distribution" and m.column:
                out[f"{t}/distribution/{m.column}/p_value"] = (
                    nan if m.p_value is None else m.p_value
                )
                out[f"{t}/distribution/{m.column}/shift_pct"] = value
        return out


def _n(value: int | None) -> str:
    return "-" if value is None else str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _failure(m: MetricResult) -> str:
    """``<table> <reason>``, with the status when it is not a plain failure."""
    prefix = {"nodata": "no data: ", "error": "error: "}.get(m.status, "")
    return f"{m.table} {prefix}{m.reason}"
