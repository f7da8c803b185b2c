"""Where things live under OUT, and which side of the public/restricted line they are on.

Everything that holds raw export paths (which PACS exports fold by patient name or ID),
header identifiers or report sentences lives under ``OUT/restricted/`` (0700): the index
tables and their shards, the manifest, the index state, per-study measure state and the
per-stage error records. Outside it only research outputs with pseudonymous keys and
scrubbed relative paths (see docs/ARCHITECTURE.md, "Files outside restricted/").
"""

from __future__ import annotations

import shutil
from pathlib import Path

RESTRICTED = "restricted"


def restricted(out: Path | str) -> Path:
    """Return ``OUT/restricted`` (not created)."""
    return Path(out) / RESTRICTED


def index_dir(out: Path | str) -> Path:
    """Return ``OUT/restricted/index`` (the index tables: raw paths, descriptions)."""
    return restricted(out) / "index"


def index_table(out: Path | str, name: str) -> Path:
    """Return ``OUT/restricted/index/<name>.parquet``."""
    return index_dir(out) / f"{name}.parquet"


def state_dir(out: Path | str) -> Path:
    """Return ``OUT/restricted/state`` (what a stage keeps between runs)."""
    return restricted(out) / "state"


def measure_state_dir(out: Path | str) -> Path:
    """Return ``OUT/restricted/state/measure`` (per-study rows, input hash, errors)."""
    return state_dir(out) / "measure"


# Public locations used by versions before 0.2; they held raw paths and are removed.
LEGACY_PUBLIC = ("index", "state")


def remove_legacy_public(out: Path | str) -> list[str]:
    """Delete ``OUT/index`` and ``OUT/state`` left by older versions; return what went."""
    removed = []
    for name in LEGACY_PUBLIC:
        path = Path(out) / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(name)
    return removed
