"""Where the demo's nodes sit relative to their internal mammary vessel (IMV).

The node-centre offsets follow the seed paper (83 metastatic IMNs on axial CT): the
share of nodes whose centre lies within 4, 5, 6 and 7 mm of the IMV centre is 54.2,
75.9, 89.2 and 92.3 % medial-laterally and 88.0, 91.6, 96.4 and 98.8 % dorsal-ventrally.
Those four points are the knots of a piecewise-linear distribution of ``|offset|``
(linear from 0 mm, where the paper reports nothing, and out to a tail end of 12 and
9 mm); its median is 3.7 mm medial-laterally (IQR 1.8-5.0 mm) and 2.3 mm
dorsal-ventrally (IQR 1.1-3.4 mm). Most large nodes grow towards the sternum (65 % in
the paper), so an offset is medial with that probability; nearly all extend dorsally.

Nodes may therefore touch or wrap the vessel, as in patients.
"""

from __future__ import annotations

import numpy as np

#: (|offset| mm, share of nodes within it) of the paper, medial-lateral axis.
ML_COVERAGE: tuple[tuple[float, float], ...] = (
    (0.0, 0.0),
    (4.0, 0.542),
    (5.0, 0.759),
    (6.0, 0.892),
    (7.0, 0.923),
    (12.0, 1.0),
)
#: (|offset| mm, share of nodes within it) of the paper, dorsal-ventral axis.
DV_COVERAGE: tuple[tuple[float, float], ...] = (
    (0.0, 0.0),
    (4.0, 0.880),
    (5.0, 0.916),
    (6.0, 0.964),
    (7.0, 0.988),
    (9.0, 1.0),
)
#: Share of node centres medial of the IMV (growth towards the sternum, paper: 65.3 %).
P_MEDIAL = 0.653
#: Share of node centres dorsal of the IMV (the paper: all extension is dorsal).
P_DORSAL = 0.9


def offset_quantile(knots: tuple[tuple[float, float], ...], share: float) -> float:
    """``|offset|`` (mm) below which ``share`` of the nodes lie (inverse of the knots' CDF)."""
    distances = np.array([k[0] for k in knots])
    shares = np.array([k[1] for k in knots])
    return float(np.interp(share, shares, distances))


def draw_offsets(rng: np.random.Generator) -> tuple[float, float]:
    """One node-centre offset ``(ml, dv)`` in mm (lateral +, dorsal +) from the IMV centre."""
    ml = offset_quantile(ML_COVERAGE, float(rng.random()))
    dv = offset_quantile(DV_COVERAGE, float(rng.random()))
    if rng.random() < P_MEDIAL:
        ml = -ml
    if rng.random() >= P_DORSAL:
        dv = -dv
    return ml, dv
