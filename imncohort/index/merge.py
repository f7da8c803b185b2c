"""Merge an index run's shards into the index tables, the manifest and the error records.

Shards of unchanged files are kept; shards that lose files are copied without them
(never changed in place, so a run killed here leaves the previous index whole); every
table is the concatenation of the shards the new manifest names.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from imncohort.faults import checkpoint
from imncohort.index.checks import instance_problems
from imncohort.index.dicomdir import check_dicomdirs
from imncohort.index.plan import HASH_COLUMN, TOKEN_KEY, IndexPlan
from imncohort.index.records import (
    FILE_COLUMNS,
    IDENTITY_COLUMNS,
    INSTANCE_COLUMNS,
    MANIFEST_COLUMNS,
    STAGE,
)
from imncohort.index.shards import (
    ERROR_SHARD_COLUMNS,
    IDENTITY_SHARD_COLUMNS,
    coerce_instances,
    shard_dir,
    shard_paths,
)
from imncohort.index.tables import build_series, build_studies
from imncohort.layout import OutLayout, index_table
from imncohort.outputs import ErrorRecord, atomic_path, write_parquet
from imncohort.schemas.errors import write_stage_errors


def read_part(out: Path, shard: str, part: str) -> pd.DataFrame:
    return pd.read_parquet(shard_paths(out, shard)[part])


def prune_shards(plan: IndexPlan, token: str) -> dict[str, str]:
    """Write pruned copies of shards that lose files; return old shard -> new shard.

    The shards the previous manifest names are never changed in place, so a run killed
    here leaves the previous index whole; :func:`remove_unreferenced` deletes the old
    copies once the new manifest and state are written.
    """
    renamed: dict[str, str] = {}
    for number, (shard, keep) in enumerate(sorted(plan.rewrite.items())):
        new = f"{token}-p{number:05d}"
        targets = shard_paths(plan.out, new)
        for part, path in shard_paths(plan.out, shard).items():
            frame = pd.read_parquet(path)
            write_parquet(frame[frame["path"].isin(keep)].reset_index(drop=True), targets[part])
        renamed[shard] = new
        checkpoint("index.prune")
    return renamed


def remove_unreferenced(out: Path, referenced: set[str]) -> None:
    """Delete shard files the committed manifest does not name (pruned, dropped, orphans)."""
    for directory in (shard_dir(out), OutLayout(out).identity_shards_dir):
        if directory.is_dir():
            for path in directory.glob("*.parquet"):
                if path.name.split(".")[0] not in referenced:
                    path.unlink(missing_ok=True)


def concat_frames(frames: Sequence[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def read_parts(out: Path, shards: Sequence[str], part: str, columns: list[str]) -> pd.DataFrame:
    """Concatenate one part of many shards with pyarrow (one conversion to pandas)."""
    tables = [pq.read_table(shard_paths(out, s)[part]) for s in shards]
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return pd.DataFrame(columns=columns)
    return pa.concat_tables(tables, promote_options="permissive").to_pandas()[columns]


def error_records(pairs: Sequence[Sequence[str]]) -> list[ErrorRecord]:
    return [ErrorRecord(str(p), STAGE, str(r)) for p, r in pairs]


def error_pairs(records: Sequence[ErrorRecord]) -> list[list[str]]:
    return [[r.path, r.reason] for r in records]


def write_errors(out: Path, shard_errors: pd.DataFrame, extra: list[ErrorRecord]) -> int:
    records = error_records(
        list(zip(shard_errors["path"].tolist(), shard_errors["reason"].tolist(), strict=True))
    )
    records += extra
    records.sort(key=lambda r: (r.path, r.reason))
    write_stage_errors(out, STAGE, records)
    return len(records)


def write_manifest(frame: pd.DataFrame, target: Path, token: str) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), TOKEN_KEY: token})
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp)


def manifest_frame(plan: IndexPlan, manifest_shard: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "path": [e.path for e in plan.entries],
            "size": [e.size for e in plan.entries],
            "mtime_ns": [e.mtime_ns for e in plan.entries],
            "shard": [manifest_shard[e.path] for e in plan.entries],
            HASH_COLUMN: [plan.hashes.get(e.path, "") for e in plan.entries],
        },
        columns=[*MANIFEST_COLUMNS, HASH_COLUMN],
    )


def build_tables(
    plan: IndexPlan, token: str
) -> tuple[dict[str, Any], list[ErrorRecord], pd.DataFrame, dict[str, str]]:
    """Prune shards, concatenate them and write every index table but the manifest.

    Returns the counts, the DICOMDIR errors, the shards' junk records and the shard of
    every walked path.
    """
    out = plan.out
    renamed = prune_shards(plan, token)
    manifest_shard = {p: renamed.get(s, s) for p, s in plan.kept.items()}
    for chunk in plan.chunks:
        for entry in chunk.entries:
            manifest_shard[entry.path] = chunk.shard
    shards = sorted(set(manifest_shard.values()))
    instances = coerce_instances(read_parts(out, shards, "instances", INSTANCE_COLUMNS))
    instances = instances.sort_values("path", kind="stable").reset_index(drop=True)
    files = read_parts(out, shards, "files", FILE_COLUMNS)
    files = files.astype({"size": "int64", "mtime_ns": "int64"})
    files = files.sort_values("path", kind="stable").reset_index(drop=True)
    shard_errors = read_parts(out, shards, "errors", ERROR_SHARD_COLUMNS)
    identities = read_parts(out, shards, "identities", IDENTITY_SHARD_COLUMNS)
    identities = (
        identities[IDENTITY_COLUMNS]
        .drop_duplicates()
        .sort_values(IDENTITY_COLUMNS, kind="stable")
        .reset_index(drop=True)
    )
    series = build_series(instances)
    studies = build_studies(instances, series)
    write_parquet(instances, index_table(out, "instances"))
    write_parquet(series, index_table(out, "series"))
    write_parquet(studies, index_table(out, "studies"))
    write_parquet(files, index_table(out, "files"))
    write_parquet(identities, OutLayout(out).identities_parquet)
    checkpoint("index.tables")
    walked = {e.path for e in plan.entries}
    dicomdirs = files.loc[files["kind"] == "dicomdir", "path"].tolist()
    dicomdir_errors = check_dicomdirs(plan.export, dicomdirs, walked)[1] if dicomdirs else []
    # Header problems of indexed files (kept with the DICOMDIR records in the index state).
    dicomdir_errors += instance_problems(instances)
    by_sop_class = instances["sop_class_uid"].value_counts().sort_index()
    summary = {
        "instances": len(instances),
        "series": len(series),
        "studies": len(studies),
        "aux_files": len(files),
        "junk": len(shard_errors),
        "by_sop_class": {str(k): int(v) for k, v in by_sop_class.items()},
        "shards": len(shards),
    }
    return summary, dicomdir_errors, shard_errors, manifest_shard
