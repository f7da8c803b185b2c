"""Plan, run and finalize an index: walk, chunk, shards, manifest, tables.

``plan_index`` walks the export and compares it with ``OUT/restricted/index/manifest.parquet``:
files whose ``(path, size, mtime_ns)`` are unchanged keep their shard rows; new
and changed files are split into chunks of new shards; shards holding changed or
deleted files are rewritten without them at finalize. ``index_chunk`` (one per
chunk, anywhere) writes the shards; ``finalize_index`` builds the tables. The
result of an incremental run equals a fresh index of the same export.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets as secrets_module
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from imncohort import layout
from imncohort.errors import ExportError
from imncohort.faults import checkpoint
from imncohort.index.checks import CHECKS_VERSION, instance_problems
from imncohort.index.dicomdir import check_dicomdirs
from imncohort.index.records import (
    FILE_COLUMNS,
    IDENTITY_COLUMNS,
    INSTANCE_COLUMNS,
    MANIFEST_COLUMNS,
    STAGE,
    FileEntry,
)
from imncohort.index.shards import (
    ERROR_SHARD_COLUMNS,
    IDENTITY_SHARD_COLUMNS,
    ChunkSummary,
    coerce_instances,
    index_chunk,
    shard_dir,
    shard_paths,
)
from imncohort.index.tables import build_series, build_studies
from imncohort.index.walk import walk_export
from imncohort.keys import pseudonym
from imncohort.outputs import (
    ErrorRecord,
    atomic_path,
    write_json,
    write_parquet,
    write_stage_errors,
)
from imncohort.paths import export_file

logger = logging.getLogger(__name__)

INDEX_FORMAT = 1
TABLES = ("instances", "series", "studies", "files")

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class Chunk:
    """Files to read into one new shard."""

    shard: str
    entries: list[FileEntry]


@dataclass(frozen=True)
class IndexPlan:
    """What a run must do; built by :func:`plan_index`."""

    export: Path
    out: Path
    entries: list[FileEntry]
    chunks: list[Chunk]
    kept: dict[str, str]  # unchanged path -> its shard
    rewrite: dict[str, set[str]]  # shard -> paths it keeps (others changed or deleted)
    drop: list[str]  # shards none of whose files remain unchanged
    walk_errors: list[ErrorRecord]
    walk_seconds: float
    fresh: bool
    secret_check: str
    previous_state: dict[str, Any] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)  # path -> content hash (--rehash)

    @property
    def files_to_read(self) -> int:
        """Number of new or changed files."""
        return sum(len(c.entries) for c in self.chunks)

    @property
    def unchanged(self) -> bool:
        """Nothing to read, rewrite or drop: the tables on disk are current."""
        return not self.chunks and not self.rewrite and not self.drop and not self.fresh


def index_dir(out: Path) -> Path:
    """Return ``OUT/restricted/index`` (raw paths: restricted)."""
    return layout.index_dir(out)


def _state_path(out: Path) -> Path:
    return layout.OutLayout(out).index_state_json


def _secret_check(secret: bytes) -> str:
    return pseudonym(secret, "imncohort-index-state")


def _load_state(out: Path) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads(_state_path(out).read_text("utf-8"))
        return state
    except (OSError, ValueError):
        return {}


def _previous_manifest(out: Path, secret: bytes) -> tuple[pa.Table | None, dict[str, Any]]:
    """Return the previous manifest, or None when the index must be rebuilt from scratch."""
    state = _load_state(out)
    manifest_path = layout.index_table(out, "manifest")
    if (
        state.get("format") != INDEX_FORMAT
        or state.get("secret_check") != _secret_check(secret)
        or not manifest_path.exists()
        or not all(layout.index_table(out, t).exists() for t in TABLES)
    ):
        return None, {}
    manifest = pq.read_table(manifest_path)
    shards = set(manifest.column("shard").unique().to_pylist())
    if not all(all(p.exists() for p in shard_paths(out, s).values()) for s in shards):
        logger.warning("index shards are missing; rebuilding the index")
        return None, {}
    token = manifest_token(manifest_path)
    if not token or state.get("manifest_token") != token:
        # A run died between its first table write and its state write: the shards the
        # manifest names are whole, but the tables and the summary are not to be trusted.
        logger.info("index state does not match the manifest; rebuilding the tables")
        state = {k: v for k, v in state.items() if k not in ("summary", "manifest_token")}
    return manifest, state


TOKEN_KEY = b"imncohort_manifest_token"


def manifest_token(path: Path) -> str:
    """The commit token written into the manifest's Parquet metadata ("" when none)."""
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowException):
        return ""
    return metadata.get(TOKEN_KEY, b"").decode("ascii", "replace")


def _write_manifest(frame: pd.DataFrame, target: Path, token: str) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), TOKEN_KEY: token})
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp)


def _columns(table: pa.Table, columns: list[str] = MANIFEST_COLUMNS) -> list[list[Any]]:
    return [table.column(c).to_numpy(zero_copy_only=False).tolist() for c in columns]


HASH_COLUMN = "content_hash"


def content_hash(export: Path, path: str) -> str:
    """SHA-256 of one export file's content ("" when it cannot be read)."""
    try:
        with open(export_file(export, path), "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return ""


def _manifest_hashes(manifest: pa.Table | None) -> dict[str, str]:
    if manifest is None or HASH_COLUMN not in manifest.column_names:
        return {}
    return dict(zip(*_columns(manifest, ["path", HASH_COLUMN]), strict=True))


def _same_files(manifest: pa.Table, entries: list[FileEntry]) -> bool:
    """Whether the walk found exactly the manifest's (path, size, mtime_ns), in order."""
    if manifest.num_rows != len(entries):
        return False
    sizes = np.fromiter((e.size for e in entries), dtype=np.int64, count=len(entries))
    mtimes = np.fromiter((e.mtime_ns for e in entries), dtype=np.int64, count=len(entries))
    if not (
        np.array_equal(sizes, manifest.column("size").to_numpy())
        and np.array_equal(mtimes, manifest.column("mtime_ns").to_numpy())
    ):
        return False
    paths = manifest.column("path").to_numpy(zero_copy_only=False)
    return bool(np.array_equal(paths, np.array([e.path for e in entries], dtype=object)))


def plan_index(
    export: Path | str,
    out: Path | str,
    chunk_size: int,
    secret: bytes,
    exclude: Path | str | None = None,
    rehash: bool = False,
) -> IndexPlan:
    """Walk ``export`` and decide which files to read into which new shards.

    Parameters
    ----------
    export
        The export root (read only).
    out
        The output directory; an existing index there makes the run incremental.
    chunk_size
        Files per new shard.
    secret
        The pseudonymisation secret; a different secret than the previous run's
        rebuilds the index from scratch.
    exclude
        A directory not to walk (``out`` when it lies inside the export).
    rehash
        Also hash every file's content and re-read those whose hash differs from the
        manifest's (a same-size, same-mtime replacement), or that have none yet.

    Raises
    ------
    ExportError
        When ``export`` is not a readable directory.
    """
    export, out = Path(export), Path(out)
    if not export.is_dir():
        raise ExportError(
            f"export directory '{export}' does not exist or is not a directory; "
            "pass the root of the PACS export"
        )
    if chunk_size < 1:
        raise ValueError(f'Argument "chunk_size" must be >= 1, got {chunk_size}')
    start = time.perf_counter()
    try:
        walk = walk_export(export, exclude=exclude)
    except OSError as exc:
        raise ExportError(f"cannot walk export '{export}': {exc.strerror or exc}") from None
    walk_seconds = time.perf_counter() - start
    manifest, previous_state = _previous_manifest(out, secret)
    fresh = manifest is None
    kept: dict[str, str] = {}
    to_read: list[FileEntry] = []
    rewrite: dict[str, set[str]] = {}
    drop: list[str] = []
    old_hashes = _manifest_hashes(manifest)
    hashes = {e.path: content_hash(export, e.path) for e in walk.entries} if rehash else {}
    if manifest is None:
        to_read = list(walk.entries)
    elif not rehash and _same_files(manifest, walk.entries):  # the common re-run
        kept = dict(zip(*_columns(manifest, ["path", "shard"]), strict=True))
    else:
        old = {p: (s, m, sh) for p, s, m, sh in zip(*_columns(manifest), strict=True)}
        for entry in walk.entries:
            previous = old.get(entry.path)
            # under --rehash a file is unchanged only when its stored hash matches
            same_content = not rehash or old_hashes.get(entry.path, "") == hashes[entry.path] != ""
            if (
                previous is not None
                and previous[0] == entry.size
                and previous[1] == entry.mtime_ns
                and same_content
            ):
                kept[entry.path] = previous[2]
            else:
                to_read.append(entry)
        by_shard: dict[str, list[str]] = {}
        unchanged = not to_read and len(kept) == len(old)
        for path, (_, _, shard) in [] if unchanged else old.items():
            by_shard.setdefault(shard, []).append(path)
        for shard, paths in by_shard.items():
            keep = {p for p in paths if kept.get(p) == shard}
            if not keep:
                drop.append(shard)
            elif len(keep) < len(paths):
                rewrite[shard] = keep
    token = f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets_module.token_hex(3)}"
    chunks = [
        Chunk(f"{token}-{i // chunk_size:05d}", to_read[i : i + chunk_size])
        for i in range(0, len(to_read), chunk_size)
    ]
    return IndexPlan(
        export=export,
        out=out,
        entries=walk.entries,
        chunks=chunks,
        kept=kept,
        rewrite=rewrite,
        drop=sorted(drop),
        walk_errors=walk.errors,
        walk_seconds=walk_seconds,
        fresh=fresh,
        secret_check=_secret_check(secret),
        previous_state=previous_state,
        hashes=hashes or {p: old_hashes.get(p, "") for p in kept},
    )


def _read_part(out: Path, shard: str, part: str) -> pd.DataFrame:
    return pd.read_parquet(shard_paths(out, shard)[part])


def _prune_shards(plan: IndexPlan, token: str) -> dict[str, str]:
    """Write pruned copies of shards that lose files; return old shard -> new shard.

    The shards the previous manifest names are never changed in place, so a run killed
    here leaves the previous index whole; :func:`_remove_unreferenced` deletes the old
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


def _remove_unreferenced(out: Path, referenced: set[str]) -> None:
    """Delete shard files the committed manifest does not name (pruned, dropped, orphans)."""
    for directory in (shard_dir(out), layout.OutLayout(out).identity_shards_dir):
        if directory.is_dir():
            for path in directory.glob("*.parquet"):
                if path.name.split(".")[0] not in referenced:
                    path.unlink(missing_ok=True)


def _concat(frames: Sequence[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def _read_parts(out: Path, shards: Sequence[str], part: str, columns: list[str]) -> pd.DataFrame:
    """Concatenate one part of many shards with pyarrow (one conversion to pandas)."""
    tables = [pq.read_table(shard_paths(out, s)[part]) for s in shards]
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return pd.DataFrame(columns=columns)
    return pa.concat_tables(tables, promote_options="permissive").to_pandas()[columns]


def _records(pairs: Sequence[Sequence[str]]) -> list[ErrorRecord]:
    return [ErrorRecord(str(p), STAGE, str(r)) for p, r in pairs]


def _pairs(records: Sequence[ErrorRecord]) -> list[list[str]]:
    return [[r.path, r.reason] for r in records]


def _write_errors(out: Path, shard_errors: pd.DataFrame, extra: list[ErrorRecord]) -> int:
    records = _records(
        list(zip(shard_errors["path"].tolist(), shard_errors["reason"].tolist(), strict=True))
    )
    records += extra
    records.sort(key=lambda r: (r.path, r.reason))
    write_stage_errors(out, STAGE, records)
    return len(records)


def finalize_index(
    plan: IndexPlan, files_read: int, seconds_reading: float = 0.0
) -> dict[str, Any]:
    """Build ``instances``/``series``/``studies``/``files``/``manifest`` from the shards.

    Also writes ``OUT/restricted/identities.parquet``, the stage's error records and
    ``OUT/restricted/state/index.json``. When nothing changed since the previous run, the tables
    on disk are current and only the directory-level errors are refreshed.

    Returns
    -------
    dict
        ``files_seen``, ``files_read``, ``instances``, ``series``, ``studies``, ``junk``,
        ``aux_files``, ``errors``, ``by_sop_class``, ``shards``, ``incremental`` and
        the seconds of the walk, the reads and this step.
    """
    start = time.perf_counter()
    out = plan.out
    state = plan.previous_state
    walk_errors = _pairs(plan.walk_errors)
    # header checks of an older version: rebuild the tables from the shards (no file is read)
    if plan.unchanged and "summary" in state and state.get("checks") == CHECKS_VERSION:
        _remove_unreferenced(out, set(plan.kept.values()))  # a run killed after its commit
        summary = dict(state["summary"])
        n_errors = summary["junk"] + len(walk_errors) + len(state.get("dicomdir_errors", []))
        if walk_errors != state.get("walk_errors"):
            shards = sorted(set(plan.kept.values()))
            shard_errors = _concat(
                [_read_part(out, s, "errors") for s in shards], ERROR_SHARD_COLUMNS
            )
            extra = plan.walk_errors + _records(state.get("dicomdir_errors", []))
            n_errors = _write_errors(out, shard_errors, extra)
            write_json({**state, "walk_errors": walk_errors}, _state_path(out))
    else:
        token = f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets_module.token_hex(4)}"
        base = {"format": INDEX_FORMAT, "secret_check": plan.secret_check}
        write_json(base, _state_path(out))  # nothing on disk is trusted until the end
        summary, dicomdir_errors, shard_errors, referenced = _build_tables(plan, token)
        n_errors = _write_errors(out, shard_errors, plan.walk_errors + dicomdir_errors)
        _write_manifest(
            _manifest_frame(plan, referenced), layout.index_table(out, "manifest"), token
        )
        checkpoint("index.manifest")
        write_json(
            {
                **base,
                "manifest_token": token,
                "checks": CHECKS_VERSION,
                "summary": summary,
                "walk_errors": walk_errors,
                "dicomdir_errors": _pairs(dicomdir_errors),
            },
            _state_path(out),
        )
        checkpoint("index.state")
        _remove_unreferenced(out, set(referenced.values()))
    summary = dict(summary)
    summary.update(
        {
            "files_seen": len(plan.entries),
            "files_read": files_read,
            "errors": n_errors,
            "incremental": not plan.fresh,
            "walk_seconds": round(plan.walk_seconds, 3),
            "read_seconds": round(seconds_reading, 3),
            "finalize_seconds": round(time.perf_counter() - start, 3),
        }
    )
    return summary


def _manifest_frame(plan: IndexPlan, manifest_shard: dict[str, str]) -> pd.DataFrame:
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


def _build_tables(
    plan: IndexPlan, token: str
) -> tuple[dict[str, Any], list[ErrorRecord], pd.DataFrame, dict[str, str]]:
    """Prune shards, concatenate them and write every index table but the manifest.

    Returns the counts, the DICOMDIR errors, the shards' junk records and the shard of
    every walked path.
    """
    out = plan.out
    renamed = _prune_shards(plan, token)
    manifest_shard = {p: renamed.get(s, s) for p, s in plan.kept.items()}
    for chunk in plan.chunks:
        for entry in chunk.entries:
            manifest_shard[entry.path] = chunk.shard
    shards = sorted(set(manifest_shard.values()))
    instances = coerce_instances(_read_parts(out, shards, "instances", INSTANCE_COLUMNS))
    instances = instances.sort_values("path", kind="stable").reset_index(drop=True)
    files = _read_parts(out, shards, "files", FILE_COLUMNS)
    files = files.astype({"size": "int64", "mtime_ns": "int64"})
    files = files.sort_values("path", kind="stable").reset_index(drop=True)
    shard_errors = _read_parts(out, shards, "errors", ERROR_SHARD_COLUMNS)
    identities = _read_parts(out, shards, "identities", IDENTITY_SHARD_COLUMNS)
    identities = (
        identities[IDENTITY_COLUMNS]
        .drop_duplicates()
        .sort_values(IDENTITY_COLUMNS, kind="stable")
        .reset_index(drop=True)
    )
    series = build_series(instances)
    studies = build_studies(instances, series)
    write_parquet(instances, layout.index_table(out, "instances"))
    write_parquet(series, layout.index_table(out, "series"))
    write_parquet(studies, layout.index_table(out, "studies"))
    write_parquet(files, layout.index_table(out, "files"))
    write_parquet(identities, layout.OutLayout(out).identities_parquet)
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


def index_chunk_packed(
    export: str,
    out: str,
    shard: str,
    paths: list[str],
    sizes: list[int],
    mtimes_ns: list[int],
    secret: bytes,
) -> ChunkSummary:
    """:func:`~imncohort.index.shards.index_chunk` with the files as three plain lists.

    Plain lists pickle (and, on Dask, tokenize) much faster than file records, which
    matters when thousands of files go to a worker.
    """
    entries = [FileEntry(p, s, m) for p, s, m in zip(paths, sizes, mtimes_ns, strict=True)]
    return index_chunk(export, out, shard, entries, secret)


def run_chunks(
    plan: IndexPlan,
    secret: bytes,
    executor: Executor | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[ChunkSummary]:
    """Read every chunk of ``plan``: in this process, or one task per chunk on ``executor``.

    Parameters
    ----------
    executor
        Any :class:`concurrent.futures.Executor` (a ``ProcessPoolExecutor``, or a Dask
        ``Client.get_executor(pure=False)``, which skips hashing the arguments); None
        reads in this process.
    on_progress
        Called with ``(files read so far, files to read)``.
    """
    total = plan.files_to_read
    summaries: list[ChunkSummary] = []
    done = 0
    if executor is None:
        for chunk in plan.chunks:
            base = done

            def on_file(n: int, base: int = base) -> None:
                if on_progress is not None:
                    on_progress(base + n, total)

            summary = index_chunk(
                plan.export, plan.out, chunk.shard, chunk.entries, secret, on_file
            )
            summaries.append(summary)
            done += len(chunk.entries)
            if on_progress is not None:
                on_progress(done, total)
        return summaries
    futures = [
        executor.submit(
            index_chunk_packed,
            str(plan.export),
            str(plan.out),
            c.shard,
            [e.path for e in c.entries],
            [e.size for e in c.entries],
            [e.mtime_ns for e in c.entries],
            secret,
        )
        for c in plan.chunks
    ]
    for future in as_completed(futures):
        summary = future.result()
        summaries.append(summary)
        done += summary.files_read
        if on_progress is not None:
            on_progress(done, total)
    return sorted(summaries, key=lambda s: s.shard)


def index_export(
    export: Path | str,
    out: Path | str,
    *,
    chunk_size: int,
    secret: bytes,
    executor: Executor | None = None,
    on_progress: ProgressCallback | None = None,
    rehash: bool = False,
) -> dict[str, Any]:
    """Index ``export`` into ``OUT/restricted/index`` (incrementally when one is there).

    Parameters
    ----------
    export
        The PACS export root (read only).
    out
        The output directory.
    chunk_size
        Files per shard (``config.index.chunk_size``).
    secret
        The pseudonymisation secret (:func:`imncohort.keys.load_or_create_secret`).
    executor
        Where chunks run; None reads them in this process.
    on_progress
        Called with ``(files read so far, files to read)``.
    rehash
        Compare content hashes too (see :func:`plan_index`).

    Returns
    -------
    dict
        The summary of :func:`finalize_index` plus ``seconds``.
    """
    start = time.perf_counter()
    out = Path(out)
    export = Path(export)
    exclude = out if out.resolve().is_relative_to(export.resolve()) else None
    plan = plan_index(export, out, chunk_size, secret, exclude=exclude, rehash=rehash)
    read_start = time.perf_counter()
    summaries = run_chunks(plan, secret, executor, on_progress)
    read_seconds = time.perf_counter() - read_start
    summary = finalize_index(plan, sum(s.files_read for s in summaries), read_seconds)
    summary["seconds"] = round(time.perf_counter() - start, 3)
    return summary
