"""Where things live under OUT, and which side of the public/restricted line they are on.

:class:`OutLayout` is the one object that spells a path under OUT: every stage asks it
(``OutLayout(out).nodes_csv``) instead of joining names by hand. Its properties come in
two groups, so the boundary is visible here and nowhere else:

- **public** (research outputs that follow the umask): pseudonymous keys, scrubbed
  relative paths, counts; see docs/ARCHITECTURE.md, "Files outside restricted/";
- **restricted** (``OUT/restricted/``, 0700 folders and 0600 files): everything that holds
  raw export paths (which PACS exports fold by patient name or ID), header identifiers or
  report sentences: the index tables and their shards, the manifest, the identities, the
  index state, per-study measure state, per-stage error records, the review workbook.

:data:`STAGES` is the order the stages run in (and the order of ``errors.csv``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

RESTRICTED = "restricted"

#: The stages of an audit, in the order they run (``errors.csv`` is sorted the same way).
STAGES = ("index", "reports", "measure", "review", "tables")

#: The names of the index tables under ``OUT/restricted/index/``.
INDEX_TABLES = ("instances", "series", "studies", "files", "manifest")

# Public locations used by versions before 0.2; they held raw paths and are removed.
LEGACY_PUBLIC = ("index", "state")


class OutLayout:
    """Every path under one output directory (nothing is created by reading a property).

    Parameters
    ----------
    out
        The output directory (``--out``).
    """

    __slots__ = ("root",)

    def __init__(self, out: Path | str) -> None:
        self.root = Path(out)

    def __repr__(self) -> str:
        return f"OutLayout({str(self.root)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OutLayout) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    # ------------------------------------------------------------------ public side
    @property
    def nodes_parquet(self) -> Path:
        """``OUT/nodes.parquet``: the typed node table the later stages read."""
        return self.root / "nodes.parquet"

    @property
    def nodes_csv(self) -> Path:
        """``OUT/nodes.csv``: the human-facing copy (rounded)."""
        return self.root / "nodes.csv"

    @property
    def mentions_parquet(self) -> Path:
        """``OUT/mentions.parquet``: term mentions, no sentence text."""
        return self.root / "mentions.parquet"

    @property
    def reports_parquet(self) -> Path:
        """``OUT/reports.parquet``: one row per report read, no text."""
        return self.root / "reports.parquet"

    @property
    def cohort_parquet(self) -> Path:
        """``OUT/cohort.parquet``: the typed cohort the later stages read."""
        return self.root / "cohort.parquet"

    @property
    def cohort_csv(self) -> Path:
        """``OUT/cohort.csv``: the human-facing copy."""
        return self.root / "cohort.csv"

    @property
    def errors_csv(self) -> Path:
        """``OUT/errors.csv``: every stage's bad inputs, paths scrubbed."""
        return self.root / "errors.csv"

    @property
    def run_json(self) -> Path:
        """``OUT/run.json``: version, config, counts and seconds of the run."""
        return self.root / "run.json"

    @property
    def report_html(self) -> Path:
        """``OUT/report.html``."""
        return self.root / "report.html"

    @property
    def tables_xlsx(self) -> Path:
        """``OUT/tables.xlsx``: every paper table as one sheet."""
        return self.root / "tables.xlsx"

    def table_csv(self, name: str) -> Path:
        """``OUT/<name>.csv`` of one paper table (``coverage``, ``intercostal`` ...)."""
        return self.root / f"{name}.csv"

    @property
    def figures_dir(self) -> Path:
        """``OUT/figures/``."""
        return self.root / "figures"

    def figure(self, name: str) -> Path:
        """``OUT/figures/<name>.png``."""
        return self.figures_dir / f"{name}.png"

    @property
    def qc_dir(self) -> Path:
        """``OUT/qc/``: one QC picture per node (named by keys)."""
        return self.root / "qc"

    @property
    def review_agreement_csv(self) -> Path:
        """``OUT/review_agreement.csv``: reader agreement (no identifier, no initials)."""
        return self.root / "review_agreement.csv"

    @property
    def review_summary_json(self) -> Path:
        """``OUT/review_summary.json``: review counts and kappa."""
        return self.root / "review_summary.json"

    @property
    def changes_csv(self) -> Path:
        """``OUT/changes.csv``: what changed since the previous audit."""
        return self.root / "changes.csv"

    @property
    def runs_dir(self) -> Path:
        """``OUT/runs/``: one folder per kept audit."""
        return self.root / "runs"

    def run_dir(self, run_id: str) -> OutLayout:
        """The layout of ``OUT/runs/<run_id>/`` (same file names as OUT for what it keeps)."""
        return OutLayout(self.runs_dir / run_id)

    @property
    def changes_json(self) -> Path:
        """``changes.json`` of a kept run folder (counts of :attr:`changes_csv`)."""
        return self.root / "changes.json"

    @property
    def lock(self) -> Path:
        """``OUT/.imncohort.lock``: the lock of the run using OUT (holds its pid only)."""
        return self.root / ".imncohort.lock"

    # -------------------------------------------------------------- restricted side
    @property
    def restricted(self) -> Path:
        """``OUT/restricted/`` (0700)."""
        return self.root / RESTRICTED

    @property
    def secret(self) -> Path:
        """``OUT/restricted/secret``: the HMAC secret (0600)."""
        return self.restricted / "secret"

    @property
    def index_dir(self) -> Path:
        """``OUT/restricted/index/``: the index tables (raw paths, descriptions)."""
        return self.restricted / "index"

    def index_table(self, name: str) -> Path:
        """``OUT/restricted/index/<name>.parquet`` (``name`` in :data:`INDEX_TABLES`)."""
        return self.index_dir / f"{name}.parquet"

    @property
    def index_shards_dir(self) -> Path:
        """``OUT/restricted/index/shards/``: per-chunk shards of the index."""
        return self.index_dir / "shards"

    @property
    def identity_shards_dir(self) -> Path:
        """``OUT/restricted/index_shards/``: the identity part of each shard."""
        return self.restricted / "index_shards"

    @property
    def identities_parquet(self) -> Path:
        """``OUT/restricted/identities.parquet``: keys with PatientID, name, accession..."""
        return self.restricted / "identities.parquet"

    @property
    def worklist_csv(self) -> Path:
        """``OUT/restricted/worklist.csv``: one row per report to review (with the sentence)."""
        return self.restricted / "worklist.csv"

    @property
    def mention_sentences_parquet(self) -> Path:
        """``OUT/restricted/mention_sentences.parquet``: mention_id -> sentence."""
        return self.restricted / "mention_sentences.parquet"

    @property
    def state_dir(self) -> Path:
        """``OUT/restricted/state/``: what a stage keeps between runs."""
        return self.restricted / "state"

    def stage_errors_csv(self, stage: str) -> Path:
        """``OUT/restricted/state/errors_<stage>.csv``: a stage's error records (raw paths)."""
        return self.state_dir / f"errors_{stage}.csv"

    @property
    def index_state_json(self) -> Path:
        """``OUT/restricted/state/index.json``: the index's format, token and summary."""
        return self.state_dir / "index.json"

    @property
    def measure_state_dir(self) -> Path:
        """``OUT/restricted/state/measure/``: per-study rows, input hash, errors."""
        return self.state_dir / "measure"

    @property
    def review_dir(self) -> Path:
        """``OUT/restricted/review/``: the reviewers' workbook, page and state."""
        return self.restricted / "review"

    @property
    def review_returned_dir(self) -> Path:
        """``OUT/restricted/review/returned/``: completed workbooks read on the next run."""
        return self.review_dir / "returned"

    @property
    def review_state_json(self) -> Path:
        """``OUT/restricted/review/state.json``: kept decisions."""
        return self.review_dir / "state.json"

    @property
    def review_workbook_xlsx(self) -> Path:
        """``OUT/restricted/review/worklist.xlsx``."""
        return self.review_dir / "worklist.xlsx"

    @property
    def review_workbook_csv(self) -> Path:
        """``OUT/restricted/review/worklist.csv``."""
        return self.review_dir / "worklist.csv"

    @property
    def review_page_html(self) -> Path:
        """``OUT/restricted/review/index.html``: the items with their QC pictures."""
        return self.review_dir / "index.html"

    @property
    def to_annotate_csv(self) -> Path:
        """``OUT/restricted/review/to_annotate.csv``."""
        return self.review_dir / "to_annotate.csv"

    @property
    def review_agreement_private_csv(self) -> Path:
        """``OUT/restricted/review/agreement.csv`` (also per pair of initials)."""
        return self.review_dir / "agreement.csv"

    def package_record_dir(self, name: str) -> Path:
        """``OUT/restricted/packages/<name>/``: a package's date shifts and source paths."""
        return self.restricted / "packages" / name

    def prefect_dir(self, folder: str) -> Path:
        """``OUT/restricted/<folder>/``: what Prefect keeps (results can hold sentences)."""
        return self.restricted / folder

    def is_restricted(self, path: Path | str) -> bool:
        """Whether ``path`` (absolute, or relative to OUT) lies under ``OUT/restricted/``."""
        path = Path(path)
        if not path.is_absolute():
            path = self.root / path
        return self.restricted in path.parents


def restricted(out: Path | str) -> Path:
    """Return ``OUT/restricted`` (not created)."""
    return OutLayout(out).restricted


def index_dir(out: Path | str) -> Path:
    """Return ``OUT/restricted/index`` (the index tables: raw paths, descriptions)."""
    return OutLayout(out).index_dir


def index_table(out: Path | str, name: str) -> Path:
    """Return ``OUT/restricted/index/<name>.parquet``."""
    return OutLayout(out).index_table(name)


def state_dir(out: Path | str) -> Path:
    """Return ``OUT/restricted/state`` (what a stage keeps between runs)."""
    return OutLayout(out).state_dir


def measure_state_dir(out: Path | str) -> Path:
    """Return ``OUT/restricted/state/measure`` (per-study rows, input hash, errors)."""
    return OutLayout(out).measure_state_dir


def remove_legacy_public(out: Path | str) -> list[str]:
    """Delete ``OUT/index`` and ``OUT/state`` left by older versions; return what went."""
    removed = []
    for name in LEGACY_PUBLIC:
        path = Path(out) / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(name)
    return removed
