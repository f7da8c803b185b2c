"""Numbers in messages: plain ``0.9542`` and ``[1, 0, 0]``, never numpy reprs.

numpy 2 prints scalars as ``np.float64(0.9542)`` in ``repr`` (and so in lists and
f-strings with ``!r``); every error reason a person reads goes through these helpers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np


def number(value: object, digits: int = 6) -> str:
    """One number as text: integers as ``12``, others with up to ``digits`` significant digits."""
    try:
        x = float(value)  # type: ignore[arg-type]  # anything float() takes
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.{digits}g}"


def numbers(values: Iterable[Any] | np.ndarray, digits: int = 6) -> str:
    """Numbers as ``[1, 0.5, -2]`` (any iterable or array; nested arrays flattened)."""
    flat = np.asarray(list(values) if not isinstance(values, np.ndarray) else values)
    try:
        items = flat.ravel().tolist()
    except AttributeError:  # pragma: no cover - np.asarray always has ravel
        items = list(values)
    return "[" + ", ".join(number(v, digits) for v in items) + "]"


def value_text(value: object) -> str:
    """A value as text for a message: numbers via :func:`number`, arrays via :func:`numbers`."""
    if isinstance(value, np.ndarray | list | tuple):
        try:
            return numbers(value)
        except (TypeError, ValueError):
            return repr(value)
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | float | np.number):
        return number(value)
    return repr(value)
