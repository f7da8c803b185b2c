"""Synthetic DICOM files for the index tests (small, written with pydicom, fixed UIDs)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import pydicom.data
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, ImplicitVRLittleEndian

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
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop
    ds.StudyDate = "20240115"
    ds.AccessionNumber = ACCESSION
    ds.Modality = "CT"
    ds.StudyDescription = "CT CHEST"
    ds.SeriesDescription = "AXIAL"
    ds.PatientName = PATIENT_NAME
    ds.PatientID = patient_id
    ds.PatientBirthDate = BIRTH_DATE
    ds.SliceThickness = "2.5"
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.SeriesNumber = 1
    ds.InstanceNumber = instance
    if ipp is not None:
        ds.ImagePositionPatient = [f"{v:g}" for v in ipp]
    if iop is not None:
        ds.ImageOrientationPatient = [f"{v:g}" for v in iop]
    ds.FrameOfReferenceUID = study + ".9"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = rows
    ds.PixelSpacing = ["0.5", "0.75"]
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.PixelData = b"\0\1" * rows * rows
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
