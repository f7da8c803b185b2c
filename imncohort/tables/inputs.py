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
from imncohort.layout import index_table
from imncohort.measure.columns import NODE_COLUMNS

logger = logging.getLogger(__name__)

# nodes.csv is defined once, by the stage that writes it.
NODE_FLOAT_COLUMNS = [
    "center_ml_mm",
    "center_dv_mm",
    "extent_medial_mm",
    "extent_lateral_mm",
    "extent_ventral_mm",
    "extent_dorsal_mm",
    "long_axis_mm",
    "short_axis_mm",
    "volume_ml",
]
MENTION_COLUMNS = ["patient_key", "study_key", "modality", "assertion", "report_id"]
COHORT_COLUMNS = [
    "patient_key",
    "status",
    "found_by_reports",
    "first_mention_date",
    "modalities",
    "n_affirmed",
]
REPORT_COLUMNS = ["patient_key", "study_key", "modality", "report_id"]
CLINICAL_COLUMNS = ["PatientID", "group", "ER", "PR", "HER2", "T", "N", "M"]
CLINICAL_VARIABLES = ["ER", "PR", "HER2", "T", "N", "M"]
#: Optional clinical columns (yes / no) of the seed's Table 2 rows.
CLINICAL_TABLE2 = ["ALN_I", "ALN_II", "ALN_III", "SCN", "local_recurrence"]
UNKNOWN = "unknown"

_TRUE = {"true", "1", "yes", "y", "t"}


def _as_bool(values: pd.Series) -> pd.Series:
    if values.dtype == bool:
        return values
    return values.map(lambda v: str(v).strip().lower() in _TRUE).astype(bool)


_FALSE = {"false", "0", "no", "n", "f"}


def _as_optional_bool(values: pd.Series) -> pd.Series:
    """True / False, or None when empty or unknown (object dtype)."""

    def one(value: Any) -> bool | None:
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return None

    return pd.Series([one(v) for v in values], index=values.index, dtype=object)


def _with_columns(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    for column in columns:
        if column not in frame.columns:
            frame[column] = pd.Series(dtype=object)
    return frame


def normalise_nodes(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with the node columns the tables use, typed.

    Offsets, extents, axes and volumes become float (NaN when absent),
    ``metastatic`` and ``towards_sternum`` bool, keys and text columns str.
    """
    frame = _with_columns(frame, NODE_COLUMNS)
    for column in NODE_FLOAT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["metastatic"] = _as_bool(frame["metastatic"])
    frame["towards_sternum"] = _as_bool(frame["towards_sternum"])
    for column in ("patient_key", "study_key", "roi_name", "side", "quadrant"):
        frame[column] = frame[column].fillna("").astype(str)
    frame["study_date"] = frame["study_date"].map(_date_text)
    for column in ("over_sternum", "sternal_invasion"):
        frame[column] = _as_optional_bool(frame[column])
    frame["intercostal_spaces"] = frame["intercostal_spaces"].map(_spaces_text)
    return frame.reset_index(drop=True)


def _date_text(value: Any) -> str:
    """A study date as ``YYYYMMDD`` text (pandas reads 20180101 as a number)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (int, np.integer)) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    return str(value).strip()


def _spaces_text(value: Any) -> str:
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


def normalise_mentions(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with the mention columns the tables use, as stripped strings."""
    frame = _with_columns(frame, MENTION_COLUMNS)
    for column in MENTION_COLUMNS:
        frame[column] = frame[column].fillna("").astype(str).str.strip()
    frame["modality"] = frame["modality"].str.upper()
    frame["assertion"] = frame["assertion"].str.lower()
    return frame.reset_index(drop=True)


def normalise_reports(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a report list (patient_key, study_key, modality, report_id) as strings."""
    frame = _with_columns(frame, REPORT_COLUMNS)
    for column in REPORT_COLUMNS:
        frame[column] = frame[column].fillna("").astype(str).str.strip()
    frame["modality"] = frame["modality"].str.upper()
    return frame.reset_index(drop=True)


def normalise_cohort(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with the cohort columns, ``status`` lower-cased."""
    frame = _with_columns(frame, COHORT_COLUMNS)
    frame["patient_key"] = frame["patient_key"].fillna("").astype(str)
    frame["status"] = frame["status"].fillna("").astype(str).str.strip().str.lower()
    return frame.reset_index(drop=True)


def read_nodes(out: Path) -> pd.DataFrame:
    """Read ``OUT/nodes.csv`` (empty, with the columns, when missing or empty)."""
    path = Path(out) / "nodes.csv"
    frame = _read_csv_or_empty(path)
    return normalise_nodes(frame)


def read_study_dates(out: Path) -> dict[str, str]:
    """``study_key -> study_date`` (``YYYYMMDD`` or "") from the index's ``studies.parquet``."""
    path = index_table(out, "studies")
    if not path.exists():
        return {}
    try:
        studies = pd.read_parquet(path, columns=["study_key", "study_date"])
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("study dates unreadable (%s); the study selection uses none", exc)
        return {}
    dates = studies["study_date"].fillna("").astype(str)
    return dict(zip(studies["study_key"].astype(str), dates, strict=True))


def read_mentions(out: Path) -> pd.DataFrame:
    """Read ``OUT/mentions.parquet`` (empty, with the columns, when missing)."""
    path = Path(out) / "mentions.parquet"
    if not path.exists():
        return normalise_mentions(pd.DataFrame())
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read '{path.name}': {exc}; re-run the reports stage") from None
    return normalise_mentions(frame)


def read_reports(out: Path) -> pd.DataFrame | None:
    """Read ``OUT/reports.parquet`` (one row per report) when a stage wrote it, else None."""
    path = Path(out) / "reports.parquet"
    if not path.exists():
        return None
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read '{path.name}': {exc}; re-run the reports stage") from None
    return normalise_reports(frame)


def read_cohort(out: Path) -> pd.DataFrame:
    """Read ``OUT/cohort.csv`` (empty, with the columns, when missing or empty)."""
    return normalise_cohort(_read_csv_or_empty(Path(out) / "cohort.csv"))


def read_errors(out: Path) -> pd.DataFrame:
    """Read ``OUT/errors.csv`` (path, stage, reason; empty when missing)."""
    frame = _read_csv_or_empty(Path(out) / "errors.csv")
    frame = _with_columns(frame, ["path", "stage", "reason"])
    for column in ("path", "stage", "reason"):
        frame[column] = frame[column].fillna("").astype(str)
    return frame


def read_run_json(out: Path) -> dict[str, Any] | None:
    """Return the content of ``OUT/run.json`` when present and readable, else None."""
    path = Path(out) / "run.json"
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable run.json (%s)", exc)
        return None
    return data if isinstance(data, dict) else None


def _read_csv_or_empty(path: Path) -> pd.DataFrame:
    if not path.exists() or path.stat().st_size == 0:
        return pd.DataFrame()
    try:
        return pd.read_csv(
            path,
            dtype={
                "intercostal_spaces": str,
                "patient_key": str,
                "study_key": str,
                "study_date": str,
            },
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(
            f"cannot read '{path.name}': {exc}; re-run the stage that writes it"
        ) from None


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


def normalise_yes_no(value: Any) -> str:
    """Map a Table 2 value (ALN, SCN, local recurrence) to ``yes``, ``no`` or ``unknown``."""
    text = str(value).strip().lower()
    if text in _YES:
        return "yes"
    if text in _NO:
        return "no"
    return UNKNOWN


def normalise_group(value: Any) -> str:
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


def normalise_level(variable: str, value: Any) -> str:
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
