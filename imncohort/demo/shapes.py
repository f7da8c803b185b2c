"""Analytic shapes of the demo phantom, in patient LPS millimetres.

Each shape answers two questions on an axial plane ``z``: which points it contains
(for voxel masks and the CT image) and what its outline is (for RTSTRUCT contours).
Outlines are sampled so that their polygon centroid and axes equal the analytic ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Side sign: +1 for the patient's left (+x in LPS), -1 for the right.
SIDE_SIGN = {"left": 1, "right": -1}


@dataclass(frozen=True)
class Ellipsoid:
    """A node: ellipsoid with in-plane semi-axes ``a >= b`` rotated by ``theta``.

    Parameters
    ----------
    center_lps : tuple of float
        Centre (x, y, z) in mm.
    a, b : float
        In-plane semi-axes in mm (``a`` long, ``b`` short).
    c : float
        Semi-axis along z in mm.
    theta : float
        Angle of the long axis from +x towards +y, radians.
    """

    center_lps: tuple[float, float, float]
    a: float
    b: float
    c: float
    theta: float

    def scale_at(self, z: float) -> float:
        """Cross-section scale ``sqrt(1 - ((z - zc) / c)^2)`` at ``z`` (0 outside)."""
        t = (z - self.center_lps[2]) / self.c
        return math.sqrt(1.0 - t * t) if abs(t) < 1.0 else 0.0

    def half_widths(self) -> tuple[float, float]:
        """Half extents (x, y) in mm of the largest cross-section."""
        cos, sin = math.cos(self.theta), math.sin(self.theta)
        hx = math.sqrt((self.a * cos) ** 2 + (self.b * sin) ** 2)
        hy = math.sqrt((self.a * sin) ** 2 + (self.b * cos) ** 2)
        return hx, hy

    def boundary(self, z: float, n_vertices: int) -> FloatArray | None:
        """Outline at ``z`` as an (n, 2) array of (x, y) mm, or None when not cut."""
        s = self.scale_at(z)
        if s <= 0.0:
            return None
        t = 2.0 * np.pi * np.arange(n_vertices) / n_vertices
        u, v = self.a * s * np.cos(t), self.b * s * np.sin(t)
        cos, sin = math.cos(self.theta), math.sin(self.theta)
        x = self.center_lps[0] + u * cos - v * sin
        y = self.center_lps[1] + u * sin + v * cos
        return np.column_stack([x, y])

    def contains(self, x: FloatArray, y: FloatArray, z: float) -> BoolArray:
        """Whether the points (x, y) of plane ``z`` lie inside (boundary included)."""
        s = self.scale_at(z)
        if s <= 0.0:
            return np.zeros(np.shape(x), dtype=bool)
        dx, dy = x - self.center_lps[0], y - self.center_lps[1]
        cos, sin = math.cos(self.theta), math.sin(self.theta)
        u, v = dx * cos + dy * sin, -dx * sin + dy * cos
        result: BoolArray = (u / (self.a * s)) ** 2 + (v / (self.b * s)) ** 2 <= 1.0
        return result


@dataclass(frozen=True)
class Tube:
    """A vessel or CTV: circle of ``radius`` around ``x(z) = x0 + slope (z - z_ref)``, ``y``."""

    x0: float
    y: float
    slope: float
    z_ref: float
    radius: float
    z_min: float
    z_max: float

    def center_at(self, z: float) -> tuple[float, float]:
        """Axis position (x, y) in mm at ``z``."""
        return self.x0 + self.slope * (z - self.z_ref), self.y

    def present(self, z: float) -> bool:
        """Whether plane ``z`` cuts the tube."""
        return self.z_min - 1e-6 <= z <= self.z_max + 1e-6

    def boundary(self, z: float, n_vertices: int) -> FloatArray | None:
        """Circle outline at ``z`` as an (n, 2) array, or None outside the z range."""
        if not self.present(z):
            return None
        cx, cy = self.center_at(z)
        t = 2.0 * np.pi * np.arange(n_vertices) / n_vertices
        return np.column_stack([cx + self.radius * np.cos(t), cy + self.radius * np.sin(t)])

    def contains(self, x: FloatArray, y: FloatArray, z: float) -> BoolArray:
        """Whether the points (x, y) of plane ``z`` lie inside."""
        if not self.present(z):
            return np.zeros(np.shape(x), dtype=bool)
        cx, cy = self.center_at(z)
        result: BoolArray = (x - cx) ** 2 + (y - cy) ** 2 <= self.radius**2
        return result


@dataclass(frozen=True)
class Rib:
    """A rib (optionally with its costal cartilage): a tube of ``radius`` along x.

    Its centre line is ``y = y_center``, ``z = z_level`` for ``x_medial <= |x| <=
    x_flat_end`` (the parasternal part, horizontal so the rib level is exact) and
    rises by ``slope`` mm per mm beyond, up to ``x_lateral``. ``side`` is +1 (left)
    or -1 (right); all x bounds are absolute values.
    """

    side: int
    number: int
    z_level: float
    y_center: float
    radius: float
    x_medial: float
    x_flat_end: float
    slope: float
    x_lateral: float

    def z_center(self, abs_x: FloatArray) -> FloatArray:
        """Centre-line z in mm at the absolute x positions."""
        return self.z_level + self.slope * np.maximum(0.0, abs_x - self.x_flat_end)

    def x_interval(self, z: float) -> tuple[float, float] | None:
        """Absolute x interval where plane ``z`` cuts the rib, or None."""
        dz = z - self.z_level
        if dz <= -self.radius:
            return None
        if abs(dz) < self.radius:
            lo = self.x_medial
        else:
            lo = self.x_flat_end + (dz - self.radius) / self.slope
        hi = min(self.x_lateral, self.x_flat_end + (dz + self.radius) / self.slope)
        return (lo, hi) if hi > lo else None

    def contains(self, x: FloatArray, y: FloatArray, z: float) -> BoolArray:
        """Whether the points (x, y) of plane ``z`` lie inside."""
        if self.x_interval(z) is None:
            return np.zeros(np.shape(x), dtype=bool)
        ax = x * self.side
        inside = (ax >= self.x_medial) & (ax <= self.x_lateral)
        zc = self.z_center(np.abs(x))
        result: BoolArray = inside & ((y - self.y_center) ** 2 + (z - zc) ** 2 <= self.radius**2)
        return result

    def boundary(self, z: float, step_mm: float = 0.5) -> FloatArray | None:
        """Outline at ``z`` sampled every ``step_mm`` in x from the medial end, or None.

        The sampling starts at the medial end, so planes at equal distance above and
        below the rib level give the same number of points near the sternum.
        """
        interval = self.x_interval(z)
        if interval is None:
            return None
        lo, hi = interval
        start = self.x_medial + math.ceil((lo - self.x_medial) / step_mm - 1e-9) * step_mm
        xs = np.arange(start, hi + 1e-9, step_mm)
        if xs.size < 2:
            return None
        dz = z - self.z_center(xs)
        h = np.sqrt(np.clip(self.radius**2 - dz**2, 0.0, None))
        keep = h > 0.05
        xs, h = xs[keep], h[keep]
        if xs.size < 2:
            return None
        upper = np.column_stack([xs, self.y_center - h])
        lower = np.column_stack([xs[::-1], self.y_center + h[::-1]])
        outline = np.vstack([upper, lower])
        outline[:, 0] *= self.side
        return outline


@dataclass(frozen=True)
class Sternum:
    """The sternum: ``|x| <= half_width``, ``|y - y_center| <= half_depth``, all z."""

    half_width: float
    y_center: float
    half_depth: float

    def contains(self, x: FloatArray, y: FloatArray, z: float) -> BoolArray:
        """Whether the points (x, y) of plane ``z`` lie inside."""
        result: BoolArray = (np.abs(x) <= self.half_width) & (
            np.abs(y - self.y_center) <= self.half_depth
        )
        return result

    def boundary(self, z: float, n_vertices: int) -> FloatArray:
        """Rectangle outline at ``z`` with ``n_vertices`` points (multiple of 4)."""
        per_side = n_vertices // 4
        t = np.arange(per_side) / per_side
        w, d, yc = self.half_width, self.half_depth, self.y_center
        top = np.column_stack([-w + 2 * w * t, np.full(per_side, yc - d)])
        right = np.column_stack([np.full(per_side, w), yc - d + 2 * d * t])
        bottom = np.column_stack([w - 2 * w * t, np.full(per_side, yc + d)])
        left = np.column_stack([np.full(per_side, -w), yc + d - 2 * d * t])
        return np.vstack([top, right, bottom, left])
