"""Records for annotated regions of interest, in patient LPS millimetres.

Every reader (:mod:`.rtstruct`, :mod:`.seg`, :mod:`.nifti`) returns
:class:`RoiSet` objects holding :class:`ContourRoi` (planar contours and
points, as stored in an RTSTRUCT) or :class:`MaskRoi` (a boolean voxel mask on
a stack of axial slices, as stored in a SEG or a NIfTI label map).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from imncohort.outputs import ErrorRecord

AnnotationKind = Literal["rtstruct", "seg", "nifti"]


@dataclass(frozen=True, eq=False)
class SliceGrid:
    """A stack of parallel axial slices sharing one in-plane pixel grid.

    Attributes
    ----------
    origins_lps
        (K, 3) position of pixel (row 0, column 0) of every slice, mm, in the
        order of the slice index ``k``.
    row_dir_lps, col_dir_lps
        Unit vectors along a row (increasing column index ``i``) and along a
        column (increasing row index ``j``).
    spacing_row_mm, spacing_col_mm
        Distance between rows and between columns (DICOM PixelSpacing order).
    rows, columns
        In-plane size in pixels.
    slice_step_mm
        The nominal slice spacing when known from outside the slice positions (a crop
        keeps its parent's; a single-slice series its SliceThickness); 0 = unknown.
    edge_gaps_mm
        Distance from the first slice to the slice before it and from the last slice to
        the slice after it in the parent grid (NaN when there is none); set by
        :meth:`crop` so that slab thicknesses follow the real neighbours.
    """

    origins_lps: np.ndarray
    row_dir_lps: np.ndarray
    col_dir_lps: np.ndarray
    spacing_row_mm: float
    spacing_col_mm: float
    rows: int
    columns: int
    slice_step_mm: float = 0.0
    edge_gaps_mm: tuple[float, float] = (float("nan"), float("nan"))

    @property
    def n_slices(self) -> int:
        """Number of slices ``K``."""
        return int(self.origins_lps.shape[0])

    @property
    def z_mm(self) -> np.ndarray:
        """(K,) LPS z of every slice, mm."""
        return np.asarray(self.origins_lps[:, 2], dtype=float)

    @property
    def slice_spacing_mm(self) -> float:
        """Slice spacing (mm): ``slice_step_mm`` when set (crops keep their parent's),
        else the median distance between neighbouring slices; 1.0 for a single slice."""
        if self.slice_step_mm > 0:
            return self.slice_step_mm
        if self.n_slices < 2:
            return 1.0
        return float(np.median(np.abs(np.diff(self.z_mm))))

    @property
    def stated_spacing_mm(self) -> float | None:
        """Nominal slice spacing (mm): ``slice_step_mm`` when set, else the median
        neighbour distance; None for a single slice without a stated thickness."""
        if self.slice_step_mm > 0:
            return float(self.slice_step_mm)
        if self.n_slices < 2:
            return None
        return float(np.median(np.abs(np.diff(self.z_mm))))

    def slice_runs(self, max_gap_factor: float) -> np.ndarray:
        """(K,) run number of every slice: a new run starts after a gap larger than
        ``max_gap_factor`` x the nominal spacing (see
        :func:`~imncohort.geometry.components.slice_runs`)."""
        from imncohort.geometry.components import slice_runs

        nominal = self.stated_spacing_mm
        if nominal is None:
            return np.zeros(self.n_slices, dtype=int)
        return slice_runs(self.z_mm, max_gap_factor * nominal)

    def slab_thicknesses_mm(self, max_gap_factor: float) -> np.ndarray:
        """(K,) thickness (mm) each slice stands for, from its real neighbours (see
        :func:`~imncohort.geometry.components.slab_thicknesses_mm`); NaN when unknown."""
        from imncohort.geometry.components import slab_thicknesses_mm

        nominal = self.stated_spacing_mm
        if nominal is None:
            return np.full(self.n_slices, np.nan)
        return slab_thicknesses_mm(self.z_mm, nominal, max_gap_factor * nominal, self.edge_gaps_mm)

    def slice_affine(self, k: int) -> np.ndarray:
        """4x4 map of (i, j, k', 1) to LPS for the single slice ``k`` (k' = 0)."""
        affine = np.eye(4)
        affine[:3, 0] = self.row_dir_lps * self.spacing_col_mm
        affine[:3, 1] = self.col_dir_lps * self.spacing_row_mm
        affine[:3, 2] = np.array([0.0, 0.0, self.slice_spacing_mm])
        affine[:3, 3] = self.origins_lps[k]
        return affine

    def crop(self, k0: int, k1: int, j0: int, j1: int, i0: int, i1: int) -> SliceGrid:
        """The sub-grid of slices ``k0:k1``, rows ``j0:j1`` and columns ``i0:i1``."""
        shift = (
            self.row_dir_lps * self.spacing_col_mm * i0
            + self.col_dir_lps * self.spacing_row_mm * j0
        )
        z = self.z_mm
        below = abs(float(z[k0] - z[k0 - 1])) if k0 > 0 else self.edge_gaps_mm[0]
        above = abs(float(z[k1] - z[k1 - 1])) if k1 < self.n_slices else self.edge_gaps_mm[1]
        return SliceGrid(
            origins_lps=self.origins_lps[k0:k1] + shift[None, :],
            row_dir_lps=self.row_dir_lps,
            col_dir_lps=self.col_dir_lps,
            spacing_row_mm=self.spacing_row_mm,
            spacing_col_mm=self.spacing_col_mm,
            rows=j1 - j0,
            columns=i1 - i0,
            slice_step_mm=self.stated_spacing_mm or 0.0,
            edge_gaps_mm=(float(below), float(above)),
        )

    def affine_ijk_to_lps(self) -> np.ndarray:
        """4x4 map of (i, j, k, 1) to LPS assuming evenly spaced slices (first to last)."""
        affine = self.slice_affine(0)
        if self.n_slices > 1:
            affine[:3, 2] = (self.origins_lps[-1] - self.origins_lps[0]) / (self.n_slices - 1)
        return affine

    def pixel_to_xy_lps(self, k: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """(N, 2) LPS x, y of column ``i`` / row ``j`` pixel centres on slice ``k``."""
        pts = (
            self.origins_lps[k][None, :]
            + np.asarray(i, dtype=float)[:, None] * self.row_dir_lps[None, :] * self.spacing_col_mm
            + np.asarray(j, dtype=float)[:, None] * self.col_dir_lps[None, :] * self.spacing_row_mm
        )
        return pts[:, :2]

    def xy_lps_to_pixel(self, k: int, xy_lps: np.ndarray) -> np.ndarray:
        """(N, 2) fractional (i, j) of LPS points on slice ``k``."""
        d = np.asarray(xy_lps, dtype=float) - self.origins_lps[k][None, :2]
        i = d @ self.row_dir_lps[:2] / self.spacing_col_mm
        j = d @ self.col_dir_lps[:2] / self.spacing_row_mm
        return np.stack([i, j], axis=1)

    def slice_index(self, z_mm: float, tolerance_mm: float) -> int | None:
        """Index of the slice at ``z_mm`` (within ``tolerance_mm``), else None."""
        if self.n_slices == 0:
            return None
        dz = np.abs(self.z_mm - z_mm)
        k = int(np.argmin(dz))
        return k if dz[k] <= tolerance_mm else None


@dataclass(frozen=True, eq=False)
class ContourRoi:
    """One RTSTRUCT ROI: closed planar rings per slice and POINT marks.

    Attributes
    ----------
    name
        ROI name as stored.
    rings_by_slice
        slice index ``k`` of the referenced grid -> list of (M, 2) LPS x, y rings (mm).
    points_lps
        (N, 3) POINT contours, mm.
    """

    name: str
    rings_by_slice: dict[int, list[np.ndarray]] = field(default_factory=dict)
    points_lps: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))


@dataclass(frozen=True, eq=False)
class MaskRoi:
    """One segment / label: a boolean mask ``mask_kji`` on ``grid``."""

    name: str
    mask_kji: np.ndarray
    grid: SliceGrid


def cropped_mask_roi(
    name: str, mask_kji: np.ndarray, grid: SliceGrid, box: tuple[slice, ...] | None = None
) -> MaskRoi | None:
    """A :class:`MaskRoi` holding only the bounding box of ``mask_kji`` (None when empty).

    ``box`` is the bounding box when already known (``scipy.ndimage.find_objects``).
    """
    if box is None:
        from scipy import ndimage

        boxes = ndimage.find_objects(mask_kji.astype(np.uint8))
        if not boxes or boxes[0] is None:
            return None
        box = boxes[0]
    k, j, i = box
    sub = np.ascontiguousarray(mask_kji[k, j, i])
    if not sub.any():
        return None
    return MaskRoi(name, sub, grid.crop(k.start, k.stop, j.start, j.stop, i.start, i.stop))


Roi = ContourRoi | MaskRoi


@dataclass(frozen=True, eq=False)
class RoiSet:
    """The ROIs of one annotation file, on the slices of the series it references.

    Attributes
    ----------
    path
        The annotation file, relative to the export root (POSIX).
    annotation
        ``rtstruct``, ``seg`` or ``nifti``.
    series_key
        The referenced image series (``series.parquet`` key).
    grid
        The referenced series' slice grid (contour slice indices refer to it).
    rois
        The ROIs that were read (only those whose names matter).
    errors
        Problems met while reading (contours off every slice, ...).
    meta
        Header facts used to choose between annotation files (RTSTRUCT:
        ``sop_instance_uid``, ``approval``, ``date``, ``time``).
    """

    path: str
    annotation: AnnotationKind
    series_key: str
    grid: SliceGrid
    rois: list[Roi]
    errors: list[ErrorRecord] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
