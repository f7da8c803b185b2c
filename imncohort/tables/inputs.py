"""Reading what earlier stages wrote in OUT: nodes, mentions, cohort, clinical, errors, run.json.

Every reader returns a DataFrame with at least the documented columns (see
``docs/ARCHITECTURE.md``), empty when the file is missing or has no rows, so
the table functions never need to know whether a stage ran.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imncohort.config import Config
from imncohort.errors import InputError
from imncohort.keys import pseudonym
from imncohort.layout import OutLayout
from imncohort.schemas import cohort as cohort_schema
from imncohort.schemas import errors as errors_schema
from imncohort.schemas import mentions as mentions_schema
from imncohort.schemas import nodes as nodes_schema
from imncohort.schemas.base import TableSchema, as_bool, as_optional_bool
from imncohort.schemas.index import read_index_table

logger = logging.getLogger(__name__)

CLINICAL_COLUMNS = ["PatientID", "group", "ER", "PR", "HER2", "T", "N", "M"]
CLINICAL_VARIABLES = ["ER", "PR", "HER2", "T", "N", "M"]
#: Optional clinical columns (yes / no) of the seed's Table 2 rows.
CLINICAL_TABLE2 = ["ALN_I", "ALN_II", "ALN_III", "SCN", "local_recurrence"]
UNKNOWN = "unknown"


def _with_columns(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    for column in columns:
        if column not in frame.columns:
            frame[column] = pd.Series(dtype=object)
    return frame


def normalise_nodes(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` typed by the node schema, in the form the tables use.

    Offsets, extents, axes and volumes are float (NaN when absent), ``metastatic``
    and ``towards_sternum`` bool, ``over_sternum`` and ``sternal_invasion`` True /
    False / None, keys and text columns str, ``study_date`` ``YYYYMMDD`` text.
    """
    frame = frame.copy()
    for column, text in (("study_date", _date_text), ("intercostal_spaces", _spaces_text)):
        if column in frame.columns:
            frame[column] = frame[column].map(text)
    frame = nodes_schema.NODES.typed(frame)
    frame["towards_sternum"] = as_bool(frame["towards_sternum"])
    for column in ("over_sternum", "sternal_invasion"):
        frame[column] = as_optional_bool(frame[column])
    return frame.reset_index(drop=True)


def _date_text(value: object) -> str:
    """A study date as ``YYYYMMDD`` text (pandas reads 20180101 as a number)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (int, np.integer)) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    return str(value).strip()


def _spaces_text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_spaces(text: str) -> frozenset[int]:
    """Return the intercostal spaces of ``"1;2"`` as integers (empty for ``""``)."""
    spaces: set[int] = set()
    for part in str(text).replace(",", ";").split(";"):
        part = part.strip()
        if part:
            try:
                spaces.add(int(float(part)))
            except ValueError:
                logger.warning("ignoring intercostal space %r", part)
    return frozenset(spaces)


def _stripped(frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """``frame`` typed by ``schema`` with its text columns stripped."""
    frame = schema.typed(frame)
    for column in schema.columns:
        if column.kind == "str":
            frame[column.name] = frame[column.name].str.strip()
    return frame


def normalise_mentions(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` typed as ``mentions.parquet``, text stripped, modality upper-cased."""
    frame = _stripped(frame, mentions_schema.MENTIONS)
    frame["modality"] = frame["modality"].str.upper()
    frame["assertion"] = frame["assertion"].str.lower()
    return frame


def normalise_reports(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a report list typed as ``reports.parquet``, text stripped, modality upper-cased."""
    frame = _stripped(frame, mentions_schema.REPORTS)
    frame["modality"] = frame["modality"].str.upper()
    return frame


def normalise_cohort(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` typed as the cohort, ``status`` stripped and lower-cased."""
    frame = cohort_schema.COHORT.typed(frame)
    frame["status"] = frame["status"].str.strip().str.lower()
    return frame


def read_nodes(out: Path) -> pd.DataFrame:
    """Read the node table (``nodes.parquet``, else ``nodes.csv``; empty when missing)."""
    return normalise_nodes(nodes_schema.read_nodes(OutLayout(out)))


def read_study_dates(out: Path) -> dict[str, str]:
    """``study_key -> study_date`` (``YYYYMMDD`` or "") from the index's ``studies.parquet``."""
    try:
        studies = read_index_table(
            OutLayout(out), "studies", ["study_key", "study_date"], required=False
        )
    except InputError as exc:
        logger.warning("study dates unreadable (%s); the study selection uses none", exc)
        return {}
    dates = studies["study_date"].fillna("").astype(str)
    return dict(zip(studies["study_key"].astype(str), dates, strict=True))


def read_mentions(out: Path) -> pd.DataFrame:
    """Read ``OUT/mentions.parquet`` (empty, with the columns, when missing)."""
    return normalise_mentions(mentions_schema.read_mentions(OutLayout(out)))


def read_reports(out: Path) -> pd.DataFrame | None:
    """Read ``OUT/reports.parquet`` (one row per report) when a stage wrote it, else None."""
    reports = mentions_schema.read_reports(OutLayout(out))
    return None if reports is None else normalise_reports(reports)


def read_cohort(out: Path) -> pd.DataFrame:
    """Read the cohort (``cohort.parquet``, else ``cohort.csv``; empty when missing)."""
    return normalise_cohort(cohort_schema.read_cohort(OutLayout(out)))


def read_errors(out: Path) -> pd.DataFrame:
    """Read ``OUT/errors.csv`` (path, stage, reason; empty when missing)."""
    return errors_schema.read_errors(OutLayout(out))


def read_run_json(out: Path) -> dict[str, Any] | None:
    """Return the content of ``OUT/run.json`` when present and readable, else None."""
    path = OutLayout(out).run_json
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable run.json (%s)", exc)
        return None
    return data if isinstance(data, dict) else None


def read_clinical(path: Path) -> pd.DataFrame:
    """Read a clinical table (``PatientID, group, ER, PR, HER2, T, N, M``) as strings.

    Raises
    ------
    InputError
        When the file cannot be read or lacks ``PatientID``.
    """
    path = Path(path)
    try:
        if path.suffix.lower() in (".xlsx", ".xls"):
            frame = pd.read_excel(path, dtype=str)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(
            f"cannot read clinical table '{path.name}': {exc}; save it as UTF-8 CSV"
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    lookup = {_column_key(c): c for c in frame.columns}
    renamed = {
        lookup[_column_key(c)]: c
        for c in CLINICAL_COLUMNS + CLINICAL_TABLE2
        if _column_key(c) in lookup
    }
    frame = frame.rename(columns=renamed)
    if "PatientID" not in frame.columns:
        raise InputError(
            f"clinical table '{path.name}' has no 'PatientID' column (columns: "
            f"{', '.join(map(str, frame.columns))}); expected {', '.join(CLINICAL_COLUMNS)}"
        )
    optional = [c for c in CLINICAL_TABLE2 if c in frame.columns]
    return _with_columns(frame, CLINICAL_COLUMNS)[CLINICAL_COLUMNS + optional].fillna("")


def _column_key(name: str) -> str:
    """Column names compared case-insensitively, spaces and hyphens as underscores."""
    return str(name).strip().lower().replace(" ", "_").replace("-", "_")


def pseudonymise_clinical(clinical: pd.DataFrame, secret: bytes) -> pd.DataFrame:
    """Replace ``PatientID`` by ``patient_key`` and normalise the values.

    ``group`` becomes ``initial`` / ``recurrence`` / ``unknown``; ER, PR and HER2
    become ``positive`` / ``negative`` / ``unknown``; T, N, M keep their stage
    label (``T1``, ``N3``, ``M0``...) with empty values as ``unknown``. A
    PatientID listed twice keeps its first row. The optional Table 2 columns
    (``ALN_I ... local_recurrence``), when present, become ``yes`` / ``no`` /
    ``unknown``.
    """
    optional = [c for c in CLINICAL_TABLE2 if c in clinical.columns]
    rows = []
    seen: set[str] = set()
    for record in clinical.to_dict("records"):
        pid = str(record.get("PatientID", "")).strip()
        if not pid:
            continue
        key = pseudonym(secret, pid)
        if key in seen:
            logger.warning("clinical table lists patient %s twice; the first row is used", key)
            continue
        seen.add(key)
        row = {"patient_key": key, "group": normalise_group(record.get("group", ""))}
        for variable in CLINICAL_VARIABLES:
            row[variable] = normalise_level(variable, record.get(variable, ""))
        for column in optional:
            row[column] = normalise_yes_no(record.get(column, ""))
        rows.append(row)
    return pd.DataFrame(rows, columns=["patient_key", "group", *CLINICAL_VARIABLES, *optional])


_YES = {"yes", "y", "1", "true", "positive", "pos", "+"}
_NO = {"no", "n", "0", "false", "negative", "neg", "-"}


def normalise_yes_no(value: object) -> str:
    """Map a Table 2 value (ALN, SCN, local recurrence) to ``yes``, ``no`` or ``unknown``."""
    text = str(value).strip().lower()
    if text in _YES:
        return "yes"
    if text in _NO:
        return "no"
    return UNKNOWN


def normalise_group(value: object) -> str:
    """Map a clinical ``group`` value to ``initial``, ``recurrence`` or ``unknown``."""
    text = str(value).strip().lower()
    if text.startswith("init") or text in ("primary", "de novo"):
        return "initial"
    if text.startswith("recur") or text in ("relapse", "recurrent"):
        return "recurrence"
    return UNKNOWN


_RECEPTOR = {
    "positive": "positive",
    "pos": "positive",
    "+": "positive",
    "1": "positive",
    "yes": "positive",
    "negative": "negative",
    "neg": "negative",
    "-": "negative",
    "0": "negative",
    "no": "negative",
}
_MISSING = {"", "unknown", "na", "n/a", "nan", "none", "?", "missing", "unk"}


def normalise_level(variable: str, value: object) -> str:
    """Normalise one clinical value of ``variable`` (ER, PR, HER2, T, N or M)."""
    text = str(value).strip()
    if text.lower() in _MISSING:
        return UNKNOWN
    if variable in ("ER", "PR", "HER2"):
        return _RECEPTOR.get(text.lower(), UNKNOWN)
    prefix = variable
    body = text[1:] if text[:1].upper() == prefix else text
    body = body.strip()
    if not body:
        return UNKNOWN
    return prefix + (body if body[0].isdigit() else body.lower())


def find_clinical_table(export: Path, config: Config) -> Path | None:
    """Return ``config.clinical.path`` or the first ``config.clinical.glob`` match in the export.

    A relative ``clinical.path`` is taken relative to the export. Matches are
    searched recursively and sorted, so the choice is stable.
    """
    if config.clinical.path is not None:
        path = Path(config.clinical.path)
        return path if path.is_absolute() else Path(export) / path
    export = Path(export)
    if not export.is_dir():
        return None
    matches = sorted(p for p in export.rglob(config.clinical.glob) if p.is_file())
    return matches[0] if matches else None
