"""ROI name matching and the TotalSegmentator id table."""

from __future__ import annotations

import pytest

from imncohort.annotations.names import NameMatcher
from imncohort.annotations.totalsegmentator import TOTAL_IDS
from imncohort.config import load_config


@pytest.fixture(scope="module")
def matcher() -> NameMatcher:
    return NameMatcher(load_config().names)


@pytest.mark.parametrize(
    ("name", "roi_class", "side", "rib"),
    [
        ("GTVn_IMN", "node", "", None),
        ("GTV_IMN_2", "node", "", None),
        ("IMN", "node", "", None),
        ("imn1_l", "node", "left", None),
        ("IMLN_R", "node", "right", None),
        ("LN_IMN_L", "ctv", "left", None),
        ("LN_IMN_R", "ctv", "right", None),
        ("IMV_L", "vessel", "left", None),
        ("A_Mammary_Int_L", "vessel", "left", None),
        ("V_Mammary_Int_R", "vessel", "right", None),
        ("IM_Vessels_L", "vessel", "left", None),
        ("Rib01_L", "rib", "left", 1),
        ("Rib12_R", "rib", "right", 12),
        ("rib_left_3", "rib", "left", 3),
        ("rib_right_11", "rib", "right", 11),
        ("sternum", "sternum", "", None),
        ("costal_cartilages", "cartilage", "", None),
        ("Heart", "other", "", None),
        ("Lung_L", "other", "", None),
    ],
)
def test_match(matcher: NameMatcher, name: str, roi_class: str, side: str, rib: int | None) -> None:
    match = matcher.match(name)
    assert (match.roi_class, match.side, match.rib) == (roi_class, side, rib)


def test_wanted_skips_other(matcher: NameMatcher) -> None:
    assert matcher.wanted("IMN1_L")
    assert not matcher.wanted("Heart")


def test_totalsegmentator_ids() -> None:
    assert TOTAL_IDS[92] == "rib_left_1"
    assert TOTAL_IDS[103] == "rib_left_12"
    assert TOTAL_IDS[104] == "rib_right_1"
    assert TOTAL_IDS[115] == "rib_right_12"
    assert TOTAL_IDS[116] == "sternum"
    assert TOTAL_IDS[117] == "costal_cartilages"
    assert len(TOTAL_IDS) == 26
