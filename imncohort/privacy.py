"""Keep identifiers out of the outputs outside ``OUT/restricted``.

PACS exports often name folders after the patient ("DOE^JOHN/", "12345678/"). Paths
written to research-facing outputs (``errors.csv``, ``mentions.parquet``,
``reports.parquet``) pass through :class:`PathScrubber`, which replaces every known
patient ID, patient name and accession number (read from the restricted identity
table the index writes) by the matching pseudonymous key. The index tables keep the
raw paths (later stages open files by them), so they live under ``OUT/restricted/index/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

IDENTITIES = Path("restricted") / "identities.parquet"
MIN_IDENTIFIER_LENGTH = 4


def _name_pattern(name: str) -> str:
    # DICOM person names use "^" between components; folders use "^", "_", " ", "." or "-".
    parts = [re.escape(p) for p in re.split(r"[\^ ]+", name.strip()) if p]
    return r"[\^_ .\-]*".join(parts)


class PathScrubber:
    """Replace known identifiers in paths by pseudonymous keys (case-insensitive)."""

    def __init__(self, replacements: Iterable[tuple[str, str, bool]]) -> None:
        """``replacements``: (identifier, key, is_person_name) triples."""
        self._keys: dict[str, str] = {}
        patterns: list[str] = []
        for identifier, key, is_name in sorted(
            {r for r in replacements if len(r[0].strip()) >= MIN_IDENTIFIER_LENGTH},
            key=lambda r: -len(r[0]),
        ):
            pattern = _name_pattern(identifier) if is_name else re.escape(identifier.strip())
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
        path = Path(out) / IDENTITIES
        if not path.exists():
            return cls([])
        table = pd.read_parquet(path).fillna("")
        triples: list[tuple[str, str, bool]] = []
        for row in table.itertuples(index=False):
            triples.append((str(row.PatientID), str(row.patient_key), False))
            triples.append((str(row.PatientName), str(row.patient_key), True))
            triples.append((str(row.AccessionNumber), str(row.study_key), False))
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
