"""Incremental planning of an index run: what to read, what to keep, what to rewrite.

:func:`plan_index` walks the export and compares it with
``OUT/restricted/index/manifest.parquet``: files whose ``(path, size, mtime_ns)`` are
unchanged keep their shard rows; new and changed files are split into chunks of new
shards; shards holding changed or deleted files are rewritten without them when the
shards are merged (:mod:`imncohort.index.merge`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets as secrets_module
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from imncohort.errors import ExportError
from imncohort.index.records import MANIFEST_COLUMNS, FileEntry
from imncohort.index.walk import walk_export
from imncohort.keys import pseudonym
from imncohort.layout import OutLayout, index_table
from imncohort.outputs import ErrorRecord
from imncohort.paths import export_file

logger = logging.getLogger(__name__)

INDEX_FORMAT = 1
TABLES = ("instances", "series", "studies", "files")


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


def state_path(out: Path) -> Path:
    return OutLayout(out).index_state_json


def secret_check(secret: bytes) -> str:
    return pseudonym(secret, "imncohort-index-state")


def _load_state(out: Path) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads(state_path(out).read_text("utf-8"))
        return state
    except (OSError, ValueError):
        return {}


def _previous_manifest(out: Path, secret: bytes) -> tuple[pa.Table | None, dict[str, Any]]:
    """Return the previous manifest, or None when the index must be rebuilt from scratch."""
    state = _load_state(out)
    manifest_path = index_table(out, "manifest")
    if (
        state.get("format") != INDEX_FORMAT
        or state.get("secret_check") != secret_check(secret)
        or not manifest_path.exists()
        or not all(index_table(out, t).exists() for t in TABLES)
    ):
        return None, {}
    from imncohort.index.shards import shard_paths  # the DICOM reader: not for an empty plan

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


def _kept_and_changed(
    old: dict[str, tuple[int, int, str]],
    entries: list[FileEntry],
    old_hashes: dict[str, str],
    hashes: dict[str, str],
    rehash: bool,
) -> tuple[dict[str, str], list[FileEntry]]:
    """Unchanged path -> its shard, and the new or changed files to read."""
    kept: dict[str, str] = {}
    to_read: list[FileEntry] = []
    for entry in entries:
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
    return kept, to_read


def _shards_to_change(
    old: dict[str, tuple[int, int, str]], kept: dict[str, str]
) -> tuple[dict[str, set[str]], list[str]]:
    """Shards to rewrite (-> the paths they keep) and shards to drop (none kept)."""
    rewrite: dict[str, set[str]] = {}
    drop: list[str] = []
    by_shard: dict[str, list[str]] = {}
    for path, (_, _, shard) in old.items():
        by_shard.setdefault(shard, []).append(path)
    for shard, paths in by_shard.items():
        keep = {p for p in paths if kept.get(p) == shard}
        if not keep:
            drop.append(shard)
        elif len(keep) < len(paths):
            rewrite[shard] = keep
    return rewrite, drop


def chunk_bounds(n_files: int, chunk_size: int, parallel: int = 1) -> list[tuple[int, int]]:
    """The ``(start, stop)`` of each chunk of ``n_files`` files, at most ``chunk_size`` each.

    With ``parallel`` > 1 the chunk count is the smallest multiple of ``parallel`` that
    keeps chunks within ``chunk_size``, and the files are spread evenly over them
    (sizes differ by at most one): each task a worker runs costs Prefect about 0.25 s
    here, so a worker gets as few, and as equal, chunks as the size limit allows.
    """
    if n_files <= 0:
        return []
    if parallel <= 1:
        return [(i, min(i + chunk_size, n_files)) for i in range(0, n_files, chunk_size)]
    count = -(-n_files // chunk_size)
    count = min(n_files, -(-count // parallel) * parallel)
    base, extra = divmod(n_files, count)
    bounds, start = [], 0
    for i in range(count):
        stop = start + base + (1 if i < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


def plan_index(
    export: Path | str,
    out: Path | str,
    chunk_size: int,
    secret: bytes,
    exclude: Path | str | None = None,
    rehash: bool = False,
    parallel: int = 1,
) -> IndexPlan:
    """Walk ``export`` and decide which files to read into which new shards.

    Parameters
    ----------
    export
        The export root (read only).
    out
        The output directory; an existing index there makes the run incremental.
    chunk_size
        At most this many files per new shard.
    secret
        The pseudonymisation secret; a different secret than the previous run's
        rebuilds the index from scratch.
    exclude
        A directory not to walk (``out`` when it lies inside the export).
    rehash
        Also hash every file's content and re-read those whose hash differs from the
        manifest's (a same-size, same-mtime replacement), or that have none yet.
    parallel
        How many chunks the run reads at once (its workers): the files to read are
        split into a multiple of this many chunks of equal size (:func:`chunk_bounds`),
        so no worker idles while another reads a longer chunk. 1: chunks of exactly
        ``chunk_size`` files, the last one shorter.

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
        kept, to_read = _kept_and_changed(old, walk.entries, old_hashes, hashes, rehash)
        unchanged = not to_read and len(kept) == len(old)
        rewrite, drop = ({}, []) if unchanged else _shards_to_change(old, kept)
    token = f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets_module.token_hex(3)}"
    chunks = [
        Chunk(f"{token}-{n:05d}", to_read[start:stop])
        for n, (start, stop) in enumerate(chunk_bounds(len(to_read), chunk_size, parallel))
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
        secret_check=secret_check(secret),
        previous_state=previous_state,
        hashes=hashes or {p: old_hashes.get(p, "") for p in kept},
    )
