"""One chunk of files -> one Parquet shard (instances, aux files, errors, identities).

A shard named ``S`` is four files written atomically:
``OUT/restricted/index/shards/S.instances.parquet``, ``S.files.parquet``, ``S.errors.parquet``
and, under the restricted directory, ``OUT/restricted/index_shards/S.identities.parquet``
(the only place a shard holds patient identity). Each keeps a ``path`` column so
that an incremental run can drop the rows of changed or deleted files.
"""

from __future__ import annotations

import functools
import logging
import math
import struct
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from imncohort.faults import checkpoint
from imncohort.index.records import (
    FILE_COLUMNS,
    FLOAT_COLUMNS,
    IDENTITY_COLUMNS,
    INSTANCE_COLUMNS,
    INT_COLUMNS,
    FileEntry,
    kind_of_sop_class,
)
from imncohort.keys import pseudonym, restricted_dir
from imncohort.layout import OutLayout
from imncohort.outputs import make_dirs, write_parquet

if TYPE_CHECKING:  # the reader (pydicom) is imported by the chunk that reads files
    from imncohort.index.reader import ReadResult

logger = logging.getLogger(__name__)

SHARD_PARTS = ("instances", "files", "errors")
ERROR_SHARD_COLUMNS = ["path", "reason"]
IDENTITY_SHARD_COLUMNS = ["path", *IDENTITY_COLUMNS]


@dataclass(frozen=True)
class ChunkSummary:
    """What :func:`index_chunk` did: counts and seconds."""

    shard: str
    files_read: int
    instances: int
    aux: int
    junk: int
    seconds: float


def shard_dir(out: Path) -> Path:
    """Return ``OUT/restricted/index/shards``."""
    return OutLayout(out).index_shards_dir


def identity_shard_dir(out: Path) -> Path:
    """Return ``OUT/restricted/index_shards`` (created with the restricted directory)."""
    restricted_dir(Path(out))
    return OutLayout(out).identity_shards_dir


def shard_paths(out: Path, shard: str) -> dict[str, Path]:
    """Return the four files of shard ``shard`` keyed by part name."""
    paths = {part: shard_dir(out) / f"{shard}.{part}.parquet" for part in SHARD_PARTS}
    paths["identities"] = OutLayout(out).identity_shards_dir / f"{shard}.identities.parquet"
    return paths


@functools.lru_cache(maxsize=8192)
def _pseudonym(secret: bytes, value: str) -> str:
    return pseudonym(secret, value) if value else ""


def _first(values: Sequence[float], i: int) -> float:
    return values[i] if len(values) > i else math.nan


def _iop_text(iop: Sequence[float]) -> str:
    """Return the six direction cosines as ``.8g`` text (``""`` unless there are six)."""
    if len(iop) != 6:
        return ""
    try:  # the exact bits as cache key: 0.0 and -0.0 are equal but print differently
        return _iop_text_of_bits(_SIX_DOUBLES.pack(*iop))
    except struct.error:
        return "\\".join(f"{v:.8g}" for v in iop)


@functools.lru_cache(maxsize=1024)
def _iop_text_of_bits(bits: bytes) -> str:
    return "\\".join(f"{v:.8g}" for v in _SIX_DOUBLES.unpack(bits))


_SIX_DOUBLES = struct.Struct("<6d")
_NAN = math.nan


def instance_values(
    entry: FileEntry, result: ReadResult, secret: bytes
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Return the ``instances.parquet`` row and the restricted identity row of one file.

    The first tuple follows ``INSTANCE_COLUMNS``, the second ``IDENTITY_SHARD_COLUMNS``.
    """
    f = result.fields
    patient_id = f["patient_id"]
    study_uid = f["study_instance_uid"]
    patient_key = _pseudonym(secret, patient_id)
    study_key = _pseudonym(secret, study_uid)
    sop_class_uid = f["sop_class_uid"]
    ipp = f["image_position_patient"]
    iop = f["image_orientation_patient"]
    spacing = f["pixel_spacing"]
    thickness = f["slice_thickness"]
    n_spacing = len(spacing)
    if len(ipp) == 3:
        ipp_x, ipp_y, ipp_z = ipp
    else:
        ipp_x = ipp_y = ipp_z = _NAN
    row = (
        entry.path,
        result.size,
        result.mtime_ns,
        sop_class_uid,
        f["sop_instance_uid"],
        f["modality"],
        kind_of_sop_class(sop_class_uid),
        patient_key,
        study_key,
        study_uid,
        f["series_instance_uid"],
        f["frame_of_reference_uid"],
        f["study_date"],
        f["study_description"],
        f["series_description"],
        f["series_number"],
        f["instance_number"],
        f["rows"],
        f["columns"],
        spacing[0] if n_spacing > 0 else _NAN,
        spacing[1] if n_spacing > 1 else _NAN,
        thickness[0] if len(thickness) > 0 else _NAN,
        ipp_x,
        ipp_y,
        ipp_z,
        _iop_text(iop),
        f["patient_position"],
        f["specific_character_set"],
        result.transfer_syntax_uid,
    )
    identity = (
        entry.path,
        patient_key,
        study_key,
        patient_id,
        f["patient_name"],
        f["patient_birth_date"],
        f["accession_number"],
        study_uid,
    )
    return row, identity


def instances_frame(rows: Iterable[dict[str, Any]] | Iterable[tuple[Any, ...]]) -> pd.DataFrame:
    """Return instance rows (dicts, or tuples in column order) as a typed DataFrame.

    The columns are in the schema's order with its dtypes.
    """
    frame = pd.DataFrame(list(rows), columns=INSTANCE_COLUMNS)
    return coerce_instances(frame)


def coerce_instances(frame: pd.DataFrame) -> pd.DataFrame:
    """Apply the ``instances.parquet`` dtypes (Int64, float64, int64, str)."""
    wanted = {c: "Int64" for c in INT_COLUMNS}
    wanted.update({c: "float64" for c in FLOAT_COLUMNS})
    wanted.update({"size": "int64", "mtime_ns": "int64"})
    changes = {c: t for c, t in wanted.items() if str(frame[c].dtype) != t}
    if changes:
        frame = frame.astype(changes)
    for column in INSTANCE_COLUMNS:
        if column not in wanted and frame[column].dtype == object and frame[column].isna().all():
            frame[column] = frame[column].fillna("").astype(str)
    return frame


def files_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Return aux-file rows with the ``files.parquet`` columns."""
    frame = pd.DataFrame(list(rows), columns=FILE_COLUMNS)
    return frame.astype({"size": "int64", "mtime_ns": "int64"})


def index_chunk(
    export: Path | str,
    out: Path | str,
    shard: str,
    entries: Sequence[FileEntry],
    secret: bytes,
    on_file: Callable[[int], None] | None = None,
) -> ChunkSummary:
    """Read every file of one chunk and write shard ``shard``.

    Parameters
    ----------
    export
        The export root (read only).
    out
        The output directory; the shard goes to ``OUT/restricted/index/shards`` and
        ``OUT/restricted/index_shards``.
    shard
        The shard name (unique within ``OUT``).
    entries
        The chunk's files, as walked.
    secret
        The pseudonymisation secret.
    on_file
        Called with the number of files read so far in this chunk, every 100 files.

    Returns
    -------
    ChunkSummary
        Counts of files read, instances, aux files and junk, and the seconds spent.
    """
    from imncohort.index.reader import read_entry

    start = time.perf_counter()
    export_root = str(export)
    rows: list[tuple[Any, ...]] = []
    identities: list[tuple[Any, ...]] = []
    aux: list[dict[str, Any]] = []
    junk: list[dict[str, str]] = []
    for i, entry in enumerate(entries, 1):
        result = read_entry(export_root, entry)
        if result.status == "dicom":
            row, identity = instance_values(entry, result, secret)
            rows.append(row)
            identities.append(identity)
        elif result.status == "aux":
            aux.append(
                {
                    "path": entry.path,
                    "size": result.size,
                    "mtime_ns": result.mtime_ns,
                    "kind": result.kind,
                }
            )
        else:
            junk.append({"path": entry.path, "reason": result.reason})
        if on_file is not None and i % 100 == 0:
            on_file(i)
    paths = shard_paths(Path(out), shard)
    make_dirs(shard_dir(Path(out)))
    make_dirs(identity_shard_dir(Path(out)))
    write_parquet(pd.DataFrame(identities, columns=IDENTITY_SHARD_COLUMNS), paths["identities"])
    write_parquet(instances_frame(rows), paths["instances"])
    write_parquet(files_frame(aux), paths["files"])
    write_parquet(pd.DataFrame(junk, columns=ERROR_SHARD_COLUMNS), paths["errors"])
    checkpoint("index.shard")
    seconds = time.perf_counter() - start
    logger.debug("shard %s: %d files in %.2f s", shard, len(entries), seconds)
    return ChunkSummary(shard, len(entries), len(rows), len(aux), len(junk), seconds)
