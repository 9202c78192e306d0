"""The report's statistics, over the per-seed test metric of each method.

* mean and sample standard deviation (n - 1) over seeds;
* the difference between two methods with a 95% t-interval (scipy): *paired*
  (``scipy.stats.ttest_rel``) on the per-seed differences when both ran the same seeds
  (df = n - 1), otherwise *Welch* (``scipy.stats.ttest_ind(equal_var=False)``, unequal
  variances, Welch-Satterthwaite df);
* the Pareto front of (cost, value) points.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats


def mean(values: list[float]) -> float:
    return float(np.mean(values))


def sample_std(values: list[float]) -> float:
    """Sample standard deviation (n - 1); NaN for fewer than two values."""
    return float(np.std(values, ddof=1)) if len(values) >= 2 else math.nan


def t_quantile(p: float, df: float) -> float:
    """Student t quantile (``scipy.stats.t.ppf``)."""
    return float(stats.t.ppf(p, df))


t_quantile_fallback = t_quantile
"""The former scipy-less quantile's name: scipy is always there now (scikit-learn needs it)."""


@dataclass(frozen=True)
class Diff:
    """``a - b`` with a two-sided confidence interval (``low``/``high`` NaN when undefined)."""

    diff: float
    low: float
    high: float
    kind: str
    """``paired``, ``welch`` or ``none`` (fewer than two seeds on a side)."""
    df: float
    n_a: int
    n_b: int


def diff_ci(a: dict[Any, float], b: dict[Any, float], *, level: float = 0.95) -> Diff:
    """Mean difference ``a - b`` of per-seed values with a ``level`` t-interval.

    Paired t on the per-seed differences when ``a`` and ``b`` ran exactly the same seeds
    (at least two); otherwise Welch's t-interval when both sides have two or more seeds.
    """
    na, nb = len(a), len(b)
    with warnings.catch_warnings():  # scipy warns on (nearly) equal values; the CI stands
        warnings.simplefilter("ignore", RuntimeWarning)
        if set(a) == set(b) and na >= 2:
            seeds = sorted(a)
            test = stats.ttest_rel([a[s] for s in seeds], [b[s] for s in seeds])
            ci = test.confidence_interval(level)
            m = mean([a[s] - b[s] for s in seeds])
            return Diff(m, float(ci.low), float(ci.high), "paired", float(test.df), na, nb)
        va, vb = list(a.values()), list(b.values())
        m = mean(va) - mean(vb) if na and nb else math.nan
        if na < 2 or nb < 2:
            return Diff(m, math.nan, math.nan, "none", math.nan, na, nb)
        if sample_std(va) == 0 and sample_std(vb) == 0:  # no spread: Welch's df is 0 / 0
            return Diff(m, m, m, "welch", float(na + nb - 2), na, nb)
        test = stats.ttest_ind(va, vb, equal_var=False)
        ci = test.confidence_interval(level)
        return Diff(m, float(ci.low), float(ci.high), "welch", float(test.df), na, nb)


def pareto_front(points: dict[str, tuple[float, float]]) -> set[str]:
    """Names whose (cost, value) no other point beats: cost <= and value >=, one strictly."""
    front = set()
    for name, (cost, value) in points.items():
        dominated = any(
            c <= cost and v >= value and (c < cost or v > value)
            for other, (c, v) in points.items()
            if other != name
        )
        if not dominated:
            front.add(name)
    return front
