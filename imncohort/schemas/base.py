"""Typed table schemas: columns with their dtype and CSV rounding, one reader and writer.

A :class:`TableSchema` is the one definition of a table that crosses a stage boundary.
Machine-to-machine exchange goes through its Parquet file (typed at write time); the CSV
is the human-facing copy, written with each float column rounded to its ``decimals``.
Readers of a missing or empty table return the columns with their dtypes and no row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from imncohort.errors import InputError
from imncohort.outputs import SPREADSHEET_ENCODING, atomic_path, write_parquet

#: Column kinds and their pandas dtype (``list`` holds Python lists: Parquet only).
KIND_DTYPES = {
    "str": "object",
    "float": "float64",
    "int": "int64",
    "Int64": "Int64",
    "bool": "bool",
    "boolean": "boolean",
    "list": "object",
}

#: Text read as True / False (case-insensitive); anything else is unknown.
TRUE_TEXT = frozenset({"true", "1", "yes", "y", "t"})
FALSE_TEXT = frozenset({"false", "0", "no", "n", "f"})


def parse_bool(value: object) -> bool | None:
    """``True`` / ``False`` of a bool or its text (``"True"``, ``"1"``, ``"yes"``), else None."""
    if isinstance(value, bool):
        return value
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, int | float | np.number) and not isinstance(value, np.bool_):
        return bool(value)
    text = str(value).strip().lower()
    if text in TRUE_TEXT:
        return True
    if text in FALSE_TEXT:
        return False
    return None


def as_bool(values: pd.Series) -> pd.Series:
    """A bool column from bools or their text; unknown and missing become False."""
    if values.dtype == bool:
        return values
    return pd.Series(
        [parse_bool(v) is True for v in values], index=values.index, dtype=bool, name=values.name
    )


def as_boolean(values: pd.Series) -> pd.Series:
    """A nullable ``boolean`` column from bools or their text (unknown and missing: NA)."""
    if str(values.dtype) == "boolean":
        return values
    return pd.Series(
        [parse_bool(v) for v in values], index=values.index, dtype="boolean", name=values.name
    )


def as_optional_bool(values: pd.Series) -> pd.Series:
    """True / False, or None when empty or unknown (object dtype)."""
    return pd.Series(
        [parse_bool(v) for v in values], index=values.index, dtype=object, name=values.name
    )


def as_text(values: pd.Series) -> pd.Series:
    """A text column: missing values become ``""``, others ``str``."""
    return pd.Series(
        [
            "" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v)
            for v in values
        ],
        index=values.index,
        dtype=object,
        name=values.name,
    )


def _cast(values: pd.Series, kind: str) -> pd.Series:
    if kind == "str":
        return as_text(values)
    if kind == "float":
        return pd.to_numeric(values, errors="coerce").astype("float64")
    if kind == "int":
        return pd.to_numeric(values, errors="coerce").fillna(0).astype("int64")
    if kind == "Int64":
        return pd.to_numeric(values, errors="coerce").astype("Int64")
    if kind == "bool":
        return as_bool(values)
    if kind == "boolean":
        return as_boolean(values)
    return values


@dataclass(frozen=True)
class Column:
    """One column: ``name``, ``kind`` (a key of :data:`KIND_DTYPES`), CSV ``decimals``."""

    name: str
    kind: str = "str"
    decimals: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KIND_DTYPES:
            raise ValueError(
                f'Argument "kind" of column {self.name!r} must be one of '
                f"{', '.join(KIND_DTYPES)}, got {self.kind!r}"
            )


def columns(kind: str, names: Iterable[str], decimals: int | None = None) -> tuple[Column, ...]:
    """Several columns of one ``kind`` (and CSV rounding)."""
    return tuple(Column(n, kind, decimals) for n in names)


@dataclass(frozen=True)
class TableSchema:
    """A table's columns in file order, with dtypes, CSV rounding, reader and writer."""

    name: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        """The column names in file order."""
        return [c.name for c in self.columns]

    @property
    def dtypes(self) -> dict[str, str]:
        """``column -> pandas dtype``."""
        return {c.name: KIND_DTYPES[c.kind] for c in self.columns}

    def column(self, name: str) -> Column:
        """The column called ``name`` (KeyError when the schema has none)."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    def empty(self) -> pd.DataFrame:
        """No row, every column with its dtype."""
        return pd.DataFrame({c.name: pd.Series(dtype=KIND_DTYPES[c.kind]) for c in self.columns})

    def typed(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with every schema column (added when missing) in its dtype.

        The schema's columns come first, in file order; other columns follow as they are.
        """
        frame = frame.reset_index(drop=True)
        data = {}
        for column in self.columns:
            if column.name in frame.columns:
                values = frame[column.name]
            else:
                values = pd.Series([None] * len(frame), dtype=object)
            data[column.name] = _cast(values, column.kind)
        extra = [c for c in frame.columns if c not in data]
        typed = pd.DataFrame(data, index=frame.index)
        for name in extra:
            typed[name] = frame[name]
        return typed

    def rounded(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with each float column rounded to its ``decimals`` (for the CSV)."""
        frame = frame.copy()
        for column in self.columns:
            if column.decimals is not None and column.name in frame.columns:
                values = pd.to_numeric(frame[column.name], errors="coerce")
                frame[column.name] = values.astype("float64").round(column.decimals)
        return frame

    # ------------------------------------------------------------------ writers
    def write_parquet(self, frame: pd.DataFrame, target: Path) -> Path:
        """Write ``frame`` typed by the schema as Parquet, atomically."""
        return write_parquet(self.typed(frame), Path(target))

    def write_csv(self, frame: pd.DataFrame, target: Path, spreadsheet: bool = False) -> Path:
        """Write the human-facing CSV (typed, floats rounded), atomically.

        With ``spreadsheet=True`` the file is UTF-8 with a byte-order mark (Excel).
        """
        encoding = SPREADSHEET_ENCODING if spreadsheet else "utf-8"
        shown = self.rounded(self.typed(frame))
        with atomic_path(Path(target)) as tmp:
            shown.to_csv(tmp, index=False, encoding=encoding)
        return Path(target)

    # ------------------------------------------------------------------ readers
    def read_parquet(self, path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Read the Parquet table (typed when written); the empty table when missing.

        Columns the file lacks (written by an older version) are added empty.

        Raises
        ------
        InputError
            When the file exists but is not a readable Parquet table.
        """
        path = Path(path)
        wanted = list(columns) if columns is not None else None
        if not path.exists():
            empty = self.empty()
            return empty[wanted] if wanted is not None else empty
        try:
            frame = pd.read_parquet(path, columns=self._present(path, wanted))
        except (OSError, ValueError) as exc:
            raise InputError(
                f"cannot read '{path.name}': {exc}; re-run the stage that writes it"
            ) from None
        for column in wanted if wanted is not None else self.names:
            if column not in frame.columns:
                frame[column] = self.empty()[column].reindex(range(len(frame)))
        return frame

    def _present(self, path: Path, wanted: list[str] | None) -> list[str] | None:
        if wanted is None:
            return None
        import pyarrow.parquet as pq

        names = set(pq.read_schema(path).names)
        return [c for c in wanted if c in names]

    def read_csv(self, path: Path) -> pd.DataFrame:
        """Read the CSV copy typed by the schema; the empty table when missing or empty.

        Raises
        ------
        InputError
            When the file exists but is not a readable CSV.
        """
        path = Path(path)
        if not path.exists() or path.stat().st_size == 0:
            return self.empty()
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except pd.errors.EmptyDataError:
            return self.empty()
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise InputError(
                f"cannot read '{path.name}': {exc}; re-run the stage that writes it"
            ) from None
        return self.typed(frame)

    def read(self, parquet: Path, csv: Path) -> pd.DataFrame:
        """The typed table: from ``parquet`` when it exists, else from its ``csv`` copy.

        The CSV is read when only it exists (an OUT of a version before the Parquet copy,
        or a table written by hand).
        """
        if Path(parquet).exists():
            return self.typed(self.read_parquet(parquet))
        return self.read_csv(csv)

    def write(
        self, frame: pd.DataFrame, parquet: Path, csv: Path, spreadsheet: bool = False
    ) -> Path:
        """Write the Parquet table and its rounded CSV copy; return the CSV's path."""
        self.write_parquet(frame, parquet)
        return self.write_csv(frame, csv, spreadsheet=spreadsheet)
