"""The named annotation ROIs of a demo patient (nodes, vessels, CTV, ribs, sternum).

Names are drawn from the contract's variants. With ``totalsegmentator`` the ribs stop
at the cartilage-bone junction and all cartilages form one structure, as in
TotalSegmentator's ``total`` task.
"""

from __future__ import annotations

from dataclasses import replace

from imncohort.demo.phantom import Phantom, Roi
from imncohort.demo.shapes import SIDE_SIGN

VESSEL_NAMES = (
    {"left": "IMV_L", "right": "IMV_R"},
    {"left": "A_Mammary_Int_L", "right": "V_Mammary_Int_R"},
    {"left": "IM_Vessels_L", "right": "IM_Vessels_R"},
)
CTV_NAMES = {"left": "LN_IMN_L", "right": "LN_IMN_R"}
SUFFIX_SIDE = {"_L": "left", "_R": "right"}

#: TotalSegmentator v2 ``total`` ids: rib_left_1..12 = 92..103, rib_right_1..12 =
#: 104..115, sternum = 116, costal_cartilages = 117.
TOTALSEG_RIB_LEFT_1 = 92
TOTALSEG_RIB_RIGHT_1 = 104
TOTALSEG_STERNUM = 116
TOTALSEG_CARTILAGES = 117


def totalseg_rib_id(side: str, number: int) -> int:
    """TotalSegmentator ``total`` label id of ``rib_<side>_<number>``."""
    first = TOTALSEG_RIB_LEFT_1 if side == "left" else TOTALSEG_RIB_RIGHT_1
    return first + number - 1


def node_rois(phantom: Phantom) -> list[Roi]:
    """One ROI per node name (several components share a name)."""
    rois: list[Roi] = []
    for name in dict.fromkeys(node.roi_name for node in phantom.nodes):
        shapes = tuple(node.shape for node in phantom.nodes if node.roi_name == name)
        side = SUFFIX_SIDE.get(name[-2:], "")
        rois.append(Roi(name, "node", side, shapes))
    return rois


def vessel_rois(phantom: Phantom) -> list[Roi]:
    """The two IM vessel ROIs (POINT / every-other-slice variants from the plan)."""
    names = VESSEL_NAMES[phantom.plan.name_style]
    return [
        Roi(
            names[side],
            "vessel",
            side,
            (tube,),
            point=phantom.plan.vessel_point,
            every_other=phantom.plan.vessel_every_other,
        )
        for side, tube in phantom.vessels.items()
    ]


def ctv_rois(phantom: Phantom) -> list[Roi]:
    """The planned IMN CTVs ``LN_IMN_L`` / ``LN_IMN_R`` (empty without CTV)."""
    return [Roi(CTV_NAMES[side], "ctv", side, (tube,)) for side, tube in phantom.ctvs.items()]


def rib_rois(phantom: Phantom, totalsegmentator: bool = False) -> list[Roi]:
    """Ribs 1-6 per side and the sternum (and, for TotalSegmentator, the cartilages)."""
    if not phantom.plan.has_ribs:
        return []
    rois: list[Roi] = []
    cartilages = []
    for rib in sorted(phantom.ribs, key=lambda r: (-r.side, r.number)):
        side = "left" if rib.side == SIDE_SIGN["left"] else "right"
        if totalsegmentator:
            bone = replace(rib, x_medial=phantom.x_bone)
            cartilages.append(replace(rib, x_lateral=phantom.x_bone - 1e-6))
            rois.append(Roi(f"rib_{side}_{rib.number}", "rib", side, (bone,)))
        else:
            rois.append(Roi(f"Rib{rib.number:02d}_{side[0].upper()}", "rib", side, (rib,)))
    rois.append(
        Roi("sternum" if totalsegmentator else "Sternum", "sternum", "", (phantom.sternum,))
    )
    if totalsegmentator:
        rois.append(Roi("costal_cartilages", "cartilage", "", tuple(cartilages)))
    return rois


def annotation_rois(phantom: Phantom) -> list[Roi]:
    """All ROIs of a single-file annotation (RTSTRUCT, SEG or labelled NIfTI)."""
    return node_rois(phantom) + vessel_rois(phantom) + ctv_rois(phantom) + rib_rois(phantom)
