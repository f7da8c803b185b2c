"""measure_component on hand-made sections: IMV extrapolation flag, missing IMV, CTV, spaces."""

from __future__ import annotations

import math

import numpy as np
import pytest
from synth import ellipse_ring

from imncohort.annotations.models import ContourRoi, SliceGrid
from imncohort.config import load_config
from imncohort.geometry.sections import section_from_rings
from imncohort.measure.landmarks import SeriesContext
from imncohort.measure.node import measure_component
from imncohort.measure.rois import Component
from imncohort.measure.series import SeriesGeometry

ZS = np.arange(0.0, 42.0, 2.0)


def _geometry() -> SeriesGeometry:
    origins = np.column_stack([np.full(ZS.size, -50.0), np.full(ZS.size, -70.0), ZS])
    grid = SliceGrid(origins, np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), 0.5, 0.5, 160, 200)
    return SeriesGeometry(
        "S", "1.2", "st", "pt", "for", "CT", grid, [f"f{k}" for k in range(ZS.size)]
    )


def _node(zs: list[float], cx: float = 30.0) -> Component:
    return Component([section_from_rings(z, [ellipse_ring(cx, -45.0, 6.0, 4.0)]) for z in zs])


def test_imv_extrapolated_beyond_limit() -> None:
    geometry = _geometry()
    vessel = (np.array([0.0, 10.0]), np.array([[20.0, -47.0], [21.0, -47.0]]))
    ctx = SeriesContext(geometry, midline_x=0.0, vessels={"left": vessel})
    config = load_config()
    near = measure_component(_node([18.0, 20.0]), "left", ctx, config, 2.0)[0].as_row()
    far = measure_component(_node([30.0, 32.0]), "left", ctx, config, 2.0)[0].as_row()
    assert near["imv_extrapolated"] is False  # 20 is 10 mm past the last contour: not beyond
    assert near["imv_x"] == pytest.approx(21.0)
    assert far["imv_extrapolated"] is True
    assert far["center_ml_mm"] == pytest.approx(9.0)


def test_missing_imv_leaves_offsets_empty_and_no_ribs_no_spaces() -> None:
    ctx = SeriesContext(_geometry(), midline_x=0.0)
    measured, ref_index, imv = measure_component(
        _node([10.0, 12.0]), "left", ctx, load_config(), 2.0
    )
    assert imv is None and ref_index == 0
    assert measured.center_ml_mm is None and measured.ctv_coverage is None  # not measured
    values = measured.as_row()  # the nodes.csv values: NaN for what was not measured
    assert math.isnan(values["center_ml_mm"]) and values["quadrant"] == ""
    assert values["towards_sternum"] is None
    assert values["intercostal_spaces"] == ""
    assert math.isnan(values["ctv_coverage"])
    assert values["long_axis_mm"] == pytest.approx(12.0)
    assert values["volume_ml"] == pytest.approx(
        2 * 2.0 * 72 / 2 * math.sin(2 * math.pi / 72) * 24 / 1000
    )


def test_spaces_from_levels_and_ctv_on_other_side_ignored() -> None:
    geometry = _geometry()
    ctv = ContourRoi(
        "LN_IMN_R", {k: [ellipse_ring(30.0, -45.0, 20.0, 20.0)] for k in range(ZS.size)}
    )
    ctx = SeriesContext(
        geometry,
        midline_x=0.0,
        rib_levels={"left": {1: 40.0, 2: 25.0, 3: 11.0, 4: -3.0}},
        has_ribs=True,
        ctvs=[("right", ctv)],
    )
    values = measure_component(_node([8.0, 10.0, 12.0]), "left", ctx, load_config(), 2.0)[
        0
    ].as_row()
    assert values["intercostal_spaces"] == "2;3"
    assert math.isnan(values["ctv_coverage"])
    ctx.ctvs = [("", ctv)]
    values = measure_component(_node([8.0, 10.0, 12.0]), "left", ctx, load_config(), 2.0)[
        0
    ].as_row()
    assert values["ctv_coverage"] == pytest.approx(1.0)
