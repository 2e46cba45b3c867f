"""The canary's score and verdict from its metric results, in Kayenta's model.

Source: Spinnaker Kayenta's NetflixACAJudge and its ``WeightedSumScorer`` (the judge Argo
Rollouts' Kayenta analysis uses): metrics are classified one by one (pass or fail), grouped;
each group's score is the share of its metrics that passed; the canary's score is the
weighted mean of the group scores, over the groups that measured something; a failing metric
marked critical fails the canary whatever the score.

Here:
- group score = 100 * passed / scored, where scored excludes ``n/a`` results (a freshness
  metric without a time column). ``nodata`` and ``error`` are scored and count as failed:
  the judge never passes by default;
- score = sum(weight * group score) / sum(weight), over groups with at least one scored metric;
- verdict: any failing metric in a critical group (``judge.groups.<g>.critical``) or in the
  reserved ``table`` group (no baseline, no canary relation) -> fail; so is any failing metric
  a declared change applies to (``judge.expected_changes``), whatever its group: a declared
  change that was not observed means the release is not what its author thinks. Else score >=
  ``pass_score`` -> pass; >= ``marginal_score`` -> marginal; else fail. No scored metric at all
  -> fail ("nothing was measured").
"""

from __future__ import annotations

from typing import Literal

from release_assets.config.judge_config import GROUPS, JudgeConfig
from release_assets.core.judge.results import TABLE_GROUP, MetricResult

Verdict = Literal["pass", "marginal", "fail"]


def group_scores(metrics: list[MetricResult], config: JudgeConfig) -> dict[str, float]:
    """Each configured group with at least one scored metric -> 100 * passed / scored."""
    out: dict[str, float] = {}
    for group in GROUPS:
        scored = [m for m in metrics if m.group == group and m.scored]
        if scored:
            out[group] = 100.0 * sum(m.ok for m in scored) / len(scored)
    return out


def overall_score(scores: dict[str, float], config: JudgeConfig) -> float:
    """The weighted mean of ``scores`` (0..100) by ``judge.groups`` weights; 0.0 when no group
    was scored or every scored group weighs 0."""
    weights = {g: config.group(g).weight for g in GROUPS if g in scores}
    total = sum(weights.values())
    if total == 0:
        return 0.0
    return sum(weights[g] * scores[g] for g in weights) / total


def critical_failures(metrics: list[MetricResult], config: JudgeConfig) -> list[MetricResult]:
    """The failing metrics that fail the run whatever the score: those of critical groups and
    of the reserved ``table`` group, and those a declared change applies to (``expected``
    set: the change was not observed), in any group."""
    critical = {g for g in GROUPS if config.group(g).critical} | {TABLE_GROUP}
    return [
        m
        for m in metrics
        if m.scored and not m.ok and (m.group in critical or m.expected is not None)
    ]


def verdict(
    metrics: list[MetricResult], scores: dict[str, float], score: float, config: JudgeConfig
) -> Verdict:
    """fail on a critical failure or when nothing was measured; else by score: pass at
    ``pass_score`` and above, marginal at ``marginal_score`` and above, fail below."""
    if not scores or critical_failures(metrics, config):
        return "fail"
    if score >= config.pass_score:
        return "pass"
    if score >= config.marginal_score:
        return "marginal"
    return "fail"
