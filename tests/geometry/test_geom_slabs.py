"""Slice runs and slab thicknesses on analytic stacks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from imncohort.annotations.models import SliceGrid
from imncohort.geometry.components import (
    label_components_in_runs,
    slab_thicknesses_mm,
    slice_runs,
)
from imncohort.geometry.reference import volume_ml_slabs
from imncohort.geometry.sections import section_from_rings


def test_slice_runs_split_only_beyond_the_gap() -> None:
    z = [-99.48, 103.02, 104.27, 105.52]
    assert slice_runs(z, 2.5 * 1.25).tolist() == [0, 1, 1, 1]
    assert slice_runs([0, 2, 4, 8, 10, 20], 2.5 * 2).tolist() == [0, 0, 0, 0, 0, 1]
    assert slice_runs([30, 28, 26], 5.0).tolist() == [0, 0, 0]  # decreasing stacks too


def test_slab_thicknesses_follow_the_real_neighbours() -> None:
    even = slab_thicknesses_mm([0, 3, 6, 9], 3.0, 7.5)
    assert even.tolist() == [3.0, 3.0, 3.0, 3.0]
    # One missing slice (gap 6 <= 7.5): the neighbours of the gap reach halfway into it.
    assert slab_thicknesses_mm([0, 3, 9, 12], 3.0, 7.5).tolist() == [3.0, 4.5, 4.5, 3.0]
    # A 202.5 mm gap: the isolated slice stands for one nominal spacing, not 101 mm.
    irregular = slab_thicknesses_mm([-99.48, 103.02, 104.27, 105.52], 1.25, 3.125)
    assert irregular.tolist() == pytest.approx([1.25, 1.25, 1.25, 1.25])
    # A crop remembers its parent's neighbours.
    assert slab_thicknesses_mm([3, 6], 3.0, 7.5, (3.0, 6.0)).tolist() == [3.0, 4.5]


def test_grid_crop_keeps_edge_gaps_and_single_slice_needs_a_stated_step() -> None:
    origins = np.array([[0.0, 0.0, z] for z in (0.0, 3.0, 9.0, 12.0)])
    grid = SliceGrid(origins, np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), 1.0, 1.0, 4, 4)
    crop = grid.crop(1, 3, 0, 2, 0, 2)
    assert crop.edge_gaps_mm == (3.0, 3.0)
    assert crop.stated_spacing_mm == 3.0
    assert crop.slab_thicknesses_mm(2.5).tolist() == [4.5, 4.5]
    single = SliceGrid(origins[:1], np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), 1.0, 1.0, 4, 4)
    assert single.stated_spacing_mm is None
    assert math.isnan(float(single.slab_thicknesses_mm(2.5)[0]))
    stated = SliceGrid(
        origins[:1], np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), 1.0, 1.0, 4, 4, 5.0
    )
    assert stated.slab_thicknesses_mm(2.5).tolist() == [5.0]


def test_labels_never_join_across_runs() -> None:
    mask = np.ones((3, 2, 2), dtype=bool)
    labels, n = label_components_in_runs(mask, [0, 1, 1])
    assert n == 2
    assert (
        labels[0].tolist() == [[1, 1], [1, 1]] and labels[1:].max() == 2 and labels[1:].min() == 2
    )


def test_volume_from_slabs() -> None:
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=float)
    sections = [section_from_rings(z, [square]) for z in (0.0, 3.0)]
    assert volume_ml_slabs(sections, [3.0, 4.5]) == pytest.approx(100 * 7.5 / 1000)
    assert math.isnan(volume_ml_slabs(sections, [3.0, float("nan")]))
