"""``nodes.parquet`` / ``nodes.csv``: one row per measured node (written by the measure stage).

Read by the tables, review, package and history code through :func:`read_nodes`; written
only through :func:`write_nodes`. Columns in their contract order (docs/ARCHITECTURE.md);
the CSV copy rounds coordinates, offsets, extents and axes to 0.01 mm, volumes to
0.001 ml and shares to 0.001.
"""

from __future__ import annotations

import pandas as pd

from imncohort.layout import OutLayout
from imncohort.schemas.base import Column, TableSchema, columns

#: Millimetre columns rounded to 0.01 mm in the CSV.
MM_DECIMALS = 2
#: Millilitre columns rounded to 0.001 ml in the CSV.
ML_DECIMALS = 3
#: Shares (0..1) rounded to 0.001 in the CSV.
SHARE_DECIMALS = 3

NODES = TableSchema(
    "nodes",
    (
        *columns("str", ["patient_key", "study_key", "series_key", "roi_name", "annotation"]),
        Column("component", "Int64"),
        Column("side"),
        *columns("float", ["centroid_x", "centroid_y", "centroid_z", "reference_z"], MM_DECIMALS),
        *columns("float", ["imv_x", "imv_y"], MM_DECIMALS),
        Column("imv_extrapolated", "bool"),
        *columns(
            "float",
            [
                "center_ml_mm",
                "center_dv_mm",
                "extent_medial_mm",
                "extent_lateral_mm",
                "extent_ventral_mm",
                "extent_dorsal_mm",
            ],
            MM_DECIMALS,
        ),
        Column("quadrant"),
        Column("towards_sternum", "boolean"),
        *columns("float", ["long_axis_mm", "short_axis_mm"], MM_DECIMALS),
        Column("volume_ml", "float", ML_DECIMALS),
        Column("metastatic", "bool"),
        Column("intercostal_spaces"),
        Column("ctv_coverage", "float", SHARE_DECIMALS),
        Column("qc_png"),
        # One CT per patient (CONTRACT section 4): the study's date and whether the tables
        # use the node (imncohort.tables.selection); filled when the table is written.
        Column("study_date"),
        Column("selected", "boolean"),
        # The sternum (CONTRACT section 4, imncohort.measure.sternum); empty without a
        # sternum annotation.
        Column("over_sternum", "boolean"),
        Column("sternal_invasion", "boolean"),
        Column("sternum_overlap", "float", SHARE_DECIMALS),
        Column("sternum_border_x", "float", MM_DECIMALS),
    ),
)

#: The ``nodes.csv`` columns, in their contract order.
NODE_COLUMNS: list[str] = NODES.names
#: The float columns (offsets, extents, axes, volume).
NODE_FLOAT_COLUMNS: list[str] = [c.name for c in NODES.columns if c.kind == "float"]


def read_nodes(out: OutLayout) -> pd.DataFrame:
    """The typed node table of ``out`` (``nodes.parquet``, else ``nodes.csv``; may be empty)."""
    return NODES.read(out.nodes_parquet, out.nodes_csv)


def write_nodes(out: OutLayout, frame: pd.DataFrame) -> pd.DataFrame:
    """Write ``nodes.parquet`` and the rounded ``nodes.csv``; return the typed frame."""
    typed = NODES.typed(frame)[NODE_COLUMNS]
    NODES.write(typed, out.nodes_parquet, out.nodes_csv)
    return typed
