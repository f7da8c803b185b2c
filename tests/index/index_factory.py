"""Synthetic DICOM files for the index tests (small, written with pydicom, fixed UIDs)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom.data
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from imncohort.demo.dicom_builder import PatientInfo, SeriesInfo, StudyHeader, ct_slice

SECRET = b"index-test-secret"
PATIENT_NAME = "SENTINELNAME^JANE"
PATIENT_ID = "SENTINELPID4711"
BIRTH_DATE = "19010203"
ACCESSION = "SENTACC0815"
UID_ROOT = "1.2.826.0.1.3680043.10.543.77."
PYDICOM_TEST_FILES = Path(os.path.dirname(pydicom.data.__file__)) / "test_files"


def write_ct(
    path: Path,
    *,
    study: str = UID_ROOT + "1",
    series: str = UID_ROOT + "1.1",
    sop: str,
    ipp: Sequence[float] | None = (0.0, 0.0, 0.0),
    iop: Sequence[float] | None = (1, 0, 0, 0, 1, 0),
    instance: int = 1,
    implicit: bool = False,
    patient_id: str = PATIENT_ID,
    rows: int = 8,
) -> Path:
    """Write a tiny CT slice (``rows`` x ``rows``, 16 bit) to ``path``; return it."""
    ds = ct_slice(
        sop,
        PatientInfo(PATIENT_NAME, patient_id, BIRTH_DATE),
        StudyHeader(study, "20240115", accession=ACCESSION, description="CT CHEST"),
        SeriesInfo(series, "CT", 1, "AXIAL"),
        pixels=np.full((rows, rows), 256, dtype=np.int16),  # bytes 00 01
        position_lps=None if ipp is None else [f"{v:g}" for v in ipp],
        orientation=None if iop is None else [f"{v:g}" for v in iop],
        pixel_spacing=["0.5", "0.75"],
        slice_thickness="2.5",
        frame_of_reference_uid=study + ".9",
        instance_number=instance,
        image_type=None,
        rescale=None,
        transfer_syntax_uid=ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(path, enforce_file_format=True)
    return path


def write_series(
    directory: Path,
    n: int,
    *,
    series: str = UID_ROOT + "1.1",
    z0: float = 0.0,
    dz: float = 2.5,
    iop: Sequence[float] = (1, 0, 0, 0, 1, 0),
    sop_prefix: str | None = None,
    reverse_names: bool = False,
) -> list[Path]:
    """Write ``n`` axial slices at ``z0 + i * dz``; file names run backwards when asked."""
    prefix = sop_prefix or series + "."
    paths = []
    for i in range(n):
        name = f"IM{(n - 1 - i) if reverse_names else i:03d}"
        paths.append(
            write_ct(
                directory / name,
                series=series,
                sop=f"{prefix}{i + 1}",
                ipp=(0.0, 0.0, z0 + i * dz),
                iop=iop,
                instance=i + 1,
            )
        )
    return paths
