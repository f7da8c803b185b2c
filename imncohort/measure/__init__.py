"""The measure stage: series geometry from the index (:mod:`.series`), per-study plans
(:mod:`.plan`), ROI components (:mod:`.rois`), node measurements (:mod:`.study`), QC
pictures (:mod:`.qc`) and the stage around them (:mod:`.stage`, ``nodes.csv``)."""
