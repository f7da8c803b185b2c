"""Numbers in messages are plain text, never numpy reprs."""

from __future__ import annotations

import numpy as np
import pytest

from imncohort.geometry.validation import GeometryError, as_finite_float, as_vector
from imncohort.textfmt import number, numbers, value_text


def test_numbers_print_plainly() -> None:
    assert number(np.float64(0.95416661)) == "0.954167"
    assert number(np.int64(3)) == "3"
    assert numbers(np.round(np.array([0.9541666, -0.2080757, 1.0]), 4)) == "[0.9542, -0.2081, 1]"
    assert value_text((np.float32(0.5), 2)) == "[0.5, 2]"
    assert value_text("abc") == "'abc'"


def test_geometry_errors_show_numbers_not_reprs() -> None:
    with pytest.raises(GeometryError) as info:
        as_finite_float(np.float64("nan"), "z_mm")
    assert str(info.value) == 'Argument "z_mm" must be finite, got nan.'
    with pytest.raises(GeometryError) as info:
        as_vector(np.array([np.float64(0.9542), 1.0]), "normal", 3)
    assert "np." not in str(info.value) and "array(" not in str(info.value)
