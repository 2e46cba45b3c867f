"""Two samples of a numeric column compared: a rank test and the size of the shift.

Mann-Whitney U, two-sided (``scipy.stats.mannwhitneyu``), decides whether the canary's values
come from another distribution than the baseline's; Kolmogorov-Smirnov (``scipy.stats.ks_2samp``)
is reported beside it. A significant test alone does not fail a column: with thousands of
points a negligible shift is significant, so the shift of the median or of the mean (whichever
is larger, relative to the baseline's) must also exceed ``min_effect_pct``. That is how Kayenta's
NetflixACAJudge pairs its Mann-Whitney test with an effect-size tolerance.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class SampleComparison:
    """The test's outcome: ``p_value`` (Mann-Whitney U, two-sided), ``ks_p_value``
    (Kolmogorov-Smirnov), sizes, medians and means of both sides, the relative shifts of
    median and mean in percent (of the baseline's value or, when that is 0, of the baseline's
    mean absolute value; inf when that too is 0 and the canary moved) and ``shifted``
    (p < alpha and the larger shift > min_effect_pct)."""

    n_baseline: int
    n_canary: int
    p_value: float
    ks_p_value: float
    median_baseline: float
    median_canary: float
    mean_baseline: float
    mean_canary: float
    median_shift_pct: float
    mean_shift_pct: float
    shifted: bool

    @property
    def shift_pct(self) -> float:
        """The larger of the median's and the mean's relative shift, in percent."""
        return max(self.median_shift_pct, self.mean_shift_pct)

    @property
    def moved_by(self) -> str:
        """The statistic that drives ``shift_pct``, as shown: ``median 41.20 -> 45.10``."""
        if self.median_shift_pct >= self.mean_shift_pct:
            return f"median {self.median_baseline:.2f} -> {self.median_canary:.2f}"
        return f"mean {self.mean_baseline:.2f} -> {self.mean_canary:.2f}"


def _relative(before: float, after: float, fallback_scale: float) -> float:
    """|after - before| in percent of |before| (of ``fallback_scale`` when before is 0)."""
    scale = abs(before) or fallback_scale
    if scale == 0:
        return 0.0 if after == before else math.inf
    return abs(after - before) / scale * 100


def compare_samples(
    baseline: Sequence[float], canary: Sequence[float], alpha: float, min_effect_pct: float
) -> SampleComparison:
    """Compare two non-empty samples (each at least a few points: the caller checks
    ``min_sample``). Identical samples give p = 1.0 without testing (the test is undefined
    for two constant, equal samples)."""
    b, c = sorted(baseline), sorted(canary)
    if not b or not c:
        raise ValueError("compare_samples needs values on both sides")
    med_b, med_c = statistics.median(b), statistics.median(c)
    mean_b, mean_c = statistics.fmean(b), statistics.fmean(c)
    scale = abs(mean_b) or statistics.fmean(abs(v) for v in b)
    med_shift, mean_shift = _relative(med_b, med_c, scale), _relative(mean_b, mean_c, scale)
    if b == c:
        p, ks_p = 1.0, 1.0
    else:
        p = float(stats.mannwhitneyu(b, c, alternative="two-sided").pvalue)
        ks_p = float(stats.ks_2samp(b, c).pvalue)
        if math.isnan(p):  # both constant and equal is handled above; guard anyway
            p = 1.0
    return SampleComparison(
        n_baseline=len(b),
        n_canary=len(c),
        p_value=p,
        ks_p_value=ks_p,
        median_baseline=med_b,
        median_canary=med_c,
        mean_baseline=mean_b,
        mean_canary=mean_c,
        median_shift_pct=med_shift,
        mean_shift_pct=mean_shift,
        shifted=p < alpha and max(med_shift, mean_shift) > min_effect_pct,
    )
