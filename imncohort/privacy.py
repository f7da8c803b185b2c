"""Keep identifiers out of the outputs outside ``OUT/restricted``.

PACS exports often name folders after the patient ("DOE^JOHN/", "12345678/"). Paths
written to research-facing outputs (``errors.csv``, ``mentions.parquet``,
``reports.parquet``) pass through :class:`PathScrubber`, which replaces every known
patient ID, patient name and accession number (read from the restricted identity
table the index writes) by the matching pseudonymous key. The index tables keep the
raw paths (later stages open files by them), so they live under ``OUT/restricted/index/``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from imncohort.layout import OutLayout

MIN_IDENTIFIER_LENGTH = 4


def _name_pattern(name: str) -> str:
    # DICOM person names use "^" between components; folders use "^", "_", " ", "." or "-".
    # Empty trailing components leave "^" at the end ("SIMPSON^HOMER^J^"): taken along.
    parts = [re.escape(p) for p in re.split(r"[\^ =]+", name.strip()) if p]
    return r"[\^_ .\-]*".join(parts) + r"\^*"


def _date_pattern(date: str) -> str:
    """A DICOM date ``YYYYMMDD`` as folders write it: 19510829, 1951-08-29, 29.08.1951, ..."""
    y, m, d = date[:4], date[4:6], date[6:8]
    sep = r"[-._ ]?"
    forms = [f"{y}{sep}{m}{sep}{d}", f"{d}{sep}{m}{sep}{y}", f"{m}{sep}{d}{sep}{y}"]
    return r"(?<!\d)(?:" + "|".join(forms) + r")(?!\d)"


_CODE = re.compile(r"[A-Za-z0-9 _\-]{0,16}")
_DATE = re.compile(r"\d{8}")


def public_code(value: object) -> str:
    """A code (modality, source) fit for a public table, else ``""``: never raw header text."""
    text = "" if value is None else str(value)
    return text if _CODE.fullmatch(text) else ""


def public_date(value: object) -> str:
    """A ``YYYYMMDD`` date fit for a public table, else ``""``."""
    text = "" if value is None else str(value)
    return text if _DATE.fullmatch(text) else ""


class PathScrubber:
    """Replace known identifiers in paths by pseudonymous keys (case-insensitive)."""

    def __init__(self, replacements: Iterable[tuple[str, str, bool | str]]) -> None:
        """``replacements``: (identifier, key, kind) with kind True/"name", False, or "date"."""
        self._keys: dict[str, str] = {}
        patterns: list[str] = []
        for identifier, key, is_name in sorted(
            {r for r in replacements if len(r[0].strip()) >= MIN_IDENTIFIER_LENGTH},
            key=lambda r: -len(r[0]),
        ):
            if is_name == "date":
                if not re.fullmatch(r"\d{8}", identifier.strip()):
                    continue
                pattern = _date_pattern(identifier.strip())
            elif is_name:
                pattern = _name_pattern(identifier)
            else:
                pattern = re.escape(identifier.strip())
            group = f"g{len(patterns)}"
            self._keys[group] = key
            patterns.append(f"(?P<{group}>{pattern})")
        self._regex = re.compile("|".join(patterns), re.IGNORECASE) if patterns else None

    def __call__(self, path: str) -> str:
        """Return ``path`` with every known identifier replaced by its key."""
        if self._regex is None or not path:
            return path
        return self._regex.sub(lambda m: self._keys[str(m.lastgroup)], path)

    @classmethod
    def from_out(cls, out: Path) -> PathScrubber:
        """Build the scrubber from ``OUT/restricted/identities.parquet`` (empty if absent)."""
        from imncohort.schemas.index import read_identities

        layout = OutLayout(out)
        if not layout.identities_parquet.exists():
            return cls([])
        table = read_identities(layout).fillna("")
        triples: list[tuple[str, str, bool | str]] = []
        for row in table.itertuples(index=False):
            triples.append((str(row.PatientID), str(row.patient_key), False))
            triples.append((str(row.PatientName), str(row.patient_key), True))
            triples.append((str(row.AccessionNumber), str(row.study_key), False))
            triples.append((str(row.PatientBirthDate), str(row.patient_key), "date"))
        return cls(triples)

    def frame(self, frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
        """Return ``frame`` with the given path columns scrubbed."""
        if self._regex is None:
            return frame
        frame = frame.copy()
        for column in columns:
            if column in frame.columns:
                frame[column] = frame[column].astype(str).map(self)
        return frame


@functools.lru_cache(maxsize=4)
def _scrubber(out: str, stamp: int) -> PathScrubber:
    return PathScrubber.from_out(Path(out))


def scrubber_for(out: Path | str) -> PathScrubber:
    """:meth:`PathScrubber.from_out`, read again only when the identity table changed."""
    try:
        stamp = OutLayout(out).identities_parquet.stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _scrubber(str(out), stamp)
