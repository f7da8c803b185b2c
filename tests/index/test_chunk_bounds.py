"""How an index run splits the files it reads into chunks (one Prefect task each)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from index_factory import PYDICOM_TEST_FILES, SECRET

from imncohort.index.plan import chunk_bounds, plan_index


def sizes(n: int, chunk_size: int, parallel: int = 1) -> list[int]:
    bounds = chunk_bounds(n, chunk_size, parallel)
    assert bounds[0][0] == 0 and bounds[-1][1] == n  # every file, once, in order
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    return [stop - start for start, stop in bounds]


@pytest.mark.parametrize(
    ("n", "chunk_size", "parallel", "expected"),
    [
        (10, 4, 1, [4, 4, 2]),  # one worker: fixed-size chunks, the last shorter (as before)
        (20_000, 10_000, 2, [10_000, 10_000]),  # one chunk per worker
        (12_000, 10_000, 2, [6_000, 6_000]),  # not 10,000 + 2,000: no idle worker
        (30_000, 10_000, 2, [7_500] * 4),  # three chunks would fit; four keep two workers even
        (100_001, 10_000, 2, [8_334] * 5 + [8_333] * 7),  # 12 chunks; sizes differ by one at most
        (3, 10_000, 4, [1, 1, 1]),  # never an empty chunk
        (7, 10_000, 2, [4, 3]),
    ],
)
def test_chunks_are_few_equal_and_within_the_size(
    n: int, chunk_size: int, parallel: int, expected: list[int]
) -> None:
    assert sizes(n, chunk_size, parallel) == expected


def test_no_files_no_chunks() -> None:
    assert chunk_bounds(0, 10, 2) == []


def test_a_plan_over_pydicoms_test_files_reads_each_file_once_in_even_chunks(
    tmp_path: Path,
) -> None:
    """pydicom's own test files (not written here), planned for three workers, 40 at most."""
    plan = plan_index(PYDICOM_TEST_FILES, tmp_path / "out", 40, SECRET, parallel=3)
    n = len(plan.entries)
    assert n == plan.files_to_read > 120  # a fresh index reads every walked file
    read = [e.path for c in plan.chunks for e in c.entries]
    assert read == [e.path for e in plan.entries]  # each file once, in walk order
    expected = sizes(n, 40, 3)
    assert [len(c.entries) for c in plan.chunks] == expected
    assert len(expected) % 3 == 0 and max(expected) - min(expected) <= 1
    assert len({c.shard for c in plan.chunks}) == len(plan.chunks)  # one shard name each
