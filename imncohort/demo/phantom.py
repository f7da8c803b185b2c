"""Analytic anatomy of one demo patient: series geometry, sternum, ribs, vessels, nodes.

All positions are patient LPS millimetres. Rib levels and node centres lie on slice
positions; node z extents stay at least one slice away from every rib level, nodes
stay dorsal of the ribs and clear of each other, and their growth quadrant and sternum
contact are never borderline, so that every answer in ``ground_truth.json`` is
unambiguous on the voxel grid.

Nodes are drawn in two passes. The first draws each node's side, size, slice extent
and orientation from the patient's generator, exactly as earlier versions did (its
provisional position, clear of the vessel, is dropped), so the demo's patients,
reports and dates stay as they were. The second places every node around its vessel
with offsets from the seed paper's distribution (:mod:`imncohort.demo.offsets`), from
a generator of its own: nodes may touch or wrap the vessel, as in patients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from imncohort.demo.answers import farthest_point_quadrant, sternum_contact
from imncohort.demo.offsets import draw_offsets
from imncohort.demo.plan import PatientPlan
from imncohort.demo.shapes import SIDE_SIGN, Ellipsoid, Rib, Sternum, Tube

N_RIBS = 6
#: Distance (mm) of the vessel axis dorsal to the rib / cartilage centre line.
VESSEL_DEPTH_MM = 14.0
#: Clearance (mm) kept between a node and the rib surface (and, in the first pass only,
#: the vessel wall).
CLEARANCE_MM = 1.0
#: Attempts at placing a node around its vessel before it keeps its first-pass position.
ROOM_RETRIES = 10  # rounds of ever wider draws before a node is declared to have no room
OFFSET_ATTEMPTS = 200
#: Half depth (mm) of the sternum: it reaches 9 mm dorsal of the rib centre line, past the
#: ribs' dorsal surface, so that nodes near the midline can invade it.
#: Attempts at drawing a patient's planned sternal node before it is drawn like the others.
STERNAL_ATTEMPTS = 200
STERNUM_HALF_DEPTH_MM = 11.0
#: A node's medial edge stays this far (mm) from the sternal border (over_sternum is clear).
STERNUM_BORDER_MARGIN_MM = 1.0


@dataclass(frozen=True)
class SeriesGeometry:
    """Axial CT grid. ``pixel_spacing_row`` is along y (between rows), ``_col`` along x."""

    rows: int
    columns: int
    pixel_spacing_row: float
    pixel_spacing_col: float
    slice_spacing: float
    z_positions: tuple[float, ...]
    x_first: float
    y_first: float
    patient_position: str

    @property
    def row_dir_x(self) -> int:
        """+1 when columns run to the patient's left (HFS), -1 for FFS."""
        return 1 if self.patient_position == "HFS" else -1

    def x_coords(self) -> np.ndarray:
        """x (mm) of each column."""
        return self.x_first + self.row_dir_x * self.pixel_spacing_col * np.arange(self.columns)

    def y_coords(self) -> np.ndarray:
        """y (mm) of each row."""
        return self.y_first + self.pixel_spacing_row * np.arange(self.rows)

    @property
    def half_fov_x(self) -> float:
        """Smallest |x| reached by the outer columns."""
        xs = self.x_coords()
        return float(min(abs(xs[0]), abs(xs[-1])))

    @property
    def y_last(self) -> float:
        """y (mm) of the last row."""
        return float(self.y_coords()[-1])


@dataclass(frozen=True)
class Node:
    """A node: its ROI, component number (1-based), side, shape and slice extent."""

    roi_name: str
    component: int
    side: str
    shape: Ellipsoid
    half_slices: int

    @property
    def metastatic(self) -> bool:
        """Short axis >= 5 mm."""
        return 2.0 * self.shape.b >= 5.0


@dataclass(frozen=True)
class Roi:
    """One annotated structure: name, kind, side and the shapes it holds."""

    name: str
    kind: str
    side: str
    shapes: tuple[object, ...]
    point: bool = False
    every_other: bool = False


@dataclass(frozen=True)
class Phantom:
    """Everything analytic about one patient's CT."""

    plan: PatientPlan
    geometry: SeriesGeometry
    sternum: Sternum
    ribs: tuple[Rib, ...]
    x_bone: float
    vessels: dict[str, Tube]
    ctvs: dict[str, Tube]
    nodes: tuple[Node, ...]

    def rib_levels(self, side: str) -> list[float]:
        """Rib levels z_1 ... z_6 (mm) on one side."""
        sign = SIDE_SIGN[side]
        return [r.z_level for r in sorted(self.ribs, key=lambda r: r.number) if r.side == sign]


def _geometry(plan: PatientPlan, rng: np.random.Generator) -> tuple[SeriesGeometry, int, list[int]]:
    spacing = float(rng.choice([1.25, 2.0, 2.5, 3.0, 5.0], p=[0.1, 0.2, 0.25, 0.2, 0.25]))
    ps_col = round(float(rng.uniform(0.6, 0.98)), 3)
    ps_row = ps_col if rng.random() < 0.6 else round(float(rng.uniform(0.6, 0.98)), 3)
    columns = 256 if ps_col < 0.8 or rng.random() < 0.5 else 224
    rows = 192 if ps_row < 0.8 or rng.random() < 0.5 else 160
    half_x = (columns - 1) * ps_col / 2.0
    shift_x = round(float(rng.uniform(-2.0, 2.0)), 2)
    x_first = round((half_x + shift_x) * (-1 if plan.patient_position == "HFS" else 1), 3)
    y_first = round(-78.0 + float(rng.uniform(-3.0, 0.0)), 3)
    gaps = [round(float(rng.uniform(20.0, 27.0)) / spacing) for _ in range(N_RIBS - 1)]
    margin = math.ceil(14.0 / spacing)
    n_slices = 2 * margin + sum(gaps) + 2  # room for a one-slice right/left offset
    z_bottom = round(float(rng.uniform(-260.0, -200.0)) * 4) / 4
    z_positions = tuple(z_bottom + spacing * j for j in range(n_slices))
    geometry = SeriesGeometry(
        rows=rows,
        columns=columns,
        pixel_spacing_row=ps_row,
        pixel_spacing_col=ps_col,
        slice_spacing=spacing,
        z_positions=z_positions,
        x_first=x_first,
        y_first=y_first,
        patient_position=plan.patient_position,
    )
    # index (from the top) of rib 1 on the left side, then the gaps
    top_index = n_slices - 1 - margin - 1
    return geometry, top_index, gaps


def build_phantom(
    plan: PatientPlan, rng: np.random.Generator, offset_rng: np.random.Generator
) -> Phantom:
    """Draw the anatomy and nodes of one patient following its plan.

    ``rng`` draws the anatomy and the nodes' sizes; ``offset_rng`` their positions
    around the vessels (see the module docstring).
    """
    geometry, top_index, gaps = _geometry(plan, rng)
    z = geometry.z_positions
    dz = geometry.slice_spacing
    y_rib = round(-40.0 + float(rng.uniform(-3.0, 3.0)), 2)
    rib_radius = round(float(rng.uniform(4.5, 5.5)), 2)
    sternum = Sternum(round(float(rng.uniform(11.0, 14.0)), 2), y_rib, STERNUM_HALF_DEPTH_MM)
    x_bone = round(float(rng.uniform(38.0, 46.0)), 2)
    x_lateral = geometry.half_fov_x - 2.0
    right_offset = int(rng.choice([-1, 0, 0, 1]))
    ribs: list[Rib] = []
    for side, offset in (("left", 0), ("right", right_offset)):
        index = top_index + offset
        for number in range(1, N_RIBS + 1):
            ribs.append(
                Rib(
                    side=SIDE_SIGN[side],
                    number=number,
                    z_level=z[index],
                    y_center=y_rib,
                    radius=rib_radius,
                    x_medial=sternum.half_width + 0.5,
                    x_flat_end=x_bone + 22.0,
                    slope=round(float(rng.uniform(0.3, 0.5)), 3),
                    x_lateral=x_lateral,
                )
            )
            if number < N_RIBS:
                index -= gaps[number - 1]
    z_mid = z[len(z) // 2]
    vessels: dict[str, Tube] = {}
    ctvs: dict[str, Tube] = {}
    y_vessel = round(y_rib + VESSEL_DEPTH_MM + float(rng.uniform(-1.0, 1.0)), 2)
    ctv_radius = round(float(rng.uniform(5.0, 7.0)), 2)
    for side, sign in SIDE_SIGN.items():
        tube = Tube(
            x0=round(sign * float(rng.uniform(25.0, 30.0)), 2),
            y=y_vessel,
            slope=round(float(rng.uniform(-0.04, 0.04)), 4),
            z_ref=z_mid,
            radius=round(float(rng.uniform(1.8, 2.2)), 2),
            z_min=z[0],
            z_max=z[-1],
        )
        vessels[side] = tube
        if plan.ctv:
            ctvs[side] = Tube(tube.x0, tube.y, tube.slope, tube.z_ref, ctv_radius, z[0], z[-1])
    phantom = Phantom(plan, geometry, sternum, tuple(ribs), x_bone, vessels, ctvs, ())
    shapes = _around_vessels(phantom, _place_nodes(phantom, rng, dz), offset_rng, dz)
    nodes = _name_nodes(plan, shapes)
    return Phantom(plan, geometry, sternum, tuple(ribs), x_bone, vessels, ctvs, nodes)


def _space_of(z_lo: float, z_hi: float, levels: list[float]) -> list[int]:
    """Intercostal spaces k with (z_{k+1}, z_k] overlapping [z_lo, z_hi]."""
    return [k for k in range(1, len(levels)) if z_lo <= levels[k - 1] and z_hi > levels[k]]


def _place_nodes(
    phantom: Phantom, rng: np.random.Generator, dz: float
) -> list[tuple[str, Ellipsoid, int, bool]]:
    plan = phantom.plan
    placed: list[tuple[str, Ellipsoid, int, bool]] = []
    kinds = [True] * plan.n_metastatic + [False] * plan.n_benign
    first = _first_pass_sternal(plan)
    for number, metastatic in enumerate(kinds):
        for _attempt in range(400):
            side = "left" if rng.random() < 0.5 else "right"
            near = first if number == 0 and _attempt < STERNAL_ATTEMPTS else ""
            candidate = _draw_node(phantom, rng, dz, side, metastatic, _attempt, near)
            if candidate is None:
                continue
            shape, m = candidate
            if all(_separated(shape, m, other, om, dz) for _, other, om, _ in placed):
                placed.append((side, shape, m, metastatic))
                break
    return placed


def _first_pass_sternal(plan: PatientPlan) -> str:
    """The sternal node the first pass draws (its rule of earlier versions, kept for the
    draw sequence; where the nodes end up is the second pass's, from ``plan.sternal_node``)."""
    if plan.status != "confirmed" or plan.index % 5 == 1:
        return ""
    return "over" if plan.index % 4 == 3 else "into"


def _separated(a: Ellipsoid, am: int, b: Ellipsoid, bm: int, dz: float) -> bool:
    """Whether two nodes are clearly separate 3-D components."""
    a_lo, a_hi = a.center_lps[2] - am * dz, a.center_lps[2] + am * dz
    b_lo, b_hi = b.center_lps[2] - bm * dz, b.center_lps[2] + bm * dz
    if a_lo - b_hi >= 2 * dz - 1e-6 or b_lo - a_hi >= 2 * dz - 1e-6:
        return True
    ahx, ahy = a.half_widths()
    bhx, bhy = b.half_widths()
    gap_x = abs(a.center_lps[0] - b.center_lps[0]) - ahx - bhx
    gap_y = abs(a.center_lps[1] - b.center_lps[1]) - ahy - bhy
    return max(gap_x, gap_y) >= 3.0


def _draw_node(
    phantom: Phantom,
    rng: np.random.Generator,
    dz: float,
    side: str,
    metastatic: bool,
    attempt: int,
    near: str = "",
) -> tuple[Ellipsoid, int] | None:
    """One candidate node, or None when it breaks a rule of the phantom.

    ``near`` = ``over`` draws it reaching medially past the sternal border dorsal of the
    sternum, ``into`` reaching past the border into the sternum's dorsal part.
    """
    shrink = 0.85 ** (attempt // 60)
    if metastatic:
        b = max(2.7, float(np.exp(rng.uniform(np.log(2.7), np.log(17.5)))) * shrink)
        a = min(b * float(rng.uniform(1.0, 1.8)), 22.0)
    else:
        b = float(rng.uniform(1.2, 2.3))
        a = b * float(rng.uniform(1.0, 1.5))
    b, a = round(b, 2), round(max(a, b), 2)
    c_target = float(rng.uniform(0.7 * b, 1.1 * a))
    m = max(0, round(c_target / dz - 0.5))
    c = (m + 0.5) * dz
    zc = _draw_center_z(phantom, rng, dz, side, m, span=metastatic and rng.random() < 0.4)
    if zc is None:
        return None
    theta = round(float(rng.uniform(0.0, math.pi)), 4)
    shape0 = Ellipsoid((0.0, 0.0, zc), a, b, c, theta)
    hx, hy = shape0.half_widths()
    vessel = phantom.vessels[side]
    xv, yv = vessel.center_at(zc)
    sign = SIDE_SIGN[side]
    ml = float(rng.uniform(-(hx + 6.0), hx + 10.0))
    dv = float(rng.uniform(-8.0, 12.0))
    xc, yc = round(xv + sign * ml, 2), round(yv + dv, 2)
    ribs_front = phantom.ribs[0].y_center + phantom.ribs[0].radius + CLEARANCE_MM
    if near:
        sternum = phantom.sternum
        past = float(rng.uniform(2.5, 5.0))  # how far the medial edge passes the border
        xc = round(sign * (sternum.half_width - past + hx), 2)
        if near == "into":
            yc = round(ribs_front + float(rng.uniform(0.0, 1.5)) + hy, 2)
        else:
            dorsal_face = sternum.y_center + sternum.half_depth
            yc = round(dorsal_face + float(rng.uniform(0.5, 3.0)) + hy, 2)
    shape = Ellipsoid((xc, yc, zc), a, b, c, theta)
    if yc - hy < ribs_front or yc + hy > phantom.geometry.y_last - 5.0:
        return None
    if sign * xc - hx < 3.0 or sign * xc + hx > phantom.geometry.half_fov_x - 5.0:
        return None
    if not _clear_of_vessel(shape, vessel, m, dz):
        return None
    if abs(sign * xc - hx - phantom.sternum.half_width) < STERNUM_BORDER_MARGIN_MM:
        return None
    contact = sternum_contact(shape, phantom.sternum)
    if contact == "ambiguous":
        return None
    if near and contact != ("clear" if near == "into" else "none"):
        return None
    _, margin, far_ml, far_dv = farthest_point_quadrant(shape, xv, yv, sign)
    if margin < 1.0 or min(abs(far_ml), abs(far_dv)) < 1.0:
        return None
    return shape, m


def _draw_center_z(
    phantom: Phantom, rng: np.random.Generator, dz: float, side: str, m: int, span: bool
) -> float | None:
    levels = phantom.rib_levels(side)
    z_all = phantom.geometry.z_positions
    eps = 1e-6
    choices = []
    for zc in z_all:
        lo, hi = zc - m * dz, zc + m * dz
        if lo < levels[4] + dz - eps or hi > levels[0] - dz + eps:
            continue
        forbidden = {round(v, 4) for v in (lo, lo - dz, hi, hi + dz)}
        if any(round(level, 4) in forbidden for level in levels):
            continue
        if (len(_space_of(lo, hi, levels)) > 1) == span:
            choices.append(zc)
    if not choices:
        return None
    return float(choices[int(rng.integers(len(choices)))])


Placed = tuple[str, Ellipsoid, int, bool]


def _around_vessels(
    phantom: Phantom, placed: list[Placed], rng: np.random.Generator, dz: float
) -> list[Placed]:
    """Move every first-pass node to an offset from its vessel (same size and slices).

    The plan's sternal node is the largest metastatic node that can reach the sternum
    as planned, placed first (when none can, the first node keeps its first-pass place,
    drawn for that); a node for which no drawn offset fits keeps its first-pass position.
    """
    moved: dict[int, Placed] = {}
    near = phantom.plan.sternal_node
    if near:
        by_reach = sorted(
            (i for i, p in enumerate(placed) if p[3]), key=lambda i: -placed[i][1].half_widths()[0]
        )
        for i in by_reach:
            shape = _place(phantom, rng, placed[i], near, list(moved.values()), dz)
            if shape is not None:
                moved[i] = (placed[i][0], shape, placed[i][2], placed[i][3])
                break
        if not moved and placed:
            moved[0] = placed[0]
    for i, node in enumerate(placed):
        if i in moved:
            continue
        others = list(moved.values())
        shape = _place(phantom, rng, node, "", others, dz)
        if shape is None:  # no room near the vessel (a large node holds it): farther out
            shape = _place(phantom, rng, node, "", others, dz, wide=True)
        if shape is None and all(_separated(node[1], node[2], o, om, dz) for _, o, om, _ in others):
            shape = node[1]
        for retry in range(ROOM_RETRIES if shape is None else 0):  # crowded: reach farther out
            shape = _place(phantom, rng, node, "", others, dz, wide=True, reach=2.0 + retry)
            if shape is not None:
                break
        if shape is None:  # pragma: no cover - guards the generator itself
            raise AssertionError(f"demo patient {phantom.plan.index}: node {i} has no room")
        moved[i] = (node[0], shape, node[2], node[3])
    return [moved[i] for i in range(len(placed))]


def _place(
    phantom: Phantom,
    rng: np.random.Generator,
    node: Placed,
    near: str,
    others: list[Placed],
    dz: float,
    wide: bool = False,
    reach: float = 1.0,
) -> Ellipsoid | None:
    """A position of ``node`` around its vessel that keeps the rules, or None.

    ``wide`` draws the offsets uniformly over the parasternal space instead of from
    the paper's distribution; ``reach`` stretches that space laterally and ventrally
    (for a node beside a large one that fills the space next to the vessel).
    """
    side, shape, m, _ = node
    for _attempt in range(OFFSET_ATTEMPTS):
        candidate = _offset_node(phantom, rng, shape, side, near, wide, reach)
        if _fits(phantom, candidate, side, near) and all(
            _separated(candidate, m, other, om, dz) for _, other, om, _ in others
        ):
            return candidate
    return None


def _offset_node(
    phantom: Phantom,
    rng: np.random.Generator,
    shape: Ellipsoid,
    side: str,
    near: str,
    wide: bool = False,
    reach: float = 1.0,
) -> Ellipsoid:
    """``shape`` moved in-plane to a drawn offset from its vessel (or against the sternum).

    Its orientation is drawn afresh (nodes grow in any direction). A node too deep for
    the room between the ribs and the vessel is pushed dorsally until it clears the
    ribs; ``near`` places it past the sternal border as in the first pass.
    """
    zc = shape.center_lps[2]
    shape = replace(shape, theta=round(float(rng.uniform(0.0, math.pi)), 4))
    hx, hy = shape.half_widths()
    xv, yv = phantom.vessels[side].center_at(zc)
    sign = SIDE_SIGN[side]
    ribs_front = phantom.ribs[0].y_center + phantom.ribs[0].radius + CLEARANCE_MM
    if near:
        xc, yc = _sternal_position(phantom, rng, hx, hy, sign, near)
    else:
        if wide:
            ml = float(rng.uniform(-(hx + 6.0), reach * (hx + 10.0)))
            dv = float(rng.uniform(-8.0, reach * 12.0))
        else:
            ml, dv = draw_offsets(rng)
        dv = max(dv, ribs_front + hy - yv + float(rng.uniform(0.0, 1.0)))
        xc, yc = round(xv + sign * ml, 2), round(yv + dv, 2)
    return Ellipsoid((xc, yc, zc), shape.a, shape.b, shape.c, shape.theta)


def _sternal_position(
    phantom: Phantom, rng: np.random.Generator, hx: float, hy: float, sign: int, near: str
) -> tuple[float, float]:
    """Centre of a node reaching past the sternal border ``into`` or ``over`` the sternum."""
    sternum = phantom.sternum
    ribs_front = phantom.ribs[0].y_center + phantom.ribs[0].radius + CLEARANCE_MM
    past = float(rng.uniform(2.5, 5.0))  # how far the medial edge passes the border
    xc = round(sign * (sternum.half_width - past + hx), 2)
    if near == "into":
        return xc, round(ribs_front + float(rng.uniform(0.0, 1.5)) + hy, 2)
    dorsal_face = sternum.y_center + sternum.half_depth
    return xc, round(dorsal_face + float(rng.uniform(0.5, 3.0)) + hy, 2)


def _fits(phantom: Phantom, shape: Ellipsoid, side: str, near: str) -> bool:
    """Whether a placed node keeps the phantom's rules (all but the vessel clearance)."""
    xc, yc, zc = shape.center_lps
    hx, hy = shape.half_widths()
    sign = SIDE_SIGN[side]
    ribs_front = phantom.ribs[0].y_center + phantom.ribs[0].radius + CLEARANCE_MM
    if yc - hy < ribs_front or yc + hy > phantom.geometry.y_last - 5.0:
        return False
    if sign * xc - hx < 3.0 or sign * xc + hx > phantom.geometry.half_fov_x - 5.0:
        return False
    if abs(sign * xc - hx - phantom.sternum.half_width) < STERNUM_BORDER_MARGIN_MM:
        return False
    contact = sternum_contact(shape, phantom.sternum)
    if contact == "ambiguous" or (near and contact != ("clear" if near == "into" else "none")):
        return False
    xv, yv = phantom.vessels[side].center_at(zc)
    _, margin, far_ml, far_dv = farthest_point_quadrant(shape, xv, yv, sign)
    return margin >= 1.0 and min(abs(far_ml), abs(far_dv)) >= 1.0


def _clear_of_vessel(shape: Ellipsoid, vessel: Tube, m: int, dz: float) -> bool:
    """Whether the vessel wall stays CLEARANCE_MM outside the node on every slice."""
    zc = shape.center_lps[2]
    for j in range(-m, m + 1):
        z = zc + j * dz
        outline = shape.boundary(z, 720)
        if outline is None:
            continue
        px, py = vessel.center_at(z)
        if shape.contains(np.array([px]), np.array([py]), z)[0]:
            return False
        distance = np.min(np.hypot(outline[:, 0] - px, outline[:, 1] - py))
        if distance < vessel.radius + CLEARANCE_MM:
            return False
    return True


def _name_nodes(
    plan: PatientPlan, placed: list[tuple[str, Ellipsoid, int, bool]]
) -> tuple[Node, ...]:
    """Give each node its ROI name (style of the plan) and component number."""
    suffix = {"left": "L", "right": "R"}
    names: list[str] = []
    for i, (side, _, _, metastatic) in enumerate(placed):
        if plan.name_style == 0:
            names.append(f"IMN{i + 1}_{suffix[side]}")
        elif plan.name_style == 1:
            names.append("GTVn_IMN" if metastatic else f"IMLN{i + 1}_{suffix[side]}")
        else:
            names.append(f"IMLN_{suffix[side]}" if i == 0 else f"GTV_IMN_{i + 1}")
    nodes: list[Node] = []
    for name in dict.fromkeys(names):
        members = [p for p, n in zip(placed, names, strict=True) if n == name]
        members.sort(key=lambda p: (-p[1].center_lps[2], p[1].center_lps[0]))
        for component, (side, shape, m, _) in enumerate(members, start=1):
            nodes.append(Node(name, component, side, shape, m))
    return tuple(nodes)
