"""A DICOM File-set (DICOMDIR) holding part of the demo export, as a media export would."""

from __future__ import annotations

from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.fileset import FileSet
from pydicom.uid import UID


def write_file_set(
    root: Path, folder: str, datasets: list[Dataset], file_set_uid: str
) -> tuple[dict[str, str], dict[str, object]]:
    """Write ``datasets`` as a File-set in ``root/folder`` with its DICOMDIR.

    Returns
    -------
    paths : dict
        SOPInstanceUID -> path of the written file, relative to ``root``.
    record : dict
        The ``dicomdir`` entry of ground_truth.json (path and record counts).
    """
    file_set = FileSet()
    file_set.ID = "IMNDEMO"
    file_set.UID = UID(file_set_uid)
    for ds in datasets:
        file_set.add(ds)
    target = root / folder
    file_set.write(target)
    paths = {
        str(instance.SOPInstanceUID): Path(instance.path).relative_to(root).as_posix()
        for instance in file_set
    }
    record: dict[str, object] = {
        "path": f"{folder}/DICOMDIR",
        "patients": len({ds.PatientID for ds in datasets}),
        "studies": len({ds.StudyInstanceUID for ds in datasets}),
        "series": len({ds.SeriesInstanceUID for ds in datasets}),
        "images": len(datasets),
    }
    return paths, record
