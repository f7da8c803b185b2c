"""Wilson score confidence interval for a binomial proportion.

Wilson, E. B. (1927), "Probable inference, the law of succession, and
statistical inference", JASA 22:209-212. The interval for ``k`` successes in
``n`` trials at confidence ``1 - alpha`` with ``z = Phi^-1(1 - alpha / 2)`` is::

    centre = (k + z^2 / 2) / (n + z^2)
    half   = z / (n + z^2) * sqrt(k (n - k) / n + z^2 / 4)

It stays inside [0, 1] and is sensible for 0 and n successes, which matters
for coverage percentages near 100 %.
"""

from __future__ import annotations

import math
from statistics import NormalDist

DEFAULT_CONFIDENCE = 0.95


def wilson_interval(
    successes: int, trials: int, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """Return the Wilson score interval of ``successes / trials`` as proportions.

    Parameters
    ----------
    successes
        Number of successes, ``0 <= successes <= trials``.
    trials
        Number of trials; 0 gives ``(nan, nan)`` (no estimate).
    confidence
        Two-sided confidence level in (0, 1), default 0.95.

    Returns
    -------
    tuple of float
        ``(low, high)`` as proportions in [0, 1].
    """
    if trials < 0:
        raise ValueError(f'Argument "trials" must be >= 0, got {trials}.')
    if not 0 <= successes <= trials:
        raise ValueError(f'Argument "successes" must lie in [0, trials={trials}], got {successes}.')
    if not 0.0 < confidence < 1.0:
        raise ValueError(f'Argument "confidence" must lie in (0, 1), got {confidence}.')
    if trials == 0:
        return (math.nan, math.nan)
    z = float(NormalDist().inv_cdf(0.5 + confidence / 2.0))
    z2 = z * z
    n = float(trials)
    k = float(successes)
    centre = (k + z2 / 2.0) / (n + z2)
    half = z / (n + z2) * math.sqrt(k * (n - k) / n + z2 / 4.0)
    return (max(0.0, centre - half), min(1.0, centre + half))


def wilson_percent(
    successes: int, trials: int, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float, float]:
    """Return ``(percent, ci_low, ci_high)`` in percent (0-100), NaN when ``trials`` is 0."""
    low, high = wilson_interval(successes, trials, confidence)
    percent = 100.0 * successes / trials if trials else math.nan
    return (percent, 100.0 * low, 100.0 * high)
