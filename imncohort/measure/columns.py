"""The ``nodes.csv`` columns, in their contract order (docs/ARCHITECTURE.md)."""

from __future__ import annotations

NODE_COLUMNS: list[str] = [
    "patient_key",
    "study_key",
    "series_key",
    "roi_name",
    "annotation",
    "component",
    "side",
    "centroid_x",
    "centroid_y",
    "centroid_z",
    "reference_z",
    "imv_x",
    "imv_y",
    "imv_extrapolated",
    "center_ml_mm",
    "center_dv_mm",
    "extent_medial_mm",
    "extent_lateral_mm",
    "extent_ventral_mm",
    "extent_dorsal_mm",
    "quadrant",
    "towards_sternum",
    "long_axis_mm",
    "short_axis_mm",
    "volume_ml",
    "metastatic",
    "intercostal_spaces",
    "ctv_coverage",
    "qc_png",
    # One CT per patient (CONTRACT section 4): the study's date and whether the tables use
    # the node (imncohort.tables.selection); filled when nodes.csv is written.
    "study_date",
    "selected",
    # The sternum (CONTRACT section 4, imncohort.measure.sternum); empty without a sternum
    # annotation.
    "over_sternum",
    "sternal_invasion",
    "sternum_overlap",
    "sternum_border_x",
]
