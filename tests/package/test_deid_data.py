"""deid-data's identifying headers as patients of a small export: none survives packaging.

Each deid-data file (pydicom/deid's public test files, MIT, from the ``deid-data``
package) gives its patient, study, equipment and private elements to every image and
annotation file of one demo patient's measured study; the export is audited and
packaged, and every identifier pydicom reads from the deid-data originals is looked
for in every packaged file, as bytes and as element values (private ones included).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pydicom
import pytest
from pkgsupport import (  # noqa: F401 (fixtures)
    audit_in_process,
    audited_demo,
    copy_export,
    package_secret,
)

from imncohort.config import load_config

deid_data = pytest.importorskip("deid_data")

DATA = Path(deid_data.__file__).parent / "data"
SOURCES = [
    "humans/ctbrain1.dcm",
    "humans/ctbrain2.dcm",
    "animals/cat.dcm",
    "ultrasounds/GREYSCALE_IMAGE.dcm",
    "ultrasounds/RGB_IMAGE.dcm",
    "dicom-cookies/image1.dcm",
]
# Elements the measurement and the file structure need: never taken from deid-data.
STRUCTURAL_GROUPS = {0x0002, 0x0020, 0x0028, 0x3006, 0x0062, 0x0066, 0x5200, 0x7FE0}
STRUCTURAL = {
    "SOPClassUID",
    "SOPInstanceUID",
    "Modality",
    "ImageType",
    "ReferencedSeriesSequence",
    "SliceThickness",
    "SpacingBetweenSlices",
    "PatientPosition",
    "SpecificCharacterSet",
}
# PS3.15 Table E.1-1 identifying attributes (besides every PN, DA, DT and instance UI).
IDENTIFYING = {
    "PatientID",
    "OtherPatientIDs",
    "AccessionNumber",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "StationName",
    "DeviceSerialNumber",
    "StudyID",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "StudyDescription",
    "SeriesDescription",
    "ImageComments",
    "PatientComments",
    "AdditionalPatientHistory",
    "ProtocolName",
    "RequestedProcedureDescription",
    "RequestedProcedureID",
    "PerformedProcedureStepDescription",
    "PerformedProcedureStepID",
    "ScheduledProcedureStepID",
    "OperatorsName",
    "NetworkID",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "DerivationDescription",
}
MIN_LENGTH = 4
MIN_DIGITS = 8  # a number is an identifier when it is long enough to be an ID or a date
NUMBER = re.compile(r"^[-+0-9.eE ]+$")


def _keep(text: str) -> bool:
    if sum(c.isalnum() for c in text) < MIN_LENGTH:
        return False
    return not NUMBER.match(text) or sum(c.isdigit() for c in text) >= MIN_DIGITS


def _texts(value: Any) -> list[str]:
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("latin-1").strip(" \x00")
        return [text] if _keep(text) else []
    if isinstance(value, list | tuple | pydicom.multival.MultiValue):
        return [t for v in value for t in _texts(v)]
    text = str(value).strip(" \x00")
    return [text] if _keep(text) else []


def identifiers(ds: pydicom.Dataset) -> set[str]:
    """Identifying values pydicom reads from an original (text of at least 4 characters)."""
    found: set[str] = set()
    for elem in ds.iterall():
        if elem.VR == "SQ":
            continue
        keyword = elem.keyword or ""
        is_instance_uid = elem.VR == "UI" and not keyword.endswith("ClassUID")
        if elem.tag.is_private and elem.VR not in ("OB", "OW", "UN", "FL", "FD", "US", "UL"):
            found.update(_texts(elem.value))
        elif elem.tag.is_private:
            found.update(t for t in _texts(elem.value) if t.isprintable())
        elif elem.VR in ("PN", "DA", "DT") or is_instance_uid or keyword in IDENTIFYING:
            found.update(_texts(elem.value))
    return found


def transplant(source: pydicom.Dataset, target: pydicom.Dataset) -> None:
    """Give ``target`` every non-structural top-level element of ``source``."""
    for elem in source:
        if elem.tag.group in STRUCTURAL_GROUPS and elem.keyword != "StudyID":
            continue
        if elem.keyword in STRUCTURAL:
            continue
        target[elem.tag] = elem


@pytest.fixture(scope="module")
def deid_export(demo_export: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("deid-data")
    mp = pytest.MonkeyPatch()
    from pkgsupport import PACKAGE_SECRET as SECRET

    mp.setenv("IMNCOHORT_SECRET", SECRET)
    try:
        export = copy_export(demo_export, base / "export")
        first = audit_in_process(export, base / "first")
        nodes = pd.read_csv(first / "nodes.csv", dtype=str)
        instances = pd.read_parquet(first / "restricted" / "index" / "instances.parquet")
        studies = sorted(set(nodes["study_key"]))
        assert len(studies) == len(SOURCES)
        wanted: set[str] = set()
        for study, name in zip(studies, SOURCES, strict=True):
            original = pydicom.dcmread(DATA / name, stop_before_pixels=True)
            wanted |= identifiers(original)
            rows = instances[
                (instances["study_key"] == study)
                & instances["kind"].isin(["image", "rtstruct", "seg"])
            ]
            for path in rows["path"]:
                ds = pydicom.dcmread(export / path)
                transplant(original, ds)
                ds.save_as(export / path)
        out = audit_in_process(export, base / "out")
        from imncohort.package.stage import run_package

        summary = run_package(out, base / "package", "all", load_config())
        return {"package": base / "package", "identifiers": wanted, "summary": summary, "out": out}
    finally:
        mp.undo()


def test_identifiers_were_placed_and_measured(deid_export: dict[str, Any]) -> None:
    wanted = deid_export["identifiers"]
    assert "SIMPSON^HOMER^J^" in wanted and "00007041776" in wanted
    assert "Wetzel, James^Chase" in wanted
    assert len(wanted) > 100
    nodes = pd.read_csv(deid_export["out"] / "nodes.csv")
    assert len(nodes) == 13
    assert deid_export["summary"]["files"] == 341


def test_no_identifier_in_any_packaged_byte(deid_export: dict[str, Any]) -> None:
    package: Path = deid_export["package"]
    files = [p for p in package.rglob("*") if p.is_file()]
    assert len(files) == 341 + 8
    needles = sorted({w.encode("latin-1", "replace") for w in deid_export["identifiers"]})
    found = {}
    for path in files:
        data = path.read_bytes()
        hits = [n for n in needles if n in data]
        if hits:
            found[str(path.relative_to(package))] = hits[:5]
    assert found == {}


def test_no_identifier_in_any_packaged_element(deid_export: dict[str, Any]) -> None:
    package: Path = deid_export["package"]
    wanted = deid_export["identifiers"]
    n_elements = 0
    for path in sorted(package.glob("dicom/**/*.dcm")):
        ds = pydicom.dcmread(path)
        for elem in [*ds.file_meta, *ds.iterall()]:
            n_elements += 1
            assert not elem.tag.is_private, path
            if elem.VR in ("SQ", "OB", "OW", "OF", "OD", "OL", "OV", "UN"):
                continue
            for text in _texts(elem.value):
                assert text not in wanted, (path.name, elem.keyword, text)
                assert not any(w in text for w in wanted if len(w) >= 6), (elem.keyword, text)
    assert n_elements > 335 * 40
