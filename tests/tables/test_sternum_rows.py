"""growth_direction.csv's sternum rows: only large nodes towards the sternum with a known status."""

from __future__ import annotations

import pandas as pd

from imncohort.tables.growth import growth_direction_table
from imncohort.tables.inputs import normalise_nodes


def _node(quadrant: str, long_axis: float, over: object, invasion: object) -> dict:
    return {
        "patient_key": "p",
        "study_key": "s",
        "metastatic": True,
        "quadrant": quadrant,
        "towards_sternum": quadrant.startswith("medial"),
        "long_axis_mm": long_axis,
        "short_axis_mm": 6.0,
        "over_sternum": over,
        "sternal_invasion": invasion,
    }


def test_denominator_is_the_large_medial_nodes_with_a_sternum() -> None:
    rows = [
        _node("medial_dorsal", 15.0, "True", "True"),
        _node("medial_ventral", 15.0, "True", "False"),
        _node("medial_ventral", 12.0, True, False),
        _node("medial_dorsal", 12.0, "False", "False"),
        _node("medial_dorsal", 12.0, "", ""),  # study without a sternum annotation
        _node("medial_dorsal", 12.0, float("nan"), float("nan")),
        _node("lateral_dorsal", 15.0, "True", "True"),  # not towards the sternum
        _node("medial_dorsal", 9.0, "True", "True"),  # not larger than 10 mm
    ]
    growth = growth_direction_table(normalise_nodes(pd.DataFrame(rows)), 10.0).set_index("quadrant")
    assert growth.at["towards_sternum", "nodes"] == 6
    assert growth.at["over_sternum", "nodes"] == 3
    assert growth.at["over_sternum", "denominator"] == 4
    assert growth.at["over_sternum", "percent"] == 75.0
    assert growth.at["sternal_invasion", "nodes"] == 1
    assert growth.at["sternal_invasion", "percent"] == 25.0


def test_no_sternum_anywhere_gives_empty_rows() -> None:
    rows = [_node("medial_dorsal", 15.0, "", "")]
    growth = growth_direction_table(normalise_nodes(pd.DataFrame(rows)), 10.0).set_index("quadrant")
    assert growth.at["over_sternum", "denominator"] == 0
    assert growth.at["over_sternum", "nodes"] == 0
    assert pd.isna(growth.at["over_sternum", "percent"])
