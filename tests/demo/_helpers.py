"""Readers used by the demo tests (independent of the demo's own code)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def load_truth(root: Path) -> dict[str, Any]:
    """ground_truth.json of a demo export."""
    return json.loads((root / "ground_truth.json").read_text(encoding="utf-8"))


def shoelace_centroid(points_xy: np.ndarray) -> tuple[float, float]:
    """Centroid (x, y) of a closed polygon by the shoelace formula."""
    x, y = points_xy[:, 0], points_xy[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    area = cross.sum() / 2.0
    return float(((x + x1) * cross).sum() / (6 * area)), float(
        ((y + y1) * cross).sum() / (6 * area)
    )


def series_by_modality(truth: dict[str, Any], modality: str) -> list[dict[str, Any]]:
    """Series records of one modality."""
    return [s for s in truth["series"] if s["modality"] == modality]
