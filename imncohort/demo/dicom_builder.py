"""Synthetic DICOM instances: the one builder of the demo, the tests and the benchmarks.

Small typed functions that return :class:`pydicom.Dataset` objects (highdicom's
``Segmentation`` for SEG): the file meta and SOP common module, the patient, study and
series modules, an image plane and its pixels, a CT slice and series, an RT Structure
Set, a binary SEG and a text SR. Each function sets only what it is given (an
argument left ``None`` leaves its element out), so a caller that needs a file without,
say, ``ImageOrientationPatient`` gets one. Positions are patient LPS millimetres.
Nothing reads the clock or draws random numbers: UIDs, dates and times are arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import highdicom as hd
import numpy as np
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.sr.coding import Code
from pydicom.tag import Tag
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian, RTStructureSetStorage

__all__ = [
    "Contour",
    "PatientInfo",
    "SegmentInfo",
    "SeriesInfo",
    "StructureRoi",
    "StudyHeader",
    "code_item",
    "ct_slice",
    "file_meta",
    "new_instance",
    "rtstruct",
    "segmentation",
    "set_image_plane",
    "set_pixels",
    "sr_document",
    "text_item",
]

#: Study Component Management SOP Class, the RTSTRUCT's referenced study class.
STUDY_COMPONENT_MANAGEMENT = "1.2.840.10008.3.1.2.3.1"
CONTOUR_DATA = Tag(0x3006, 0x0050)
#: Decimals written for every contour coordinate (0.1 micrometre).
CONTOUR_DECIMALS = 4


@dataclass(frozen=True)
class PatientInfo:
    """Patient module values (``None`` leaves the element out)."""

    name: str
    patient_id: str
    birth_date: str | None = None
    sex: str | None = None


@dataclass(frozen=True)
class StudyHeader:
    """General study module values (``None`` leaves the element out)."""

    study_instance_uid: str
    study_date: str | None = None
    study_time: str | None = None
    accession: str | None = None
    study_id: str | None = None
    description: str | None = None
    referring_physician: str | None = None


@dataclass(frozen=True)
class SeriesInfo:
    """General series module values (``None`` leaves the element out)."""

    series_instance_uid: str
    modality: str
    series_number: int | str | None = None
    description: str | None = None


def file_meta(
    sop_class_uid: str,
    sop_instance_uid: str,
    transfer_syntax_uid: str = ExplicitVRLittleEndian,
    *,
    implementation_class_uid: str | None = None,
    implementation_version_name: str | None = None,
) -> FileMetaDataset:
    """File meta information of one instance (group 0002).

    Without ``implementation_class_uid`` pydicom fills in its own on writing.
    """
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class_uid)
    meta.MediaStorageSOPInstanceUID = UID(sop_instance_uid)
    meta.TransferSyntaxUID = UID(transfer_syntax_uid)
    if implementation_class_uid is not None:
        meta.ImplementationClassUID = UID(implementation_class_uid)
    if implementation_version_name is not None:
        meta.ImplementationVersionName = implementation_version_name
    return meta


def _set_optional(ds: Dataset, values: dict[str, object]) -> None:
    for keyword, value in values.items():
        if value is not None:
            setattr(ds, keyword, value)


def new_instance(
    sop_class_uid: str,
    sop_instance_uid: str,
    patient: PatientInfo,
    study: StudyHeader,
    series: SeriesInfo,
    *,
    transfer_syntax_uid: str = ExplicitVRLittleEndian,
    character_set: str | None = "ISO_IR 100",
    implementation_class_uid: str | None = None,
    implementation_version_name: str | None = None,
) -> Dataset:
    """A dataset with file meta, SOP common, patient, general study and series modules.

    Parameters
    ----------
    sop_class_uid, sop_instance_uid : str
        The instance's SOP class and instance UIDs (also written into the file meta).
    patient, study, series : PatientInfo, StudyHeader, SeriesInfo
        Module values; ``None`` fields are left out.
    transfer_syntax_uid : str
        Transfer syntax of the file meta (explicit VR little endian by default).
    character_set : str or None
        Specific Character Set; ``None`` leaves it out.
    """
    ds = Dataset()
    ds.file_meta = file_meta(
        sop_class_uid,
        sop_instance_uid,
        transfer_syntax_uid,
        implementation_class_uid=implementation_class_uid,
        implementation_version_name=implementation_version_name,
    )
    _set_optional(ds, {"SpecificCharacterSet": character_set})
    ds.SOPClassUID = sop_class_uid
    ds.SOPInstanceUID = sop_instance_uid
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    _set_optional(
        ds,
        {
            "PatientBirthDate": patient.birth_date,
            "PatientSex": patient.sex,
            "StudyDate": study.study_date,
            "StudyTime": study.study_time,
            "AccessionNumber": study.accession,
            "ReferringPhysicianName": study.referring_physician,
            "StudyDescription": study.description,
            "StudyID": study.study_id,
        },
    )
    ds.StudyInstanceUID = study.study_instance_uid
    ds.Modality = series.modality
    ds.SeriesInstanceUID = series.series_instance_uid
    _set_optional(
        ds, {"SeriesNumber": series.series_number, "SeriesDescription": series.description}
    )
    return ds


def set_image_plane(
    ds: Dataset,
    *,
    position_lps: Sequence[float | str] | str | None,
    orientation: Sequence[float | str] | None,
    pixel_spacing: Sequence[float | str],
    slice_thickness: float | str | None = None,
    frame_of_reference_uid: str | None = None,
) -> None:
    """Set the image plane module (and the frame of reference) of ``ds``.

    Parameters
    ----------
    position_lps : sequence or None
        ImagePositionPatient (x, y, z) in LPS mm; ``None`` leaves it out. Strings are
        written as they are (``"-250.000\\\\-250.000\\\\+9999.000"`` keeps its width).
    orientation : sequence of 6 or None
        ImageOrientationPatient (row then column direction cosines).
    pixel_spacing : sequence of 2
        PixelSpacing (between rows, between columns) in mm.
    """
    _set_optional(
        ds,
        {
            "FrameOfReferenceUID": frame_of_reference_uid,
            "ImagePositionPatient": position_lps,
            "ImageOrientationPatient": None if orientation is None else list(orientation),
            "SliceThickness": slice_thickness,
        },
    )
    ds.PixelSpacing = list(pixel_spacing)


def set_pixels(ds: Dataset, pixels: np.ndarray) -> None:
    """Set the image pixel module from a 2-D (rows, columns) integer array.

    Bits allocated and stored follow the dtype, ``PixelRepresentation`` is 1 for a
    signed dtype; the data are written little endian, MONOCHROME2.
    """
    if pixels.ndim != 2 or pixels.dtype.kind not in "iu":
        raise ValueError(
            f'Argument "pixels" must be a 2-D integer array, got shape {pixels.shape} '
            f"and dtype {pixels.dtype}."
        )
    bits = pixels.dtype.itemsize * 8
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = (int(n) for n in pixels.shape)
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    ds.PixelData = pixels.astype(pixels.dtype.newbyteorder("<"), copy=False).tobytes()


def ct_slice(
    sop_instance_uid: str,
    patient: PatientInfo,
    study: StudyHeader,
    series: SeriesInfo,
    *,
    pixels: np.ndarray,
    position_lps: Sequence[float | str] | str | None,
    orientation: Sequence[float | str] | None,
    pixel_spacing: Sequence[float | str],
    slice_thickness: float | str | None,
    frame_of_reference_uid: str | None,
    instance_number: int | str | None,
    patient_position: str | None = "HFS",
    image_type: Sequence[str] | None = ("ORIGINAL", "PRIMARY", "AXIAL"),
    rescale: tuple[float | str, float | str] | None = (-1024, 1),
    transfer_syntax_uid: str = ExplicitVRLittleEndian,
    character_set: str | None = "ISO_IR 100",
    implementation_class_uid: str | None = None,
    implementation_version_name: str | None = None,
) -> Dataset:
    """One CT Image Storage slice: :func:`new_instance`, image plane and pixels.

    ``rescale`` is (RescaleIntercept, RescaleSlope), ``None`` for none; ``pixels``
    holds the stored values (see :func:`set_pixels`).
    """
    ds = new_instance(
        CTImageStorage,
        sop_instance_uid,
        patient,
        study,
        series,
        transfer_syntax_uid=transfer_syntax_uid,
        character_set=character_set,
        implementation_class_uid=implementation_class_uid,
        implementation_version_name=implementation_version_name,
    )
    _set_optional(
        ds,
        {
            "InstanceNumber": instance_number,
            "ImageType": None if image_type is None else list(image_type),
            "PatientPosition": patient_position,
        },
    )
    set_image_plane(
        ds,
        position_lps=position_lps,
        orientation=orientation,
        pixel_spacing=pixel_spacing,
        slice_thickness=slice_thickness,
        frame_of_reference_uid=frame_of_reference_uid,
    )
    set_pixels(ds, pixels)
    if rescale is not None:
        ds.RescaleIntercept, ds.RescaleSlope = rescale
    return ds


@dataclass(frozen=True)
class Contour:
    """One contour of an RTSTRUCT ROI: (n, 3) LPS mm points on one plane.

    ``image_uid`` is the CT instance it lies on (a ContourImageSequence item), or
    ``None`` for a contour without an image reference.
    """

    points_lps: np.ndarray
    geometric_type: str = "CLOSED_PLANAR"
    image_uid: str | None = None


@dataclass(frozen=True)
class StructureRoi:
    """One RTSTRUCT ROI: its name, contours, display colour and interpreted type."""

    name: str
    contours: Sequence[Contour]
    colour: tuple[int, int, int] = (255, 0, 0)
    interpreted_type: str = "ORGAN"


def _image_ref(sop_instance_uid: str, sop_class_uid: str = CTImageStorage) -> Dataset:
    ref = Dataset()
    ref.ReferencedSOPClassUID = sop_class_uid
    ref.ReferencedSOPInstanceUID = sop_instance_uid
    return ref


def _raw_ds(values: np.ndarray) -> RawDataElement:
    """ContourData as an explicit-VR DS element from floats (fixed decimals).

    Contours hold hundreds of thousands of numbers; building them as raw bytes skips
    pydicom's per-value validation, and pydicom decodes them as usual on reading.
    """
    text = "\\".join(f"{v:.{CONTOUR_DECIMALS}f}" for v in values).encode("ascii")
    if len(text) % 2:
        text += b" "
    return RawDataElement(CONTOUR_DATA, "DS", len(text), text, 0, False, True)


def _contour_item(contour: Contour) -> Dataset:
    points = np.asarray(contour.points_lps, dtype=float).reshape(-1, 3)
    item = Dataset()
    if contour.image_uid is not None:
        item.ContourImageSequence = DicomSequence([_image_ref(contour.image_uid)])
    item.ContourGeometricType = contour.geometric_type
    item.NumberOfContourPoints = len(points)
    item[CONTOUR_DATA] = _raw_ds(points.ravel())
    return item


def rtstruct(
    sop_instance_uid: str,
    patient: PatientInfo,
    study: StudyHeader,
    series: SeriesInfo,
    *,
    frame_of_reference_uid: str,
    rois: Sequence[StructureRoi],
    referenced_series_uid: str | None,
    referenced_image_uids: Sequence[str] = (),
    label: str = "IMN_PLAN",
    date: str = "",
    time: str = "",
    transfer_syntax_uid: str = ExplicitVRLittleEndian,
    character_set: str | None = "ISO_IR 100",
    implementation_class_uid: str | None = None,
    implementation_version_name: str | None = None,
) -> Dataset:
    """An RT Structure Set of ``rois`` on one frame of reference.

    Parameters
    ----------
    referenced_series_uid : str or None
        The image series the contours are drawn on; ``None`` writes a frame of
        reference without an RT Referenced Study Sequence (readers must then find the
        series by its frame of reference).
    referenced_image_uids : sequence of str
        The series' instances (its Contour Image Sequence).
    label, date, time : str
        StructureSetLabel, StructureSetDate and StructureSetTime.
    """
    ds = new_instance(
        RTStructureSetStorage,
        sop_instance_uid,
        patient,
        study,
        series,
        transfer_syntax_uid=transfer_syntax_uid,
        character_set=character_set,
        implementation_class_uid=implementation_class_uid,
        implementation_version_name=implementation_version_name,
    )
    ds.InstanceNumber = 1
    ds.StructureSetLabel = label
    ds.StructureSetDate = date
    ds.StructureSetTime = time
    frame = Dataset()
    frame.FrameOfReferenceUID = frame_of_reference_uid
    if referenced_series_uid is not None:
        series_ref = Dataset()
        series_ref.SeriesInstanceUID = referenced_series_uid
        series_ref.ContourImageSequence = DicomSequence(
            [_image_ref(uid) for uid in referenced_image_uids]
        )
        study_ref = Dataset()
        study_ref.ReferencedSOPClassUID = STUDY_COMPONENT_MANAGEMENT
        study_ref.ReferencedSOPInstanceUID = study.study_instance_uid
        study_ref.RTReferencedSeriesSequence = DicomSequence([series_ref])
        frame.RTReferencedStudySequence = DicomSequence([study_ref])
    ds.ReferencedFrameOfReferenceSequence = DicomSequence([frame])
    roi_items, contour_items, observation_items = [], [], []
    for number, roi in enumerate(rois, start=1):
        item = Dataset()
        item.ROINumber = number
        item.ReferencedFrameOfReferenceUID = frame_of_reference_uid
        item.ROIName = roi.name
        item.ROIGenerationAlgorithm = "MANUAL"
        roi_items.append(item)
        roi_contour = Dataset()
        roi_contour.ROIDisplayColor = list(roi.colour)
        roi_contour.ReferencedROINumber = number
        roi_contour.ContourSequence = DicomSequence([_contour_item(c) for c in roi.contours])
        contour_items.append(roi_contour)
        observation = Dataset()
        observation.ObservationNumber = number
        observation.ReferencedROINumber = number
        observation.RTROIInterpretedType = roi.interpreted_type
        observation.ROIInterpreter = ""
        observation_items.append(observation)
    ds.StructureSetROISequence = DicomSequence(roi_items)
    ds.ROIContourSequence = DicomSequence(contour_items)
    ds.RTROIObservationsSequence = DicomSequence(observation_items)
    return ds


@dataclass(frozen=True)
class SegmentInfo:
    """One SEG segment: label and its property category and type codes."""

    label: str
    category: Code | hd.sr.CodedConcept
    property_type: Code | hd.sr.CodedConcept


def segmentation(
    source_images: Sequence[Dataset],
    masks: np.ndarray,
    segments: Sequence[SegmentInfo],
    *,
    sop_instance_uid: str,
    series_instance_uid: str,
    series_number: int,
    manufacturer: str,
    model_name: str,
    device_serial_number: str,
    software_versions: str = "1",
    series_description: str | None = None,
    date: str | None = None,
    time: str | None = None,
) -> hd.seg.Segmentation:
    """A BINARY Segmentation (highdicom) of ``masks`` on ``source_images``.

    Parameters
    ----------
    masks : numpy.ndarray
        (slices, rows, columns, segments) of 0/1, slices in ``source_images`` order.
    date, time : str or None
        Content, series and instance creation date and time (highdicom would use the
        clock); ``None`` keeps highdicom's.
    """
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=segment.label,
            segmented_property_category=segment.category,
            segmented_property_type=segment.property_type,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for number, segment in enumerate(segments, start=1)
    ]
    seg = hd.seg.Segmentation(
        source_images=list(source_images),
        pixel_array=masks.astype(np.uint8),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=series_instance_uid,
        series_number=series_number,
        sop_instance_uid=sop_instance_uid,
        instance_number=1,
        manufacturer=manufacturer,
        manufacturer_model_name=model_name,
        software_versions=software_versions,
        device_serial_number=device_serial_number,
        series_description=series_description,
    )
    if date is not None:
        for keyword in ("ContentDate", "SeriesDate", "InstanceCreationDate"):
            setattr(seg, keyword, date)
    if time is not None:
        for keyword in ("ContentTime", "SeriesTime", "InstanceCreationTime"):
            setattr(seg, keyword, time)
    return seg


def code_item(value: str, scheme: str, meaning: str) -> Dataset:
    """A code sequence item (CodeValue, CodingSchemeDesignator, CodeMeaning)."""
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def text_item(concept: Dataset, text: str, relationship: str = "CONTAINS") -> Dataset:
    """A TEXT content item named by ``concept`` (a :func:`code_item`)."""
    item = Dataset()
    item.RelationshipType = relationship
    item.ValueType = "TEXT"
    item.ConceptNameCodeSequence = DicomSequence([concept])
    item.TextValue = text
    return item


def sr_document(
    ds: Dataset,
    title: Dataset,
    content: Sequence[Dataset],
    *,
    procedure_sequences: bool = False,
) -> Dataset:
    """Make ``ds`` (a :func:`new_instance`) an SR document: root CONTAINER of ``content``.

    ``title`` is the document title code; ``procedure_sequences`` adds the empty
    Referenced Performed Procedure Step and Performed Procedure Code sequences.
    """
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = DicomSequence([title])
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    if procedure_sequences:
        ds.ReferencedPerformedProcedureStepSequence = DicomSequence()
        ds.PerformedProcedureCodeSequence = DicomSequence()
    ds.ContentSequence = DicomSequence(list(content))
    return ds
