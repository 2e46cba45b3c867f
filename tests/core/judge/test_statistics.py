"""The rank test and effect size behind the distribution metric."""

from __future__ import annotations

import math
import random

from release_assets.core.judge import compare_samples


def _values(n: int, scale: float = 1.0, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    return [round(rng.lognormvariate(3.7, 0.4) * scale, 2) for _ in range(n)]


def test_identical_samples_give_p_one_without_a_shift() -> None:
    values = _values(500)
    result = compare_samples(values, list(reversed(values)), alpha=0.01, min_effect_pct=1.0)
    assert (result.p_value, result.ks_p_value, result.shift_pct, result.shifted) == (
        1.0,
        1.0,
        0.0,
        False,
    )


def test_an_eight_percent_shift_is_significant_and_large() -> None:
    result = compare_samples(_values(2000), _values(2000, 1.08), alpha=0.01, min_effect_pct=1.0)
    assert result.shifted and result.p_value < 1e-6 and 7 < result.shift_pct < 9
    assert " -> " in result.moved_by


def test_a_significant_but_tiny_shift_is_not_a_shift() -> None:
    baseline = [100 + i * 0.001 for i in range(5000)]
    canary = [v * 1.004 for v in baseline]
    result = compare_samples(baseline, canary, alpha=0.01, min_effect_pct=1.0)
    assert result.p_value < 1e-6 and result.shift_pct < 1.0 and not result.shifted


def test_a_zero_median_does_not_hide_a_shifted_tail() -> None:
    baseline = [0.0] * 600 + [10.0 + i / 100 for i in range(400)]
    canary = [0.0] * 600 + [20.0 + i / 50 for i in range(400)]
    result = compare_samples(baseline, canary, alpha=0.01, min_effect_pct=1.0)
    assert result.median_shift_pct == 0.0 and round(result.mean_shift_pct) == 100 and result.shifted
    assert result.moved_by.startswith("mean 4.80 -> ")


def test_values_appearing_from_all_zeros_are_an_infinite_shift() -> None:
    result = compare_samples([0.0] * 50, [0.0] * 25 + [1.0] * 25, alpha=0.01, min_effect_pct=1)
    assert math.isinf(result.shift_pct) and result.shifted
