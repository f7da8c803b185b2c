"""Share of a node inside a planned IMN CTV."""

from __future__ import annotations

import numpy as np
import pytest

from imncohort.geometry.overlap import ctv_coverage, ctv_coverage_sections, mask_from_sections
from imncohort.geometry.sections import section_from_rings
from imncohort.geometry.validation import GeometryError


def test_half_covered_box_mask():
    node = np.zeros((6, 20, 20), dtype=bool)
    node[1:5, 4:14, 5:15] = True
    ctv = np.zeros_like(node)
    ctv[:, :, 10:] = True  # covers columns 10..14 of the node's 5..14
    assert ctv_coverage(node, ctv) == 0.5
    ctv[:, :, :] = True
    assert ctv_coverage(node, ctv) == 1.0
    assert ctv_coverage(node, np.zeros_like(node)) == 0.0


def test_mask_errors():
    with pytest.raises(GeometryError, match="must have the same shape"):
        ctv_coverage(np.ones((2, 2, 2)), np.ones((2, 2, 3)))
    with pytest.raises(GeometryError, match='"node_mask_kji" is empty'):
        ctv_coverage(np.zeros((2, 2, 2)), np.ones((2, 2, 2)))


def _half_plane_rect(x_max, z):
    ring = np.array([[-40.0, -40.0], [x_max, -40.0], [x_max, 40.0], [-40.0, 40.0]])
    return section_from_rings(z, [ring])


def test_half_covered_box_contours(shapes):
    node = [section_from_rings(z, [shapes.square_ring(0.03, 0.07, 5.0)]) for z in (0.0, 3.0, 6.0)]
    ctv = [_half_plane_rect(0.03, z) for z in (0.0, 3.0, 6.0)]
    assert ctv_coverage_sections(node, ctv) == pytest.approx(0.5, abs=0.011)
    # No CTV contour on the top slice: that third of the node is uncovered.
    assert ctv_coverage_sections(node, ctv[:2]) == pytest.approx(1.0 / 3.0, abs=0.011)
    # A CTV with a hole around the node centre (2 x 2 mm of 10 x 10): 0.96 covered.
    holed = [
        section_from_rings(
            z,
            [shapes.square_ring(0.0, 0.0, 30.0), shapes.square_ring(0.03, 0.07, 1.0)],
        )
        for z in (0.0, 3.0, 6.0)
    ]
    assert ctv_coverage_sections(node, holed) == pytest.approx(0.96, abs=0.005)


def test_contour_ctv_on_mask_node(shapes):
    shape = (4, 40, 40)
    affine = shapes.axial_affine((0.5, 0.5, 2.0), (-1, 1, -1), shape, (0.0, 0.0, 3.0))
    node = np.zeros(shape, dtype=bool)
    node[1:3, 10:30, 10:30] = True
    zs = [float(affine[2, 2] * k + affine[2, 3]) for k in range(shape[0])]
    ctv = mask_from_sections([_half_plane_rect(0.0, z) for z in zs], affine, shape)
    # x <= 0 is half of the columns (the grid is centred on x = 0, no centre on x = 0).
    assert ctv_coverage(node, ctv) == 0.5
