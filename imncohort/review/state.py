"""The restricted review state: items ever listed, kept decisions, last outcomes (file io).

``OUT/restricted/review/state.json`` (0600) is what makes decisions survive a re-run, a
re-index or a new export: the returned files are read again on every run, and whatever
they no longer hold is kept from here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from imncohort.errors import InputError
from imncohort.layout import OutLayout
from imncohort.outputs import write_json
from imncohort.review.model import Decision

STATE_VERSION = 1


@dataclass
class ReviewState:
    """Items ever listed (id -> first_seen, patient_key), kept decisions, last outcomes."""

    items: dict[str, dict[str, str]] = field(default_factory=dict)
    decisions: dict[tuple[str, str], Decision] = field(default_factory=dict)
    patients: dict[str, str] = field(default_factory=dict)
    written: dict[str, str] = field(default_factory=dict)


def state_path(out: Path) -> Path:
    """Return ``OUT/restricted/review/state.json``."""
    return OutLayout(out).review_state_json


def read_state(out: Path) -> ReviewState:
    """Read the review state (empty when there is none yet).

    Raises
    ------
    InputError
        When the file exists but is not a review state (it is never overwritten then).
    """
    path = state_path(out)
    if not path.exists():
        return ReviewState()
    try:
        data: dict[str, Any] = json.loads(path.read_text("utf-8"))
        decisions = [Decision(**d) for d in data.get("decisions", [])]
        return ReviewState(
            items={str(k): dict(v) for k, v in data.get("items", {}).items()},
            decisions={(d.item_id, d.slot): d for d in decisions},
            patients={str(k): str(v) for k, v in data.get("patients", {}).items()},
            written={str(k): str(v) for k, v in data.get("written", {}).items()},
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise InputError(
            f"'{path}' is not a review state file ({exc}); restore it from a backup or move "
            "it away (decisions are then read again from the returned files only)"
        ) from None


def write_state(out: Path, state: ReviewState) -> Path:
    """Write the review state atomically (sorted, so equal states give equal files)."""
    data = {
        "version": STATE_VERSION,
        "items": state.items,
        "decisions": [asdict(state.decisions[k]) for k in sorted(state.decisions)],
        "patients": state.patients,
        "written": state.written,
    }
    return write_json(data, state_path(out))


def kept_review_status(out: Path) -> dict[str, str]:
    """Return the patients' ``review_status`` of the last review step (``{}`` if none).

    The reports and measure stages write ``cohort.csv`` with these; the review step
    recomputes them after reading the returned files.
    """
    try:
        return read_state(out).patients
    except InputError:  # a damaged state is reported by the review step itself
        return {}
