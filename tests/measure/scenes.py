"""The synthetic studies shared by the measure tests, with their analytic answers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from synth import (
    CtSpec,
    Scene,
    Slab,
    Structure,
    circle_slabs,
    rib_slabs,
    write_ct,
    write_nifti,
    write_rtstruct,
    write_seg,
)

RIB_LEVELS = {1: 35.0, 2: 20.0, 3: 0.0, 4: -20.0}
IMV_L = (20.0, -47.0, 0.1)  # x at z = 0, y, dx/dz
IMV_R = (-21.0, -47.0, -0.1)
N1 = {"cx": 30.0, "cy": -45.0, "a": 6.0, "b": 4.5, "zc": 10.0, "h": 5.6}


def imv_x(side: str, z: float) -> float:
    x0, _, slope = IMV_L if side == "left" else IMV_R
    return x0 + slope * z


def ellipsoid(
    name: str,
    cx: float,
    cy: float,
    a: float,
    b: float,
    zc: float,
    h: float,
    zs: list[float],
    hole: float = 0.0,
) -> Structure:
    """Slabs of an ellipsoid-like node: scale sqrt(1 - ((z - zc) / h)^2) on slices within h."""
    slabs = []
    for z in zs:
        u = (z - zc) / h
        if abs(u) < 1:
            s = float(np.sqrt(1 - u * u))
            slabs.append(Slab(z, cx, cy, a * s, b * s, hole if s * min(a, b) > hole + 1 else 0.0))
    return Structure(name, slabs)


def ribs(zs: list[float], sides: tuple[str, ...] = ("left", "right")) -> list[Structure]:
    out = []
    for side in sides:
        for n, level in RIB_LEVELS.items():
            out.append(Structure(f"Rib{n:02d}_{side[0].upper()}", rib_slabs(side, level, zs)))
    return out


def n1(zs: list[float]) -> Structure:
    return ellipsoid("IMN1_L", N1["cx"], N1["cy"], N1["a"], N1["b"], N1["zc"], N1["h"], zs)


@dataclass
class Built:
    scene: Scene
    kinds: tuple[str, ...]


def grid(start: float, stop: float, step: float) -> list[float]:
    return [round(float(z), 4) for z in np.arange(start, stop + step / 2, step)]


def study_a(export: Path) -> Scene:
    """Head-first, 2.5 mm, non-square pixels: left node, right node with a hole, a node over
    two spaces, IMV_R every other slice, a CTV; RTSTRUCT + SEG + NIfTI (+ CTV NIfTI)."""
    zs = grid(-30, 40, 2.5)
    spec = CtSpec(zs)
    right = ellipsoid("IMN2_R", -32.0, -45.0, 7.0, 7.0, 12.5, 5.0, zs, hole=2.5)
    two = ellipsoid("IMLN3_L", 30.0, -25.0, 4.5, 3.5, 20.0, 6.0, zs)
    imv_l = Structure("IMV_L", circle_slabs(IMV_L[0], IMV_L[1], 1.5, zs, IMV_L[2]))
    imv_r = Structure("A_Mammary_Int_R", circle_slabs(IMV_R[0], IMV_R[1], 1.5, zs[::2], IMV_R[2]))
    ctv_rect = Structure("LN_IMN_L", [Slab(z, 22.5, -45.0, 7.5, 60.0) for z in zs])
    structures = [n1(zs), right, two, imv_l, imv_r, *ribs(zs)]
    scene = Scene("PA", spec, structures)
    ct = write_ct(scene, export / "a" / "ct")
    off = Structure("IMN9_L", [Slab(11.3, 30.0, -20.0, 3.0, 3.0)])
    write_rtstruct(scene, ct, export / "a" / "rs.dcm", [*structures, ctv_rect, off])
    write_seg(scene, ct, export / "a" / "seg.dcm", [*structures, ctv_rect])
    write_nifti(scene, export / "a" / "labels.nii.gz", structures)
    write_nifti(scene, export / "a" / "ctv.nii", [ctv_rect])
    return scene


def study_b(export: Path) -> Scene:
    """Feet-first, reversed file order, 0.6 mm slices: the same N1 and IMV_L, RTSTRUCT + SEG."""
    zs = grid(-9.8, 29.8, 0.6)
    spec = CtSpec(
        zs, spacing=(0.7, 0.6), rows=110, columns=168, feet_first=True, reversed_files=True
    )
    imv_l = Structure("IMV_L", circle_slabs(IMV_L[0], IMV_L[1], 1.5, zs, IMV_L[2]))
    structures = [n1(zs), imv_l, *ribs(zs, ("left",))]
    scene = Scene("PB", spec, structures)
    ct = write_ct(scene, export / "b" / "ct")
    write_rtstruct(scene, ct, export / "b" / "rs.dcm")
    write_seg(scene, ct, export / "b" / "seg.dcm")
    return scene


CONE = [(5.0, 1.0), (10.0, 0.7), (15.0, 0.45)]


def study_c(export: Path) -> Scene:
    """5 mm slices: N1 and a cone node (largest slice at its bottom) with a POINT IMV;
    TotalSegmentator ribs/sternum/cartilage without labels."""
    zs = grid(-30, 40, 5.0)
    spec = CtSpec(zs)
    cone = Structure("IMN_L", [Slab(z, 30.0 + 0.2 * z, -30.0, 8.0 * s, 5.0 * s) for z, s in CONE])
    points = Structure(
        "IMV_L",
        points=[(imv_x("left", z), IMV_L[1], z) for z in (-20.0, -10.0, 0.0, 10.0, 20.0, 30.0)],
    )
    scene = Scene("PC", spec, [n1(zs), cone, points])
    ct = write_ct(scene, export / "c" / "ct")
    write_rtstruct(scene, ct, export / "c" / "rs.dcm")
    bones = [Structure(s.name, s.slabs) for s in ribs(zs)]
    sternum = Structure("sternum", [Slab(z, 0.0, -55.0, 5.0, 4.0) for z in zs])
    cart = Structure(
        "costal_cartilages",
        [
            Slab(z, sign * 10.0, -55.0, 4.0, 2.5)
            for z in zs
            for sign in (-1.0, 1.0)
            if any(abs(z - lvl) < 1e-6 for lvl in RIB_LEVELS.values())
        ],
    )
    labels = {92 + n - 1: f"Rib{n:02d}_L" for n in RIB_LEVELS} | {
        104 + n - 1: f"Rib{n:02d}_R" for n in RIB_LEVELS
    }
    labels |= {116: "sternum", 117: "costal_cartilages"}
    write_nifti(
        scene,
        export / "c" / "total.nii.gz",
        [*bones, sternum, cart],
        labels=labels,
        write_labels=False,
    )
    return scene


def study_d(export: Path) -> Scene:
    """An RTSTRUCT whose CT series is not in the export."""
    zs = grid(0, 20, 2.5)
    scene = Scene("PD", CtSpec(zs), [n1(zs)])
    from pydicom.dataset import Dataset

    fake = []
    for z in zs:
        ds = Dataset()
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        ds.SOPInstanceUID = f"1.2.3.4.{int(z * 10) + 1000}"
        fake.append(ds)
    write_rtstruct(scene, fake, export / "d" / "rs_missing_series.dcm")
    return scene


def study_e(export: Path) -> Scene:
    """An oblique CT with an RTSTRUCT on it."""
    zs = grid(0, 20, 2.5)
    scene = Scene("PE", CtSpec(zs, tilt_deg=20.0), [n1(zs)])
    ct = write_ct(scene, export / "e" / "ct")
    write_rtstruct(scene, ct, export / "e" / "rs_oblique.dcm")
    return scene
