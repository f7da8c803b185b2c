"""The demo NIfTI label maps (RAS affine) with their JSON sidecars.

A labelled map carries ``{"SeriesInstanceUID": ..., "labels": {"1": name, ...}}``.
A TotalSegmentator-style map carries no ``labels``: its ids are TotalSegmentator v2
``total`` ids (see :mod:`imncohort.demo.rois`), and the nodes of that patient go to a
second, labelled map. The vessels always have a map of their own (``<stem>_vessels``)
and so has the sternum of a labelled patient (``<stem>_sternum``): a node may wrap the
vessel or invade the sternum, and one label map would lose the voxels they share.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import nibabel as nib
import numpy as np

from imncohort.demo.masks import roi_mask
from imncohort.demo.phantom import Phantom, Roi
from imncohort.demo.rois import (
    TOTALSEG_CARTILAGES,
    TOTALSEG_STERNUM,
    node_rois,
    rib_rois,
    totalseg_rib_id,
    vessel_rois,
)

#: LPS -> RAS flip of the first two axes.
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
PAINT_ORDER = {"rib": 0, "sternum": 0, "cartilage": 0, "ctv": 1, "vessel": 2, "node": 3}


def affine_ras(phantom: Phantom) -> np.ndarray:
    """4x4 voxel (i=column, j=row, k=slice ascending z) to RAS mm affine."""
    g = phantom.geometry
    affine_lps = np.eye(4)
    affine_lps[0, 0] = g.row_dir_x * g.pixel_spacing_col
    affine_lps[1, 1] = g.pixel_spacing_row
    affine_lps[2, 2] = g.slice_spacing
    affine_lps[:3, 3] = [g.x_first, g.y_first, g.z_positions[0]]
    result: np.ndarray = LPS_TO_RAS @ affine_lps
    return result


def _write_map(path: Path, phantom: Phantom, labelled: list[tuple[int, Roi]]) -> None:
    g = phantom.geometry
    volume = np.zeros((len(g.z_positions), g.rows, g.columns), dtype=np.uint8)
    for label, roi in sorted(labelled, key=lambda item: PAINT_ORDER[item[1].kind]):
        volume[roi_mask(phantom, roi)] = label
    image = nib.Nifti1Image(volume.transpose(2, 1, 0), affine_ras(phantom))
    image.set_qform(affine_ras(phantom), code=1)
    image.set_sform(affine_ras(phantom), code=1)
    path.write_bytes(gzip.compress(image.to_bytes(), mtime=0))


def _write_sidecar(path: Path, series_instance_uid: str, labels: dict[str, str] | None) -> None:
    content: dict[str, object] = {"SeriesInstanceUID": series_instance_uid}
    if labels is not None:
        content["labels"] = labels
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_label_maps(
    phantom: Phantom, folder: Path, stem: str, series_instance_uid: str
) -> list[Path]:
    """Write the patient's label map(s) and sidecars into ``folder``; return the paths.

    Parameters
    ----------
    phantom : Phantom
        The patient phantom.
    folder : Path
        Existing folder to write into.
    stem : str
        File stem; ``<stem>_vessels`` holds the vessels, ``<stem>_sternum`` a labelled
        patient's sternum and ``<stem>_total`` a TotalSegmentator-style patient's bones.
    series_instance_uid : str
        The CT series the maps are drawn on.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    ts = phantom.plan.totalsegmentator
    main_rois = node_rois(phantom)
    sternum: list[Roi] = []
    if not ts:
        # The sternum gets its own map: in one label map a node painted over it would
        # erase the voxels it invades.
        for roi in rib_rois(phantom):
            (sternum if roi.kind == "sternum" else main_rois).append(roi)
    labelled = list(enumerate(main_rois, start=1))
    if labelled:
        nii, sidecar = folder / f"{stem}.nii.gz", folder / f"{stem}.json"
        _write_map(nii, phantom, labelled)
        _write_sidecar(sidecar, series_instance_uid, {str(i): r.name for i, r in labelled})
        written += [nii, sidecar]
    vessels = list(enumerate(vessel_rois(phantom), start=1))
    nii, sidecar = folder / f"{stem}_vessels.nii.gz", folder / f"{stem}_vessels.json"
    _write_map(nii, phantom, vessels)
    _write_sidecar(sidecar, series_instance_uid, {str(i): r.name for i, r in vessels})
    written += [nii, sidecar]
    if sternum:
        nii, sidecar = folder / f"{stem}_sternum.nii.gz", folder / f"{stem}_sternum.json"
        _write_map(nii, phantom, [(1, sternum[0])])
        _write_sidecar(sidecar, series_instance_uid, {"1": sternum[0].name})
        written += [nii, sidecar]
    if ts and phantom.plan.has_ribs:
        ids: list[tuple[int, Roi]] = []
        for roi in rib_rois(phantom, totalsegmentator=True):
            if roi.kind == "rib":
                ids.append((totalseg_rib_id(roi.side, int(roi.name.rsplit("_", 1)[1])), roi))
            elif roi.kind == "sternum":
                ids.append((TOTALSEG_STERNUM, roi))
            else:
                ids.append((TOTALSEG_CARTILAGES, roi))
        nii, sidecar = folder / f"{stem}_total.nii.gz", folder / f"{stem}_total.json"
        _write_map(nii, phantom, ids)
        _write_sidecar(sidecar, series_instance_uid, None)
        written += [nii, sidecar]
    return written
