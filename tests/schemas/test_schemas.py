"""The inter-stage table schemas: round trips, CSV rounding, empty and missing tables."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imncohort.errors import InputError, StageOrderError
from imncohort.layout import INDEX_TABLES, OutLayout
from imncohort.schemas.base import Column, TableSchema, parse_bool
from imncohort.schemas.cohort import COHORT, read_cohort, write_cohort
from imncohort.schemas.errors import ERRORS, read_errors
from imncohort.schemas.index import INDEX_SCHEMAS, read_index_table
from imncohort.schemas.mentions import MENTIONS, read_mentions, write_mentions
from imncohort.schemas.nodes import NODE_COLUMNS, NODES, read_nodes, write_nodes


def _node(**values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "patient_key": "0123456789abcdef",
        "study_key": "fedcba9876543210",
        "series_key": "1.2.3",
        "roi_name": "IMN_1",
        "annotation": "rtstruct",
        "component": 1,
        "side": "left",
        "centroid_x": 30.123456,
        "centroid_y": -12.5,
        "centroid_z": 100.0,
        "reference_z": 100.0,
        "imv_x": 25.0,
        "imv_y": -10.0,
        "imv_extrapolated": False,
        "center_ml_mm": 5.239999999999998,
        "center_dv_mm": -2.0,
        "extent_medial_mm": 1.0,
        "extent_lateral_mm": 9.876,
        "extent_ventral_mm": 2.0,
        "extent_dorsal_mm": 3.0,
        "quadrant": "lateral",
        "towards_sternum": False,
        "long_axis_mm": 12.345,
        "short_axis_mm": 8.0,
        "volume_ml": 0.19014,
        "metastatic": True,
        "intercostal_spaces": "1;2",
        "ctv_coverage": math.nan,
        "qc_png": "qc/a.png",
        "study_date": "20180101",
        "selected": True,
        "over_sternum": None,
        "sternal_invasion": None,
        "sternum_overlap": math.nan,
        "sternum_border_x": math.nan,
    }
    row.update(values)
    return row


def _nodes() -> pd.DataFrame:
    return pd.DataFrame(
        [
            _node(),
            _node(
                roi_name="IMN_2",
                component=pd.NA,
                metastatic=False,
                towards_sternum=True,
                over_sternum=True,
                sternal_invasion=False,
                sternum_overlap=0.123456,
                intercostal_spaces="",
                study_date="",
                selected=False,
            ),
        ]
    )


def _expected_dtypes(schema: TableSchema) -> dict[str, str]:
    return {
        name: str(np.dtype(t)) if t != "Int64" and t != "boolean" else t
        for name, t in schema.dtypes.items()
    }


def test_nodes_round_trip_through_parquet_keeps_dtypes_and_values(tmp_path: Path) -> None:
    layout = OutLayout(tmp_path)
    written = write_nodes(layout, _nodes())
    read = read_nodes(layout)
    assert list(read.columns) == NODE_COLUMNS
    assert {c: str(t) for c, t in read.dtypes.items()} == _expected_dtypes(NODES)
    pd.testing.assert_frame_equal(read, written)
    assert read.loc[0, "center_ml_mm"] == 5.239999999999998  # Parquet keeps every digit
    assert read["component"].tolist()[1] is pd.NA
    assert read["over_sternum"].tolist() == [pd.NA, True]
    assert read["metastatic"].tolist() == [True, False]


def test_nodes_csv_copy_reads_back_with_the_same_dtypes(tmp_path: Path) -> None:
    layout = OutLayout(tmp_path)
    write_nodes(layout, _nodes())
    layout.nodes_parquet.unlink()  # an OUT with the CSV only (older version, hand-written)
    read = read_nodes(layout)
    assert {c: str(t) for c, t in read.dtypes.items()} == _expected_dtypes(NODES)
    assert read["center_ml_mm"].tolist() == [5.24, 5.24]
    assert read["volume_ml"].tolist() == [0.19, 0.19]
    assert read["extent_lateral_mm"].tolist() == [9.88, 9.88]
    assert read["sternum_overlap"].tolist()[1] == 0.123
    assert read["intercostal_spaces"].tolist() == ["1;2", ""]
    assert read["study_date"].tolist() == ["20180101", ""]
    assert read["towards_sternum"].tolist() == [False, True]


def test_nodes_csv_is_rounded_to_hundredths_of_a_millimetre(tmp_path: Path) -> None:
    layout = OutLayout(tmp_path)
    write_nodes(layout, _nodes().iloc[[0]])
    header, row = layout.nodes_csv.read_text("utf-8").splitlines()
    values = dict(zip(header.split(","), row.split(","), strict=True))
    assert values["center_ml_mm"] == "5.24"
    assert values["volume_ml"] == "0.19"
    assert values["centroid_x"] == "30.12"
    assert values["long_axis_mm"] == "12.35" or values["long_axis_mm"] == "12.34"
    assert values["extent_lateral_mm"] == "9.88"
    assert values["ctv_coverage"] == ""
    assert values["over_sternum"] == ""
    assert values["metastatic"] == "True"
    assert values["component"] == "1"
    assert "5.239999999999998" not in layout.nodes_csv.read_text("utf-8")
    assert header == ",".join(NODE_COLUMNS)


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [(0.19014, 3, "0.19"), (0.0006, 3, "0.001"), (1.23449, 2, "1.23"), (-7.005001, 2, "-7.01")],
)
def test_csv_rounding_writes_the_short_text(
    tmp_path: Path, value: float, decimals: int, text: str
) -> None:
    schema = TableSchema("t", (Column("x", "float", decimals),))
    schema.write_csv(pd.DataFrame({"x": [value]}), tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text("utf-8") == f"x\n{text}\n"


@pytest.mark.parametrize(
    "read",
    [read_nodes, read_cohort, read_mentions, read_errors],
    ids=["nodes", "cohort", "mentions", "errors"],
)
def test_missing_table_reads_as_its_columns_with_dtypes(tmp_path: Path, read: object) -> None:
    schema = {read_nodes: NODES, read_cohort: COHORT, read_mentions: MENTIONS, read_errors: ERRORS}[
        read  # type: ignore[index]
    ]
    frame = read(OutLayout(tmp_path))  # type: ignore[operator]
    assert len(frame) == 0
    assert list(frame.columns) == schema.names
    assert {c: str(t) for c, t in frame.dtypes.items()} == _expected_dtypes(schema)


def test_empty_and_header_only_csv_read_as_typed_empty_tables(tmp_path: Path) -> None:
    layout = OutLayout(tmp_path)
    layout.cohort_csv.write_text("")
    assert list(read_cohort(layout).columns) == COHORT.names
    layout.nodes_csv.write_text(",".join(NODE_COLUMNS[:5]) + "\n")
    nodes = read_nodes(layout)
    assert len(nodes) == 0 and list(nodes.columns) == NODE_COLUMNS
    assert str(nodes["metastatic"].dtype) == "bool"
    assert str(nodes["volume_ml"].dtype) == "float64"


def test_unreadable_csv_names_the_file_and_the_fix(tmp_path: Path) -> None:
    layout = OutLayout(tmp_path)
    layout.nodes_csv.write_bytes(b'a,b\n"1,2\n3')
    with pytest.raises(InputError, match=r"cannot read 'nodes.csv'.*re-run the stage"):
        read_nodes(layout)


def test_cohort_round_trip_csv_has_a_byte_order_mark(tmp_path: Path) -> None:
    layout = OutLayout(tmp_path)
    cohort = pd.DataFrame(
        {
            "patient_key": ["a1", "b2"],
            "status": ["confirmed", "candidate"],
            "found_by_reports": [True, False],
            "first_mention_date": ["20180101", ""],
            "modalities": ["CT;MR", "US"],
            "n_affirmed": [2, 0],
            "review_status": ["positive", "not_reviewed"],
        }
    )
    write_cohort(layout, cohort)
    assert layout.cohort_csv.read_bytes().startswith("\ufeffpatient_key,status".encode())
    from_parquet = read_cohort(layout)
    pd.testing.assert_frame_equal(from_parquet, cohort, check_dtype=False)
    assert str(from_parquet["found_by_reports"].dtype) == "bool"
    assert str(from_parquet["n_affirmed"].dtype) == "int64"
    layout.cohort_parquet.unlink()
    from_csv = read_cohort(layout)
    pd.testing.assert_frame_equal(from_csv, from_parquet)


def test_mentions_parquet_keeps_float_sizes_and_text(tmp_path: Path) -> None:
    layout = OutLayout(tmp_path)
    row = dict.fromkeys(MENTIONS.names, "x")
    row.update(size_long_mm=12.0, size_short_mm=math.nan, size_mm=12.0)
    write_mentions(layout, pd.DataFrame([row]))
    read = read_mentions(layout)
    assert read.loc[0, "size_long_mm"] == 12.0 and math.isnan(read.loc[0, "size_short_mm"])
    assert read.loc[0, "assertion"] == "x"
    assert str(read["size_mm"].dtype) == "float64"


def test_index_tables_missing_raise_or_read_empty(tmp_path: Path) -> None:
    assert tuple(INDEX_SCHEMAS) == INDEX_TABLES
    layout = OutLayout(tmp_path)
    with pytest.raises(StageOrderError) as raised:
        read_index_table(layout, "studies", needed_by="the reports stage")
    assert str(raised.value) == (
        f"'{tmp_path / 'restricted' / 'index' / 'studies.parquet'}' does not exist: the reports "
        f"stage reads the index; run 'imncohort index EXPORT --out {tmp_path}' first"
    )
    for name, schema in INDEX_SCHEMAS.items():
        empty = read_index_table(layout, name, required=False)
        assert list(empty.columns) == schema.names and len(empty) == 0
    some = read_index_table(layout, "instances", ["path", "rows"], required=False)
    assert list(some.columns) == ["path", "rows"] and str(some["rows"].dtype) == "Int64"


def test_index_table_of_an_older_version_gets_its_missing_columns(tmp_path: Path) -> None:
    layout = OutLayout(tmp_path)
    layout.index_dir.mkdir(parents=True)
    pd.DataFrame({"study_key": ["k"], "study_instance_uid": ["1.2"]}).to_parquet(
        layout.index_table("studies")
    )
    studies = read_index_table(layout, "studies", ["study_key", "study_date"])
    assert studies["study_key"].tolist() == ["k"]
    assert studies["study_date"].isna().tolist() == [True]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        ("True", True),
        (" yes ", True),
        ("1", True),
        (1, True),
        (np.True_, True),
        ("False", False),
        ("no", False),
        (0.0, False),
        ("", None),
        ("maybe", None),
        (None, None),
        (math.nan, None),
        (pd.NA, None),
    ],
)
def test_parse_bool(value: object, expected: bool | None) -> None:
    assert parse_bool(value) is expected


def test_a_column_kind_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match=r'"kind" of column \'x\' must be one of str, float'):
        Column("x", "decimal")
