"""The index tables under ``OUT/restricted/index/`` (restricted: raw export paths).

``instances`` (one row per DICOM file), ``series`` (one per SeriesInstanceUID and
orientation), ``studies``, ``files`` (non-DICOM inputs), ``manifest`` (every walked file)
and ``OUT/restricted/identities.parquet``. The index writes them (``imncohort.index``);
every later stage reads them through :func:`read_index_table`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from imncohort.errors import StageOrderError
from imncohort.layout import OutLayout
from imncohort.schemas.base import Column, TableSchema, columns

INT_COLUMNS = ["series_number", "instance_number", "rows", "columns"]
FLOAT_COLUMNS = [
    "pixel_spacing_row",
    "pixel_spacing_col",
    "slice_thickness",
    "ipp_x",
    "ipp_y",
    "ipp_z",
]

INSTANCES = TableSchema(
    "instances",
    (
        Column("path"),
        *columns("int", ["size", "mtime_ns"]),
        *columns(
            "str",
            [
                "sop_class_uid",
                "sop_instance_uid",
                "modality",
                "kind",
                "patient_key",
                "study_key",
                "study_instance_uid",
                "series_instance_uid",
                "frame_of_reference_uid",
                "study_date",
                "study_description",
                "series_description",
            ],
        ),
        *columns("Int64", ["series_number", "instance_number", "rows", "columns"]),
        *columns("float", FLOAT_COLUMNS[:3]),
        *columns("float", FLOAT_COLUMNS[3:]),
        *columns("str", ["iop", "patient_position", "specific_character_set"]),
        Column("transfer_syntax_uid"),
    ),
)
INSTANCE_COLUMNS: list[str] = INSTANCES.names

SERIES = TableSchema(
    "series",
    (
        *columns(
            "str",
            [
                "series_key",
                "series_instance_uid",
                "study_instance_uid",
                "study_key",
                "patient_key",
                "modality",
                "kind",
                "frame_of_reference_uid",
            ],
        ),
        Column("n_instances", "int"),
        *columns("Int64", ["rows", "columns"]),
        *columns(
            "float",
            ["pixel_spacing_row", "pixel_spacing_col", "slice_thickness", "slice_spacing"],
        ),
        Column("iop"),
        *columns("float", ["normal_x", "normal_y", "normal_z", "position_min", "position_max"]),
        *columns("bool", ["regular_spacing", "has_geometry"]),
        Column("paths", "list"),
        Column("patient_position"),
    ),
)
SERIES_COLUMNS: list[str] = SERIES.names

STUDIES = TableSchema(
    "studies",
    (
        *columns(
            "str",
            [
                "study_instance_uid",
                "study_key",
                "patient_key",
                "study_date",
                "study_description",
                "modalities",
            ],
        ),
        *columns("int", ["n_series", "n_instances", "n_reports"]),
    ),
)
STUDY_COLUMNS: list[str] = STUDIES.names

FILES = TableSchema(
    "files", (Column("path"), *columns("int", ["size", "mtime_ns"]), Column("kind"))
)
FILE_COLUMNS: list[str] = FILES.names

MANIFEST = TableSchema(
    "manifest", (Column("path"), *columns("int", ["size", "mtime_ns"]), Column("shard"))
)
MANIFEST_COLUMNS: list[str] = MANIFEST.names

IDENTITIES = TableSchema(
    "identities",
    columns(
        "str",
        [
            "patient_key",
            "study_key",
            "PatientID",
            "PatientName",
            "PatientBirthDate",
            "AccessionNumber",
            "StudyInstanceUID",
        ],
    ),
)
IDENTITY_COLUMNS: list[str] = IDENTITIES.names

#: One schema per name of :data:`imncohort.layout.INDEX_TABLES`, in that order.
INDEX_SCHEMAS = {
    "instances": INSTANCES,
    "series": SERIES,
    "studies": STUDIES,
    "files": FILES,
    "manifest": MANIFEST,
}


def read_index_table(
    out: OutLayout,
    name: str,
    columns: Sequence[str] | None = None,
    *,
    required: bool = True,
    needed_by: str = "this stage",
) -> pd.DataFrame:
    """Read one index table of ``out`` (``instances``, ``series``, ``studies``, ...).

    Parameters
    ----------
    out
        The output directory's layout.
    name
        One of :data:`imncohort.layout.INDEX_TABLES`.
    columns
        Only these columns (faster on large exports); all when None.
    required
        Raise :class:`~imncohort.errors.StageOrderError` when the table is missing;
        otherwise return the empty table with its columns and dtypes.
    needed_by
        Who needs the table, for the message (``"the reports stage"``).
    """
    schema = INDEX_SCHEMAS[name]
    path = out.index_table(name)
    if required and not path.exists():
        raise StageOrderError(
            f"'{path}' does not exist: {needed_by} reads the index; run "
            f"'imncohort index EXPORT --out {out.root}' first"
        )
    return schema.read_parquet(path, columns)


def read_identities(out: OutLayout) -> pd.DataFrame:
    """``OUT/restricted/identities.parquet`` (the empty table before the index has run)."""
    return IDENTITIES.read_parquet(out.identities_parquet)
