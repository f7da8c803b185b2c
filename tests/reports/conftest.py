"""Builders of synthetic report inputs: DICOM SR, Encapsulated PDF, PDF bytes, index tables."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from imncohort.demo.dicom_builder import (
    PatientInfo,
    SeriesInfo,
    StudyHeader,
    new_instance,
    sr_document,
)

BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
ENHANCED_SR = "1.2.840.10008.5.1.4.1.1.88.22"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"


def _code(meaning: str | bytes, value: str = "121071", scheme: str = "DCM") -> Dataset:
    code = Dataset()
    code.CodeValue = value
    code.CodingSchemeDesignator = scheme
    if isinstance(meaning, bytes):
        code.add(DataElement(0x00080104, "LO", meaning))
    else:
        code.CodeMeaning = meaning
    return code


def text_item(name: str | bytes, text: str | bytes) -> Dataset:
    """A TEXT content item; bytes are written as they are (to fake a wrong charset)."""
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "TEXT"
    item.ConceptNameCodeSequence = [_code(name)]
    if isinstance(text, bytes):
        item.add(DataElement(0x0040A160, "UT", text))
    else:
        item.TextValue = text
    return item


def container(name: str, children: Sequence[Dataset]) -> Dataset:
    """A CONTAINER content item with children."""
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "CONTAINER"
    item.ContinuityOfContent = "SEPARATE"
    item.ConceptNameCodeSequence = [_code(name, "121070")]
    item.ContentSequence = list(children)
    return item


def code_item(name: str, meaning: str) -> Dataset:
    """A CODE content item."""
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "CODE"
    item.ConceptNameCodeSequence = [_code(name, "121073")]
    item.ConceptCodeSequence = [_code(meaning, "C1", "99TEST")]
    return item


def _base(
    sop_class: str, sop_uid: str, patient_id: str, study_uid: str, charset: str | None
) -> Dataset:
    return new_instance(
        sop_class,
        sop_uid,
        PatientInfo("Test^Patient", patient_id),
        StudyHeader(study_uid, "20200105", accession="ACC" + sop_uid[-4:], description="CT CHEST"),
        SeriesInfo(study_uid + ".9", "SR" if sop_class != ENCAPSULATED_PDF else "DOC"),
        character_set=charset,
    )


def write_sr(
    path: Path,
    content: Sequence[Dataset],
    sop_class: str = BASIC_TEXT_SR,
    charset: str | None = "ISO_IR 192",
    sop_uid: str = "1.2.826.0.1.3680043.8.498.1",
    patient_id: str = "PAT001",
    study_uid: str = "1.2.826.0.1.3680043.8.498.100",
) -> Path:
    """Write an SR document with a root container holding ``content``."""
    ds = _base(sop_class, sop_uid, patient_id, study_uid, charset)
    sr_document(ds, _code("Imaging Report", "18748-4", "LN"), content)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def pdf_bytes(lines: Sequence[str]) -> bytes:
    """A one-page PDF with a text layer (matplotlib's PDF backend)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    for i, line in enumerate(lines):
        fig.text(0.05, 0.9 - 0.1 * i, line, fontsize=10)
    buffer = io.BytesIO()
    with PdfPages(buffer) as pdf:
        pdf.savefig(fig)
    return buffer.getvalue()


def write_encapsulated_pdf(
    path: Path,
    data: bytes,
    sop_uid: str = "1.2.826.0.1.3680043.8.498.2",
    patient_id: str = "PAT002",
    study_uid: str = "1.2.826.0.1.3680043.8.498.200",
) -> Path:
    """Write an Encapsulated PDF instance holding ``data``."""
    ds = _base(ENCAPSULATED_PDF, sop_uid, patient_id, study_uid, "ISO_IR 192")
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = data + (b"\x00" if len(data) % 2 else b"")
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_index(
    out: Path,
    instances: Sequence[tuple[str, str]],
    files: Sequence[tuple[str, str]] = (),
    studies: Sequence[dict[str, str]] = (),
) -> None:
    """Write the minimal index tables the reports stage reads (ARCHITECTURE schema subset)."""
    index = out / "restricted" / "index"
    index.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(instances, columns=["path", "kind"]).to_parquet(index / "instances.parquet")
    pd.DataFrame(list(files), columns=["path", "kind"]).to_parquet(index / "files.parquet")
    columns = [
        "study_instance_uid",
        "study_key",
        "patient_key",
        "study_date",
        "study_description",
        "modalities",
    ]
    frame = pd.DataFrame(list(studies), columns=columns).astype(object)
    frame.fillna("").astype(str).to_parquet(index / "studies.parquet")


@pytest.fixture()
def export(tmp_path: Path) -> Path:
    """An empty export directory."""
    path = tmp_path / "export"
    path.mkdir()
    return path


@pytest.fixture()
def out(tmp_path: Path) -> Path:
    """An empty output directory."""
    path = tmp_path / "out"
    path.mkdir()
    return path
