"""Raw DICOM bytes and DICOM constants: the one place that walks a file's elements.

- :mod:`~imncohort.dicom.elements`: the element loop (tag, VR, length; explicit and
  implicit VR little endian; defined and undefined lengths; items and delimiters), its
  sequence item iterator (:func:`~imncohort.dicom.elements.sequence_items`, which the
  RTSTRUCT and SEG readers take contours and per-frame groups from) and the
  transfer-syntax rule, from :mod:`pydicom.uid`.
- :mod:`~imncohort.dicom.header`: the index's header walker built on that loop.
- :mod:`~imncohort.dicom.values`: decoding of the header values, shared with the pydicom
  fallback.
- :mod:`~imncohort.dicom.sop`: the SOP classes the pipeline recognises (one list of
  segmentation classes, from highdicom and pydicom).

Everything else reads DICOM through pydicom data sets (and so do those readers, for
anything the loop refuses).
"""
