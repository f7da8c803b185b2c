"""Laterality of an ROI: from its name, else from the side of the midline."""

from __future__ import annotations

import logging
import re
from typing import Literal

from imncohort.geometry.validation import GeometryError, as_finite_float
from imncohort.textfmt import value_text

__all__ = ["side_from_name", "side_from_x"]

logger = logging.getLogger(__name__)


def side_from_name(
    name: str, left_regex: str | re.Pattern[str], right_regex: str | re.Pattern[str]
) -> Literal["left", "right"] | None:
    """Side encoded in an ROI name (e.g. the ``_L`` / ``_R`` suffix).

    Parameters
    ----------
    name : str
        ROI, segment or label name.
    left_regex, right_regex : str or re.Pattern
        Searched case-insensitively (``re.search``) when given as strings.

    Returns
    -------
    {"left", "right"} or None
        None when neither or both patterns match (then use :func:`side_from_x`).
    """
    if not isinstance(name, str):
        raise GeometryError(f'Argument "name" must be a str, got {type(name).__name__}.')

    def compile_(value: str | re.Pattern[str], arg: str) -> re.Pattern[str]:
        if isinstance(value, re.Pattern):
            return value
        try:
            return re.compile(value, re.IGNORECASE)
        except re.error as exc:
            raise GeometryError(
                f'Argument "{arg}" is not a valid regular expression ({value_text(value)}: {exc}).'
            ) from None

    is_left = compile_(left_regex, "left_regex").search(name) is not None
    is_right = compile_(right_regex, "right_regex").search(name) is not None
    if is_left and is_right:
        logger.debug("ROI name %r matches both side patterns; side left undecided", name)
        return None
    if is_left:
        return "left"
    if is_right:
        return "right"
    return None


def side_from_x(x_lps: float, midline_x: float) -> Literal["left", "right"]:
    """Side of a point from its LPS x.

    Parameters
    ----------
    x_lps : float
        x of the node centroid in LPS mm.
    midline_x : float
        x of the midline in LPS mm.

    Returns
    -------
    {"left", "right"}
        ``"left"`` when ``x_lps > midline_x`` (LPS +x is patient left), else ``"right"``.
    """
    x = as_finite_float(x_lps, "x_lps")
    mid = as_finite_float(midline_x, "midline_x")
    return "left" if x > mid else "right"
