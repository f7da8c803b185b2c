"""Wilson score interval against published values and an independent computation."""

from __future__ import annotations

import math

import pytest
from paper_cohort import reference_wilson

from imncohort.tables.wilson import wilson_interval, wilson_percent

# Newcombe RG (1998), Stat Med 17:857-872, Table II, method 3 (score, no continuity correction).
NEWCOMBE = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize(("k", "n", "low", "high"), NEWCOMBE)
def test_wilson_matches_newcombe_1998(k: int, n: int, low: float, high: float) -> None:
    got = wilson_interval(k, n)
    assert round(got[0], 4) == low
    assert round(got[1], 4) == high


@pytest.mark.parametrize(
    ("k", "n"), [(45, 83), (63, 83), (77, 83), (83, 83), (1, 1), (32, 49), (3, 23), (0, 5)]
)
def test_wilson_matches_quadratic_roots(k: int, n: int) -> None:
    low, high = wilson_interval(k, n)
    ref_low, ref_high = reference_wilson(k, n)
    assert low == pytest.approx(ref_low, abs=1e-9)
    assert high == pytest.approx(ref_high, abs=1e-9)


def test_wilson_confidence_level_changes_width() -> None:
    low90, high90 = wilson_interval(45, 83, confidence=0.90)
    ref_low, ref_high = reference_wilson(45, 83, confidence=0.90)
    assert (low90, high90) == pytest.approx((ref_low, ref_high), abs=1e-9)
    low95, high95 = wilson_interval(45, 83)
    assert high95 - low95 > high90 - low90


def test_wilson_percent_and_no_trials() -> None:
    percent, low, high = wilson_percent(45, 83)
    assert round(percent, 1) == 54.2
    assert (low, high) == pytest.approx(tuple(100 * b for b in reference_wilson(45, 83)))
    assert all(math.isnan(v) for v in wilson_percent(0, 0))


@pytest.mark.parametrize(("k", "n", "conf"), [(5, 3, 0.95), (-1, 3, 0.95), (1, 3, 1.0)])
def test_wilson_rejects_bad_arguments(k: int, n: int, conf: float) -> None:
    with pytest.raises(ValueError, match="Argument"):
        wilson_interval(k, n, conf)
