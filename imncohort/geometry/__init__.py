"""Pure geometry on NumPy arrays in DICOM patient LPS millimetres.

+x is patient left, +y posterior (dorsal), +z superior. Nothing here reads or writes
files; the annotation readers hand over contours (rings of ``(x, y)`` vertices on an
axial slice at ``z``) or boolean masks indexed ``[k, j, i]`` with a 4 x 4
``affine_ijk_to_lps``.

Modules, one concept each:

- :mod:`~imncohort.geometry.polygons`: shoelace area and centroid, even-odd
  point-in-polygon, rasterising rings.
- :mod:`~imncohort.geometry.sections`: :class:`CrossSection`, one node's cross-section on
  one axial slice, from contour rings or from a mask.
- :mod:`~imncohort.geometry.components`: 3-D connected components (masks) and grouping of
  contour cross-sections into nodes.
- :mod:`~imncohort.geometry.reference`: reference slice, z extent, volume.
- :mod:`~imncohort.geometry.axes`: long and short axis.
- :mod:`~imncohort.geometry.imv`: internal mammary vessel centre at any z.
- :mod:`~imncohort.geometry.offsets`: signed offsets, extents and growth quadrant.
- :mod:`~imncohort.geometry.intercostal`: rib levels and intercostal spaces.
- :mod:`~imncohort.geometry.side`: laterality from a name or from x.
- :mod:`~imncohort.geometry.overlap`: share of a node inside a planned IMN CTV.
- :mod:`~imncohort.geometry.orientation`: ImageOrientationPatient parsing and the one
  "axial" rule (:data:`~imncohort.geometry.orientation.AXIAL_TOLERANCE`).
- :mod:`~imncohort.geometry.validation`: argument checks and :class:`GeometryError`.
"""
