"""The review loop of the seed method: two readers, consensus, agreement.

Seed 000 (Methods): every imaging finding with a possible abnormal IMN "was reviewed by a
senior radiologist and a radiation oncologist independently ... and a final determination
was reached on the consensus". This package turns the report candidates into stable review
items, writes the reviewers' workbook, reads completed workbooks back, and derives the
outcome (``review_status`` of ``cohort.csv``), the agreement between the two readers and
the list of consensus-positive patients still to contour.

Pure functions (no files): :mod:`~imncohort.review.items` (item ids, marked sentences),
:mod:`~imncohort.review.consensus` (consensus rule, statuses, patient outcome),
:mod:`~imncohort.review.merge` (merging returned decisions with the kept ones) and
:mod:`~imncohort.review.agreement` (percent agreement, Cohen's kappa with its 95% CI).
Files: :mod:`~imncohort.review.workbook` (xlsx/csv out and back),
:mod:`~imncohort.review.state` (the restricted state file), :mod:`~imncohort.review.page`
(the restricted HTML page); :mod:`~imncohort.review.stage` runs the step.
"""
