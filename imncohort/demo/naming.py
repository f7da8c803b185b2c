"""Deterministic identifiers of the demo export: UIDs, file names, dates.

Everything is derived from the seed and a key string, never from the clock, so the
same seed gives the same export.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np

#: Fixed first study date of the demo; all other dates are offsets from it.
BASE_DATE = dt.date(2018, 1, 2)


def demo_uid(seed: int, key: str) -> str:
    """Return a UID ``2.25.<int>`` derived from the seed and a key.

    Parameters
    ----------
    seed : int
        Demo seed.
    key : str
        Unique key of the object within the demo (e.g. ``"p3/ct/series"``).

    Returns
    -------
    str
        A valid DICOM UID of at most 44 characters.
    """
    digest = hashlib.sha256(f"imncohort-demo:{seed}:{key}".encode()).digest()
    return "2.25." + str(int.from_bytes(digest[:16], "big"))


def random_name(rng: np.random.Generator, with_extension: bool) -> str:
    """Return a PACS-like random file name, with or without ``.dcm``."""
    stem = "".join(rng.choice(list("0123456789ABCDEF"), size=12))
    return f"{stem}.dcm" if with_extension else stem


def study_date(days_after_base: int) -> str:
    """Return ``YYYYMMDD`` for the given number of days after :data:`BASE_DATE`."""
    return (BASE_DATE + dt.timedelta(days=int(days_after_base))).strftime("%Y%m%d")
