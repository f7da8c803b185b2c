"""ROI name matching with the configured case-insensitive regular expressions.

The classes are ``node``, ``vessel``, ``ctv``, ``rib``, ``sternum``,
``cartilage`` (config ``names``). Rib names carry the rib number and side:
the config ``names.rib`` regex must capture ``(number, side letter)``;
TotalSegmentator's ``rib_left_1`` ... ``rib_right_12`` are recognised as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from imncohort.config import Names

RoiClass = Literal["node", "vessel", "ctv", "rib", "sternum", "cartilage", "other"]
Side = Literal["left", "right", ""]

TOTALSEG_RIB = re.compile(r"^rib_(left|right)_(\d{1,2})$", re.IGNORECASE)


@dataclass(frozen=True)
class NameMatch:
    """What a ROI name says: its class, its side from the suffix and, for ribs, the number."""

    roi_class: RoiClass
    side: Side
    rib: int | None = None


class NameMatcher:
    """Compiled ``config.names`` patterns.

    Parameters
    ----------
    names
        The ``names`` section of the configuration.
    """

    def __init__(self, names: Names) -> None:
        flags = re.IGNORECASE
        self._classes: list[tuple[RoiClass, list[re.Pattern[str]]]] = [
            ("ctv", [re.compile(p, flags) for p in names.ctv]),
            ("node", [re.compile(p, flags) for p in names.node]),
            ("vessel", [re.compile(p, flags) for p in names.vessel]),
            ("sternum", [re.compile(p, flags) for p in names.sternum]),
            ("cartilage", [re.compile(p, flags) for p in names.cartilage]),
        ]
        self._rib = re.compile(names.rib, flags)
        self._left = re.compile(names.left_suffix, flags)
        self._right = re.compile(names.right_suffix, flags)

    def side(self, name: str) -> Side:
        """Side from the name suffix (``left``/``right``), ``""`` when there is none."""
        text = name.strip()
        if self._left.search(text):
            return "left"
        if self._right.search(text):
            return "right"
        return ""

    def match(self, name: str) -> NameMatch:
        """Classify ``name``; ``other`` when no pattern matches.

        The CTV patterns are tried before the node patterns so that TG-263's
        ``LN_IMN_L`` (an elective nodal CTV) is never read as a node.
        """
        text = name.strip()
        rib = self._rib.match(text)
        if rib is not None:
            number, letter = rib.group(1), rib.group(2).lower()
            side: Side = "left" if letter.startswith("l") else "right"
            return NameMatch("rib", side, int(number))
        ts = TOTALSEG_RIB.match(text)
        if ts is not None:
            return NameMatch(
                "rib", "left" if ts.group(1).lower() == "left" else "right", int(ts.group(2))
            )
        for roi_class, patterns in self._classes:
            if any(p.search(text) for p in patterns):
                return NameMatch(roi_class, self.side(text))
        return NameMatch("other", "")

    def wanted(self, name: str) -> bool:
        """True when the ROI is used by the measure stage (anything but ``other``)."""
        return self.match(name).roi_class != "other"
