"""The cohort: report candidates and annotation-confirmed patients (``cohort.csv``).

Rules (docs/ARCHITECTURE.md):

- *candidate*: any affirmed or uncertain mention (``historical``, ``hypothetical``,
  ``negated`` and ``family`` never make one);
- *confirmed*: any node with ``metastatic == True`` (in ``nodes.csv``);
- ``found_by_reports``: confirmed and had an affirmed or uncertain mention
  (False for confirmed patients without, and for candidates);
- a candidate that is confirmed appears once, as confirmed;
- ``first_mention_date``: earliest study date (YYYYMMDD) of an affirmed or
  uncertain mention; ``modalities``: ``;``-joined sorted modalities of those
  mentions; ``n_affirmed``: number of affirmed mentions.
"""

from __future__ import annotations

import pandas as pd

from imncohort.schemas.base import as_bool
from imncohort.schemas.cohort import COHORT_COLUMNS

POSITIVE = ("affirmed", "uncertain")
#: Sections whose mentions never detect an IMN (CONTRACT section 3a).
NON_DETECTING_SECTIONS = ("history", "indication")


def detecting(mentions: pd.DataFrame) -> pd.Series:
    """Return a mask of the mentions that *detect* an IMN (CONTRACT section 3a).

    A mention detects when it is ``affirmed`` and outside the HISTORY and
    INDICATION sections (``section`` column; missing means no section).
    ``uncertain``, ``historical``, ``hypothetical``, ``negated`` and ``family``
    mentions never detect.
    """
    affirmed = mentions["assertion"].astype(str).str.lower() == "affirmed"
    if "section" not in mentions.columns:
        return affirmed
    section = mentions["section"].fillna("").astype(str).str.lower()
    return affirmed & ~section.isin(NON_DETECTING_SECTIONS)


def build_cohort(mentions: pd.DataFrame, nodes: pd.DataFrame | None) -> pd.DataFrame:
    """Return ``cohort.csv`` rows: one per candidate or confirmed patient, by ``patient_key``.

    Parameters
    ----------
    mentions
        ``mentions.parquet`` (needs ``patient_key, assertion, study_date, modality``).
    nodes
        ``nodes.csv`` (needs ``patient_key, metastatic``), or None before the
        measure stage has run (then no patient is confirmed).
    """
    for column in ("patient_key", "assertion", "study_date", "modality"):
        if column not in mentions.columns:
            raise ValueError(f'Argument "mentions" lacks the column {column!r}')
    keyed = mentions[mentions["patient_key"].astype(str) != ""]
    positive = keyed[keyed["assertion"].isin(POSITIVE)]
    candidates = set(positive["patient_key"].astype(str))
    confirmed: set[str] = set()
    if nodes is not None and len(nodes):
        for column in ("patient_key", "metastatic"):
            if column not in nodes.columns:
                raise ValueError(f'Argument "nodes" lacks the column {column!r}')
        flags = as_bool(nodes["metastatic"])
        confirmed = {str(k) for k in nodes.loc[flags.astype(bool), "patient_key"] if str(k)}
    groups = {str(k): g for k, g in positive.groupby(positive["patient_key"].astype(str))}
    empty = positive.iloc[0:0]
    rows = []
    for key in sorted(candidates | confirmed):
        mine = groups.get(key, empty)
        dates = sorted(d for d in mine["study_date"].astype(str) if d and d != "nan")
        modalities = sorted({m for m in mine["modality"].astype(str) if m and m != "nan"})
        is_confirmed = key in confirmed
        rows.append(
            {
                "patient_key": key,
                "status": "confirmed" if is_confirmed else "candidate",
                "found_by_reports": bool(is_confirmed and key in candidates),
                "first_mention_date": dates[0] if dates else "",
                "modalities": ";".join(modalities),
                "n_affirmed": int((mine["assertion"] == "affirmed").sum()),
            }
        )
    frame = pd.DataFrame(rows, columns=COHORT_COLUMNS)
    return frame.astype({"found_by_reports": bool, "n_affirmed": "int64"})
