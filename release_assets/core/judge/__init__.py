"""The canary judge: a release's tables against baselines built by the live release's code
from the same inputs, metric by metric, scored in Kayenta's model (``scoring``).

``judge(warehouse, tables, config, release, first_release=False) -> Judgement``.
"""

from release_assets.core.judge.judging import judge, scored
from release_assets.core.judge.report import Judgement
from release_assets.core.judge.results import JudgedTable, MetricResult, Status
from release_assets.core.judge.statistics import SampleComparison, compare_samples

__all__ = [
    "JudgedTable",
    "Judgement",
    "MetricResult",
    "SampleComparison",
    "Status",
    "compare_samples",
    "judge",
    "scored",
]
