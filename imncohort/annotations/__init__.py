"""Annotation readers: RTSTRUCT (:mod:`.rtstruct`), DICOM SEG (:mod:`.seg`), NIfTI label
maps (:mod:`.nifti`), ROI name matching (:mod:`.names`); all return ROIs in patient LPS mm
(:mod:`.models`)."""
