"""The SOP class and transfer syntax UIDs written out as text are pydicom's."""

from __future__ import annotations

import subprocess
import sys

from pydicom import uid

from imncohort.dicom import sop
from imncohort.index.checks import UNCOMPRESSED_SYNTAXES


def test_written_out_uids_equal_pydicoms_constants() -> None:
    assert uid.RTStructureSetStorage == sop.RTSTRUCT_SOP_CLASS
    assert uid.EncapsulatedPDFStorage == sop.PDF_SOP_CLASS
    assert uid.SegmentationStorage == sop.SEGMENTATION_SOP_CLASS
    assert uid.SurfaceSegmentationStorage == sop.SURFACE_SEG_SOP_CLASS
    assert sop.SEG_SOP_CLASS_PREFIX == "1.2.840.10008.5.1.4.1.1.66."
    assert {
        uid.ImplicitVRLittleEndian,
        uid.ExplicitVRLittleEndian,
        uid.ExplicitVRBigEndian,
    } == UNCOMPRESSED_SYNTAXES


def test_planning_an_index_imports_no_pydicom() -> None:
    code = (
        "import sys\n"
        "import imncohort.index.plan, imncohort.index.stage, imncohort.measure.stage\n"
        "heavy = ('pydicom', 'highdicom', 'nibabel', 'scipy')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
