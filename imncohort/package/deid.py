"""De-identification of one DICOM dataset for the research package (dicognito, configured).

The profile is DICOM PS3.15 Annex E, Basic Application Level Confidentiality Profile
with the Retain Longitudinal Temporal Information with Modified Dates option:

- dicognito replaces person names, IDs, addresses, institution and station names;
- UIDs (all but class and transfer syntax UIDs) become ``2.25.<keyed hash>``
  (:func:`new_uid`), the same for the same UID in every file of the package, so
  references between files still resolve;
- dates and date-times move back by the patient's whole number of days
  (:func:`date_shift_days`), times of day stay as they are;
- private elements and the free-text and identifying attributes of
  :data:`REMOVED_KEYWORDS` are removed; patient birth date and accession number are
  emptied; ``PatientID`` and ``PatientName`` become the patient's pseudonymous key;
- ``PatientIdentityRemoved=YES``, ``DeidentificationMethod`` and
  ``DeidentificationMethodCodeSequence`` (DCM 113100, 113107) are set.

Files that may carry burned-in text (:func:`exclusion_reason`) are never copied.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import pydicom
from dicognito.addressanonymizer import AddressAnonymizer
from dicognito.datetimeanonymizer import DateTimeAnonymizer
from dicognito.element_anonymizer import ElementAnonymizer
from dicognito.equipmentanonymizer import EquipmentAnonymizer
from dicognito.idanonymizer import IDAnonymizer
from dicognito.pnanonymizer import PNAnonymizer
from dicognito.randomizer import Randomizer
from pydicom.datadict import dictionary_VR, keyword_dict, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from imncohort import __version__

PROFILE = "DICOM PS3.15 Basic Application Level Confidentiality Profile"
OPTIONS = ("Retain Longitudinal Temporal Information with Modified Dates Option",)
METHOD_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
)
UID_ROOT = "2.25."
MIN_SHIFT_DAYS = 365
MAX_SHIFT_DAYS = 3650

# Secondary capture and ultrasound images often carry burned-in text: never copied.
EXCLUDED_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.7": "secondary capture",
    "1.2.840.10008.5.1.4.1.1.7.1": "secondary capture",
    "1.2.840.10008.5.1.4.1.1.7.2": "secondary capture",
    "1.2.840.10008.5.1.4.1.1.7.3": "secondary capture",
    "1.2.840.10008.5.1.4.1.1.7.4": "secondary capture",
    "1.2.840.10008.5.1.4.1.1.6.1": "ultrasound",
    "1.2.840.10008.5.1.4.1.1.6.2": "ultrasound",
    "1.2.840.10008.5.1.4.1.1.3.1": "ultrasound",
}

# PS3.15 Table E.1-1 attributes that dicognito's own handlers leave alone (free text,
# descriptions, comments, identifying codes and sequences): removed.
_REMOVED = (
    "AcquisitionComments",
    "AcquisitionDeviceProcessingDescription",
    "AcquisitionProtocolDescription",
    "ActualHumanPerformersSequence",
    "AdditionalPatientHistory",
    "AdmissionID",
    "AdmittingDiagnosesCodeSequence",
    "AdmittingDiagnosesDescription",
    "Allergies",
    "Arbitrary",
    "AuthorObserverSequence",
    "BranchOfService",
    "CommentsOnThePerformedProcedureStep",
    "ConsultingPhysicianIdentificationSequence",
    "ContentCreatorIdentificationCodeSequence",
    "ContentSequence",
    "ContributionDescription",
    "CurrentPatientLocation",
    "CustodialOrganizationSequence",
    "DerivationDescription",
    "DetectorID",
    "DeviceDescription",
    "DeviceSerialNumber",
    "DeviceUID",
    "DischargeDiagnosisDescription",
    "DistributionAddress",
    "DistributionName",
    "EthnicGroup",
    "FillerOrderNumberImagingServiceRequest",
    "FrameComments",
    "GantryID",
    "GeneratorID",
    "HumanPerformerOrganization",
    "IconImageSequence",
    "IdentifyingComments",
    "ImageComments",
    "ImagePresentationComments",
    "ImagingServiceRequestComments",
    "InstanceCreatorUID",
    "InstitutionAddress",
    "InstitutionCodeSequence",
    "InstitutionName",
    "InstitutionalDepartmentName",
    "InterpretationDiagnosisDescription",
    "IssuerOfAdmissionID",
    "IssuerOfPatientID",
    "LabelText",
    "MedicalAlerts",
    "MedicalRecordLocator",
    "MilitaryRank",
    "ModifiedAttributesSequence",
    "NetworkID",
    "Occupation",
    "OperatorIdentificationSequence",
    "OrderCallbackPhoneNumber",
    "OrderEnteredBy",
    "OrderEntererLocation",
    "OriginalAttributesSequence",
    "OtherPatientIDs",
    "OtherPatientIDsSequence",
    "OtherPatientNames",
    "PatientAddress",
    "PatientAge",
    "PatientBirthName",
    "PatientBirthTime",
    "PatientComments",
    "PatientInsurancePlanCodeSequence",
    "PatientMotherBirthName",
    "PatientReligiousPreference",
    "PatientSize",
    "PatientState",
    "PatientTelecomInformation",
    "PatientTelephoneNumbers",
    "PatientTransportArrangements",
    "PatientWeight",
    "PerformedLocation",
    "PerformedProcedureCodeSequence",
    "PerformedProcedureStepDescription",
    "PerformedProtocolCodeSequence",
    "PerformedProcedureStepID",
    "PerformedStationAETitle",
    "PerformedStationGeographicLocationCodeSequence",
    "PerformedStationName",
    "PerformedStationNameCodeSequence",
    "PerformingPhysicianIdentificationSequence",
    "PersonAddress",
    "PersonTelephoneNumbers",
    "PhysiciansOfRecordIdentificationSequence",
    "PhysiciansReadingStudyIdentificationSequence",
    "PlacerOrderNumberImagingServiceRequest",
    "PregnancyStatus",
    "ProcedureCodeSequence",
    "ProtocolName",
    "ReasonForRequestedProcedureCodeSequence",
    "ReasonForStudy",
    "ReasonForTheRequestedProcedure",
    "ReferencedPatientPhotoSequence",
    "ReferencedPatientSequence",
    "ReferencedPerformedProcedureStepSequence",
    "ReferencedStudySequence",
    "ReferringPhysicianIdentificationSequence",
    "RegionOfResidence",
    "RequestAttributesSequence",
    "RequestedContrastAgent",
    "RequestedProcedureCodeSequence",
    "RequestedProcedureComments",
    "RequestedProcedureDescription",
    "RequestedProcedureID",
    "RequestingPhysicianIdentificationSequence",
    "RequestingService",
    "ResponsibleOrganization",
    "ResponsiblePerson",
    "ScheduledPerformingPhysicianIdentificationSequence",
    "ScheduledProcedureStepDescription",
    "ScheduledProcedureStepID",
    "ScheduledProcedureStepLocation",
    "ScheduledStationAETitle",
    "ScheduledStationGeographicLocationCodeSequence",
    "ScheduledStationName",
    "ScheduledStationNameCodeSequence",
    "ScheduledStudyLocation",
    "ScheduledStudyLocationAETitle",
    "SeriesDescription",
    "ServiceEpisodeDescription",
    "ServiceEpisodeID",
    "SmokingStatus",
    "SpecialNeeds",
    "StationAETitle",
    "StudyComments",
    "StudyDescription",
    "TextComments",
    "TextString",
    "TopicAuthor",
    "TopicKeywords",
    "TopicSubject",
    "TopicTitle",
    "UniqueDeviceIdentifier",
    "VerifyingOrganization",
    "VisitComments",
)
REMOVED_KEYWORDS = tuple(k for k in _REMOVED if k in keyword_dict)
EMPTIED_KEYWORDS = ("PatientBirthDate", "AccessionNumber")
# dicognito's own list of unstructured IDs it replaces.
ID_KEYWORDS = (
    "AccessionNumber",
    "OtherPatientIDs",
    "FillerOrderNumberImagingServiceRequest",
    "FillerOrderNumberImagingServiceRequestRetired",
    "FillerOrderNumberProcedure",
    "PatientID",
    "PerformedProcedureStepID",
    "PlacerOrderNumberImagingServiceRequest",
    "PlacerOrderNumberImagingServiceRequestRetired",
    "PlacerOrderNumberProcedure",
    "RequestedProcedureID",
    "ScheduledProcedureStepID",
    "StationName",
    "StudyID",
)
_REMOVED_TAGS = frozenset(int(tag_for_keyword(k) or 0) for k in REMOVED_KEYWORDS)
# No dicognito handler acts on these value representations: their values are not
# decoded (RTSTRUCT contour points, pixel data, lookup tables).
_NUMBER_VRS = ("DS", "IS", "FL", "FD", "US", "UL", "SS", "SL", "SV", "UV", "AT")
_UNTOUCHED_VRS = frozenset((*_NUMBER_VRS, "OB", "OW", "OF", "OD", "OL", "OV", "UN"))


def new_uid(secret: bytes, uid: str) -> str:
    """The package UID of ``uid``: ``2.25.`` and a keyed hash (at most 44 characters)."""
    digest = hmac.new(secret, b"package-uid\0" + uid.strip().encode("ascii", "replace"), "sha256")
    return UID_ROOT + str(int.from_bytes(digest.digest()[:16], "big"))


def date_shift_days(secret: bytes, patient_key: str) -> int:
    """Days (negative) that every date of one patient moves by: from the secret, never zero."""
    digest = hmac.new(secret, b"package-date-shift\0" + patient_key.encode(), hashlib.sha256)
    span = MAX_SHIFT_DAYS - MIN_SHIFT_DAYS + 1
    return -(MIN_SHIFT_DAYS + int.from_bytes(digest.digest()[:8], "big") % span)


def exclusion_reason(ds: Dataset) -> str:
    """Why a file is left out of the package (burned-in text possible), or ""."""
    if str(ds.get("BurnedInAnnotation", "") or "").strip().upper() == "YES":
        return "BurnedInAnnotation=YES"
    sop_class = str(ds.get("SOPClassUID", "") or "")
    if sop_class in EXCLUDED_SOP_CLASSES:
        return f"{EXCLUDED_SOP_CLASSES[sop_class]} image (may carry burned-in text)"
    if str(ds.get("Modality", "") or "").upper() == "US":
        return "ultrasound image (may carry burned-in text)"
    return ""


class _KeyedUids(ElementAnonymizer):
    """Replace every instance UID by :func:`new_uid` (class and transfer syntax UIDs kept)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._cache: dict[str, str] = {}

    def _map(self, uid: str) -> str:
        mapped = self._cache.get(uid)
        if mapped is None:
            mapped = self._cache[uid] = new_uid(self._secret, uid)
        return mapped

    def __call__(self, dataset: Dataset, data_element: pydicom.DataElement) -> bool:
        if data_element.VR != "UI" or not data_element.value:
            return False
        keyword = data_element.keyword or ""
        if keyword.endswith("ClassUID") or keyword == "TransferSyntaxUID":
            return False
        value = data_element.value
        if isinstance(value, pydicom.multival.MultiValue):
            data_element.value = [self._map(str(v)) for v in value]
        else:
            data_element.value = self._map(str(value))
        return True

    def describe_actions(self) -> Iterator[str]:
        yield "Replace instance UIDs by 2.25.<HMAC-SHA256 of the UID under the secret>"


class Deidentifier:
    """De-identify the datasets of one patient (dicognito's handlers, seeded per patient).

    The elements are visited by :meth:`_visit` rather than dicognito's ``Anonymizer``:
    private elements and :data:`REMOVED_KEYWORDS` are dropped without decoding them,
    and values no handler changes (numbers, binary data) are not decoded either,
    which keeps RTSTRUCT contour points and pixel data as they are and saves most of
    the time.
    """

    def __init__(self, secret: bytes, patient_key: str) -> None:
        self.patient_key = patient_key
        self.shift_days = date_shift_days(secret, patient_key)
        seed = hmac.new(secret, b"package-seed\0" + patient_key.encode(), "sha256").hexdigest()
        randomizer = Randomizer(seed)
        address = AddressAnonymizer(randomizer)
        self._handlers: list[ElementAnonymizer] = [
            _KeyedUids(secret),
            PNAnonymizer(randomizer),
            IDAnonymizer(randomizer, "", "", *ID_KEYWORDS),
            address,
            EquipmentAnonymizer(address),
            DateTimeAnonymizer(self.shift_days * 24),
        ]

    def _visit(self, ds: Dataset) -> None:
        for tag in list(ds.keys()):
            raw = ds.get_item(tag)
            if raw is None:
                continue
            if tag.is_private or int(tag) in _REMOVED_TAGS:
                del ds[tag]
                continue
            vr = raw.VR
            if vr is None or vr == "UN":  # implicit VR, or a known element stored as UN
                try:
                    vr = dictionary_VR(tag)
                except KeyError:
                    vr = "UN"
            if vr == "SQ":
                for item in ds[tag].value or []:
                    self._visit(item)
                continue
            if all(part in _UNTOUCHED_VRS for part in str(vr).split(" or ")):
                continue
            if tag not in ds:  # removed by a handler along with another element
                continue
            element = ds[tag]
            for handler in self._handlers:
                if handler(ds, element):
                    break

    def __call__(self, ds: Dataset) -> Dataset:
        """De-identify ``ds`` in place and return it."""
        ds.preamble = b"\0" * 128
        if getattr(ds, "file_meta", None) is not None:
            self._visit(ds.file_meta)
        self._visit(ds)
        for keyword in EMPTIED_KEYWORDS:
            if keyword in ds:
                setattr(ds, keyword, "")
        ds.PatientID = self.patient_key
        ds.PatientName = self.patient_key
        ds.PatientIdentityRemoved = "YES"
        ds.LongitudinalTemporalInformationModified = "MODIFIED"
        ds.DeidentificationMethod = method_text()
        ds.DeidentificationMethodCodeSequence = Sequence(
            [_code(value, meaning) for value, meaning in METHOD_CODES]
        )
        return ds


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = meaning
    return item


def method_text() -> str:
    """``DeidentificationMethod`` value (at most 64 characters)."""
    return f"imncohort {__version__} dicognito {version('dicognito')} PS3.15 E.1 113107"[:64]


def profile_description() -> dict[str, Any]:
    """The profile, options and library recorded in ``package.json``."""
    return {
        "profile": PROFILE,
        "options": list(OPTIONS),
        "method_codes": [{"code": v, "scheme": "DCM", "meaning": m} for v, m in METHOD_CODES],
        "library": {"name": "dicognito", "version": version("dicognito")},
        "uids": "2.25.<decimal of the first 128 bits of HMAC-SHA256(secret, uid)>",
        "dates": "moved back by a whole number of days per patient "
        f"({MIN_SHIFT_DAYS}-{MAX_SHIFT_DAYS}), from the secret; times of day kept",
        "removed": ["private elements", *REMOVED_KEYWORDS],
        "emptied": list(EMPTIED_KEYWORDS),
        "pseudonyms": "PatientID and PatientName are the patient_key",
        "left_out": "BurnedInAnnotation=YES, secondary capture and ultrasound images",
    }
