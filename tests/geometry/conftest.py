"""Synthetic shapes with analytic answers shared by the geometry tests."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

FloatArray = npt.NDArray[np.float64]


def ellipse_ring(
    cx: float, cy: float, a: float, b: float, theta_deg: float = 0.0, n: int = 64
) -> FloatArray:
    """n-vertex polygon inscribed in an ellipse (semi-axes a, b, rotated by theta)."""
    t = 2 * np.pi * np.arange(n) / n
    th = math.radians(theta_deg)
    x = cx + a * np.cos(t) * math.cos(th) - b * np.sin(t) * math.sin(th)
    y = cy + a * np.cos(t) * math.sin(th) + b * np.sin(t) * math.cos(th)
    return np.column_stack([x, y])


def square_ring(cx: float, cy: float, half: float) -> FloatArray:
    return np.array(
        [
            [cx - half, cy - half],
            [cx + half, cy - half],
            [cx + half, cy + half],
            [cx - half, cy + half],
        ]
    )


def axial_affine(
    spacing_ijk: tuple[float, float, float],
    signs_ijk: tuple[int, int, int],
    shape_kji: tuple[int, int, int],
    centre_lps: tuple[float, float, float],
) -> FloatArray:
    """Affine of an axial grid whose centre voxel sits at ``centre_lps``.

    Negative signs give flipped rows/columns (feet-first, prone) or reversed slice order.
    """
    steps = np.array(spacing_ijk) * np.array(signs_ijk)
    affine = np.eye(4)
    affine[:3, :3] = np.diag(steps)
    half_ijk = (np.array(shape_kji[::-1]) - 1) / 2.0
    affine[:3, 3] = np.array(centre_lps) - steps * half_ijk
    return affine


def rasterise(
    inside: Callable[[FloatArray, FloatArray, FloatArray], npt.NDArray[np.bool_]],
    affine: FloatArray,
    shape_kji: tuple[int, int, int],
) -> npt.NDArray[np.bool_]:
    """mask[k, j, i] = inside(x, y, z) at the voxel centre."""
    kk, jj, ii = np.meshgrid(*(np.arange(n) for n in shape_kji), indexing="ij")
    ijk1 = np.stack([ii, jj, kk, np.ones_like(ii)], axis=-1).astype(float)
    lps = ijk1 @ affine[:3].T
    return np.asarray(inside(lps[..., 0], lps[..., 1], lps[..., 2]), dtype=bool)


def in_ellipse(
    cx: float, cy: float, a: float, b: float, theta_deg: float
) -> Callable[[FloatArray, FloatArray], npt.NDArray[np.bool_]]:
    th = math.radians(theta_deg)

    def f(x: FloatArray, y: FloatArray) -> npt.NDArray[np.bool_]:
        u = (x - cx) * math.cos(th) + (y - cy) * math.sin(th)
        v = -(x - cx) * math.sin(th) + (y - cy) * math.cos(th)
        return np.asarray((u / a) ** 2 + (v / b) ** 2 <= 1.0)

    return f


class Shapes:
    ellipse_ring = staticmethod(ellipse_ring)
    square_ring = staticmethod(square_ring)
    axial_affine = staticmethod(axial_affine)
    rasterise = staticmethod(rasterise)
    in_ellipse = staticmethod(in_ellipse)


@pytest.fixture
def shapes() -> type[Shapes]:
    """Helpers building synthetic rings, affines and masks."""
    return Shapes
