"""TotalSegmentator ``total`` task label ids used by the measure stage.

The ids are those of TotalSegmentator v2 (``totalsegmentator.map_to_binary.
class_map["total"]``): 92-103 are ``rib_left_1`` ... ``rib_left_12``, 104-115
``rib_right_1`` ... ``rib_right_12`` (left ribs first, each side from rib 1
down to rib 12), 116 ``sternum`` and 117 ``costal_cartilages``. Other ids are
not needed here and are not listed.
"""

from __future__ import annotations

TOTAL_IDS: dict[int, str] = {
    **{92 + n - 1: f"rib_left_{n}" for n in range(1, 13)},
    **{104 + n - 1: f"rib_right_{n}" for n in range(1, 13)},
    116: "sternum",
    117: "costal_cartilages",
}
