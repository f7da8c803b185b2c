"""dicognito against deid on deid-data's files: speed, identifiers left, UID consistency.

    python benchmarks/deid_compare.py [--repeats 3]

Needs ``pip install dicognito deid deid-data``. For each file of deid-data (pydicom/deid's
public test files: CT, DX, US, secondary captures) each library reads, de-identifies
and writes a copy; then:

- *files/s*: files over wall time (median of the repeats, read + de-identify + write);
- *identifiers left*: how many of the identifying values pydicom reads from the
  originals (every PN, DA, DT and instance UID, the PS3.15 identifying attributes and
  every private text value; at least 4 characters) are still in the copies' elements;
- *private elements left*;
- *UIDs*: share of the originals' instance UIDs still present in the copies, and
  whether one original UID maps to one new UID in every file (consistent), checked
  on every UID element that both files keep at the same place.

Runs: ``imncohort`` (dicognito as configured by :mod:`imncohort.package.deid`),
``dicognito`` (its defaults, one seed) and ``deid`` (its default recipe).
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pydicom

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
    "OperatorsName",
    "NetworkID",
    "PatientAge",
}
NUMBER = re.compile(r"^[-+0-9.eE ]+$")


def _keep(text: str) -> bool:
    if sum(c.isalnum() for c in text) < 4:
        return False
    return not NUMBER.match(text) or sum(c.isdigit() for c in text) >= 8


def _texts(value: Any) -> list[str]:
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("latin-1").strip(" \x00")
        return [text] if _keep(text) and text.isprintable() else []
    if isinstance(value, list | tuple | pydicom.multival.MultiValue):
        return [t for v in value for t in _texts(v)]
    text = str(value).strip(" \x00")
    return [text] if _keep(text) else []


def identifiers(ds: pydicom.Dataset) -> set[str]:
    found: set[str] = set()
    for elem in ds.iterall():
        if elem.VR == "SQ":
            continue
        keyword = elem.keyword or ""
        uid = (
            elem.VR == "UI" and not keyword.endswith("ClassUID") and keyword != "TransferSyntaxUID"
        )
        if elem.tag.is_private or elem.VR in ("PN", "DA", "DT") or uid or keyword in IDENTIFYING:
            found.update(_texts(elem.value))
    return found


def _uid_places(ds: pydicom.Dataset, prefix: str = "") -> Iterator[tuple[str, str]]:
    for elem in ds:
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value or []):
                yield from _uid_places(item, f"{prefix}{elem.tag}[{i}]>")
        elif (
            elem.VR == "UI"
            and elem.value
            and not (elem.keyword or "").endswith("ClassUID")
            and elem.keyword != "TransferSyntaxUID"
        ):
            yield f"{prefix}{elem.tag}", str(elem.value)


def files_of_deid_data() -> list[Path]:
    import deid_data

    return sorted((Path(deid_data.__file__).parent / "data").rglob("*.dcm"))


def run_imncohort(files: list[Path], out: Path) -> list[Path]:
    from imncohort.package.deid import Deidentifier

    deid = Deidentifier(b"benchmark-secret", "0123456789abcdef")
    written = []
    for i, path in enumerate(files):
        ds = pydicom.dcmread(path, force=True)
        deid(ds)
        target = out / f"{i:03d}.dcm"
        ds.save_as(target)
        written.append(target)
    return written


def run_dicognito(files: list[Path], out: Path) -> list[Path]:
    from dicognito.anonymizer import Anonymizer

    anonymizer = Anonymizer(seed="benchmark-secret")
    written = []
    for i, path in enumerate(files):
        ds = pydicom.dcmread(path, force=True)
        anonymizer.anonymize(ds)
        target = out / f"{i:03d}.dcm"
        ds.save_as(target)
        written.append(target)
    return written


def run_deid(files: list[Path], out: Path) -> list[Path]:
    from deid.config import DeidRecipe
    from deid.dicom import replace_identifiers

    logging.getLogger("deid").setLevel(logging.ERROR)
    written = []
    for i, path in enumerate(files):
        # One folder per file: deid names the copy after the original file.
        folder = out / f"{i:03d}"
        folder.mkdir()
        result = replace_identifiers(
            [str(path)], deid=DeidRecipe(), save=True, output_folder=str(folder), overwrite=True
        )
        written.append(Path(result[0]))
    return written


RUNS: dict[str, Callable[[list[Path], Path], list[Path]]] = {
    "imncohort": run_imncohort,
    "dicognito": run_dicognito,
    "deid": run_deid,
}


def measure(name: str, files: list[Path], repeats: int) -> dict[str, Any]:
    seconds = []
    written: list[Path] = []
    for _ in range(repeats):
        out = Path(tempfile.mkdtemp(prefix=f"deid-{name}-"))
        start = time.perf_counter()
        written = RUNS[name](files, out)
        seconds.append(time.perf_counter() - start)
        if _ < repeats - 1:
            shutil.rmtree(out)
    originals = [pydicom.dcmread(p, stop_before_pixels=True, force=True) for p in files]
    copies = [pydicom.dcmread(p, stop_before_pixels=True, force=True) for p in written]
    left = private = 0
    total = 0
    mapping: dict[str, set[str]] = {}
    kept_uids = all_uids = 0
    for original, copy in zip(originals, copies, strict=True):
        wanted = identifiers(original)
        total += len(wanted)
        present = {t for e in copy.iterall() if e.VR != "SQ" for t in _texts(e.value)}
        left += len(wanted & present)
        private += sum(1 for e in copy.iterall() if e.tag.is_private)
        before = dict(_uid_places(original))
        after = dict(_uid_places(copy))
        all_uids += len(before)
        kept_uids += sum(1 for place, uid in before.items() if after.get(place) == uid)
        for place, uid in before.items():
            if place in after:
                mapping.setdefault(uid, set()).add(after[place])
    shutil.rmtree(written[0].parent if name != "deid" else written[0].parent.parent)
    consistent: bool | str = all(len(v) == 1 for v in mapping.values()) if mapping else "removed"
    return {
        "library": name,
        "files": len(files),
        "files_per_s": len(files) / statistics.median(seconds),
        "identifiers": total,
        "identifiers_left": left,
        "private_left": private,
        "uids_kept_pct": 100.0 * kept_uids / max(1, all_uids),
        "uids_present_pct": 100.0 * sum(1 for v in mapping.values() if v) / max(1, len(mapping)),
        "uid_mapping_consistent": consistent,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    files = files_of_deid_data()
    print(
        f"deid-data: {len(files)} DICOM files, {sum(p.stat().st_size for p in files) / 1e6:.1f} MB"
    )
    print(
        f"{'run':<10} {'files/s':>8} {'identifiers left':>17} {'private left':>13} "
        f"{'UIDs kept %':>12} {'UIDs still placed %':>20} {'one UID -> one UID':>19}"
    )
    for name in RUNS:
        r = measure(name, files, args.repeats)
        print(
            f"{name:<10} {r['files_per_s']:8.1f} {r['identifiers_left']:>8}/{r['identifiers']:<8} "
            f"{r['private_left']:>13} {r['uids_kept_pct']:12.1f} {r['uids_present_pct']:20.1f} "
            f"{r['uid_mapping_consistent']!s:>19}"
        )


if __name__ == "__main__":
    main()
