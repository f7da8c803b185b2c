"""The JSON sidecar of a NIfTI label map (``X.json`` beside ``X.nii`` / ``X.nii.gz``).

Kept apart from :mod:`imncohort.annotations.nifti` so that planning (which reads only
sidecars) does not import nibabel and scipy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from imncohort.errors import InputError


def nifti_stem(path: str) -> str:
    """``dir/X`` for ``dir/X.nii`` or ``dir/X.nii.gz``; the path unchanged otherwise."""
    for suffix in (".nii.gz", ".nii"):
        if path.lower().endswith(suffix):
            return path[: -len(suffix)]
    return path


def sidecar_path(path: str) -> str:
    """The sidecar JSON path of a NIfTI path (``X.json``)."""
    return nifti_stem(path) + ".json"


def read_sidecar(path: Path) -> dict[str, Any]:
    """Parse a sidecar; raise :class:`InputError` when it is missing or not an object."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read NIfTI sidecar '{Path(path).name}': {exc}") from None
    if not isinstance(data, dict) or not data.get("SeriesInstanceUID"):
        raise InputError(
            f"NIfTI sidecar '{Path(path).name}' must be an object with a SeriesInstanceUID"
        )
    return data
