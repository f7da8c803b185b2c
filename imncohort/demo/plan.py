"""What each demo patient gets: cohort status, annotation form, geometry and layout.

Features cycle with the patient index so that even a six-patient demo holds every
variant (RTSTRUCT, SEG, NIfTI with labels and TotalSegmentator ids, FFS, reversed
order, POINT vessels, CTV, no ribs, Chinese reports, each cohort status); the seeded
generator draws the continuous parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ANNOTATION_CYCLE = ("rtstruct", "seg", "nifti", "rtstruct", "nifti", "seg")
STATUS_CYCLE = (
    "confirmed",
    "confirmed",
    "candidate",
    "confirmed",
    "none",
    "confirmed",
    "confirmed",
    "candidate",
    "confirmed",
    "none",
)
#: Planned sternal node per patient index modulo 10 (confirmed patients only): few, so
#: that the demo's offsets keep the paper's shape, yet every annotation format of a
#: 20-patient demo has a node reaching into the sternum.
STERNAL_CYCLE = {0: "into", 3: "over", 5: "into"}
#: Other studies (besides the CT) per patient index modulo 3.
OTHER_STUDY_CYCLE = (("MR", "US"), ("PT",), ("US",))


@dataclass(frozen=True)
class PatientPlan:
    """The discrete choices for one demo patient (see module docstring)."""

    index: int
    patient_id: str
    patient_name: str
    status: str
    found_by_reports: bool
    n_metastatic: int
    n_benign: int
    annotation: str
    totalsegmentator: bool
    has_ribs: bool
    vessel_point: bool
    vessel_every_other: bool
    ctv: bool
    name_style: int
    language: str
    gb18030: bool
    ct_report_in_table: bool
    layout: str
    extension: bool
    patient_position: str
    reversed_order: bool
    other_studies: tuple[str, ...]
    group: str
    #: The first metastatic node is drawn reaching over the sternum: "into" it, or "over"
    #: it dorsally without touching it; "" = drawn like the others.
    sternal_node: str = ""


def plan_patient(index: int, rng: np.random.Generator) -> PatientPlan:
    """Return the plan of patient ``index`` (0-based)."""
    status = STATUS_CYCLE[index % len(STATUS_CYCLE)]
    annotation = ANNOTATION_CYCLE[index % len(ANNOTATION_CYCLE)]
    confirmed = status == "confirmed"
    language = "zh" if index % 4 == 2 else "en"
    n_metastatic = int(rng.integers(1, 4)) if confirmed else 0
    n_benign = int(rng.integers(0, 2)) + (1 if status == "none" and index % 10 == 4 else 0)
    return PatientPlan(
        index=index,
        patient_id=f"DEMO{index + 1:04d}",
        patient_name=f"Demo^Patient{index + 1:02d}",
        status=status,
        found_by_reports=confirmed and index % 5 != 3,
        n_metastatic=n_metastatic,
        n_benign=n_benign,
        annotation=annotation,
        totalsegmentator=annotation == "nifti" and (index // 3) % 2 == 0,
        has_ribs=index % 5 != 1,
        vessel_point=annotation == "rtstruct" and index % 2 == 1,
        vessel_every_other=annotation == "rtstruct" and index % 3 == 0,
        ctv=annotation != "nifti" and index % 4 in (0, 1),
        name_style=index % 3,
        language=language,
        gb18030=index == 2,
        ct_report_in_table=index % 3 == 1 and index != 2,
        layout=("nested", "incoming", "nested", "patient_flat")[index % 4],
        extension=index % 3 != 2,
        patient_position="FFS" if index % 3 == 1 else "HFS",
        reversed_order=index % 2 == 1,
        other_studies=OTHER_STUDY_CYCLE[index % 3],
        group="recurrence" if rng.random() < 0.3 else "initial",
        sternal_node=STERNAL_CYCLE.get(index % 10, "") if confirmed else "",
    )
