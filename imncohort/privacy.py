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
from imncohort.paths import file_stamp

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


#: Characters the patterns allow between (and around) an identifier's parts; the
#: candidate search deletes them from both the text and the identifier.
_SEPARATORS = "^_ .-"
#: What a text is folded by before the candidate search: ASCII upper case to lower case;
#: the four non-ASCII characters that ``re.IGNORECASE`` equates with an ASCII letter
#: (U+0130, U+0131 with i; U+017F with s; U+212A with k) to that letter; separators out.
_FOLD: dict[int, str | None] = {ord(c): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_FOLD.update({0x130: "i", 0x131: "i", 0x17F: "s", 0x212A: "k"})
_FOLD.update({ord(c): None for c in _SEPARATORS})
#: Length of the character runs the candidate search looks up (the shortest identifier).
_GRAM = MIN_IDENTIFIER_LENGTH


def _fold(text: str) -> str:
    return text.translate(_FOLD)


def _literal(identifier: str, kind: bool | str) -> str:
    """The characters every match of the identifier's pattern contains, in order."""
    if kind == "date":
        return identifier.strip()[:4]  # the year: in every written form of the date
    if kind:
        return "".join(p for p in re.split(r"[\^ =]+", identifier.strip()) if p)
    return identifier.strip()


def _ascii_grams(literal: str) -> list[str]:
    """The runs of :data:`_GRAM` ASCII characters of the folded ``literal``."""
    folded = _fold(literal)
    return [
        folded[i : i + _GRAM]
        for i in range(len(folded) - _GRAM + 1)
        if folded[i : i + _GRAM].isascii()
    ]


class PathScrubber:
    """Replace known identifiers in paths by pseudonymous keys (case-insensitive).

    The result is that of one ``re.sub`` over the alternation of every identifier's
    pattern (longest identifier first), but the time per text does not grow with the
    number of patients: each pattern is indexed by one run of four characters that
    every match of it contains (its rarest); a text is folded the way
    ``re.IGNORECASE`` compares ASCII letters, and only the patterns whose run occurs
    in it are tried on it. A pattern without such a run (an identifier without four
    ASCII characters in a row) is tried on every text.
    """

    def __init__(self, replacements: Iterable[tuple[str, str, bool | str]]) -> None:
        """``replacements``: (identifier, key, kind) with kind True/"name", False, or "date"."""
        self._keys: list[str] = []
        self._patterns: list[str] = []
        grams: list[list[str]] = []
        for identifier, key, kind in sorted(
            {r for r in replacements if len(r[0].strip()) >= MIN_IDENTIFIER_LENGTH},
            key=lambda r: (-len(r[0]), r[0], r[1], str(r[2])),
        ):
            pattern = _pattern(identifier, kind)
            if pattern is None:
                continue
            self._keys.append(key)
            self._patterns.append(pattern)
            grams.append(_ascii_grams(_literal(identifier, kind)))
        self._index, self._everywhere = _index_rarest(grams)
        self._compiled: dict[int, re.Pattern[str]] = {}

    def __call__(self, path: str) -> str:
        """Return ``path`` with every known identifier replaced by its key."""
        if not self._patterns or not path:
            return path
        chosen = self.candidates(path)
        return self._substitute(path, chosen) if chosen else path

    def candidates(self, text: str) -> list[int]:
        """The numbers of the patterns that may match in ``text`` (all others cannot)."""
        chosen = set(self._everywhere)
        folded = _fold(text)
        for i in range(len(folded) - _GRAM + 1):
            found = self._index.get(folded[i : i + _GRAM])
            if found is not None:
                chosen.update(found)
        return sorted(chosen)

    @property
    def patterns(self) -> list[str]:
        """Every identifier's regular expression, in the order they are tried."""
        return list(self._patterns)

    def _regex(self, number: int) -> re.Pattern[str]:
        regex = self._compiled.get(number)
        if regex is None:
            regex = self._compiled[number] = re.compile(self._patterns[number], re.IGNORECASE)
        return regex

    def _substitute(self, text: str, candidates: list[int]) -> str:
        """``re.sub`` of the alternation of ``candidates`` (in order), one pattern at a time.

        At the leftmost place where any candidate matches, the first candidate (in
        order) that matches there is replaced, and the search goes on after its match:
        what the alternation does, without compiling one.
        """
        pieces: list[str] = []
        pos = 0
        following = {n: self._regex(n).search(text) for n in candidates}
        while True:
            live = [(m.start(), n) for n, m in following.items() if m is not None]
            if not live:
                break
            start, number = min(live)
            match = following[number]
            assert match is not None
            pieces += [text[pos:start], self._keys[number]]
            pos = match.end()  # > start: no pattern matches the empty text (_pattern)
            for n, m in following.items():
                if m is not None and m.start() < pos:
                    following[n] = self._regex(n).search(text, pos)
        pieces.append(text[pos:])
        return "".join(pieces)

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
        if not self._patterns:
            return frame
        frame = frame.copy()
        for column in columns:
            if column in frame.columns:
                frame[column] = frame[column].astype(str).map(self)
        return frame


def _pattern(identifier: str, kind: bool | str) -> str | None:
    """The regular expression of one identifier (None: not one to look for)."""
    if kind == "date":
        if not re.fullmatch(r"\d{8}", identifier.strip()):
            return None
        return _date_pattern(identifier.strip())
    if kind:
        if not re.sub(r"[\^ =]+", "", identifier):
            return None  # only separators: nothing of a name to find
        return _name_pattern(identifier)
    return re.escape(identifier.strip())


def _index_rarest(grams: list[list[str]]) -> tuple[dict[str, list[int]], list[int]]:
    """Index each pattern by its rarest run; return (run -> patterns, patterns without)."""
    counts: dict[str, int] = {}
    for runs in grams:
        for run in set(runs):
            counts[run] = counts.get(run, 0) + 1
    index: dict[str, list[int]] = {}
    everywhere: list[int] = []
    for number, runs in enumerate(grams):
        if not runs:
            everywhere.append(number)
            continue
        rarest = min(runs, key=lambda run: counts[run])
        index.setdefault(rarest, []).append(number)
    return index, everywhere


@functools.lru_cache(maxsize=4)
def _scrubber(out: str, stamp: tuple[int, int, int]) -> PathScrubber:
    return PathScrubber.from_out(Path(out))


def scrubber_for(out: Path | str) -> PathScrubber:
    """:meth:`PathScrubber.from_out`, read again only when the identity table changed.

    The table is told apart by its inode, size and modification time (it is replaced,
    never edited in place).
    """
    stamp = file_stamp(OutLayout(out).identities_parquet) or (0, 0, 0)
    return _scrubber(str(Path(out).resolve()), stamp)
