"""Fixtures of the package tests (helpers in ``pkgsupport``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pkgsupport import PACKAGE_SECRET, audit_in_process


@pytest.fixture(autouse=True)
def package_secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("IMNCOHORT_SECRET", PACKAGE_SECRET)
    yield PACKAGE_SECRET


@pytest.fixture(scope="session")
def audited_demo(demo_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUT of the shared 6-patient demo export."""
    mp = pytest.MonkeyPatch()
    mp.setenv("IMNCOHORT_SECRET", PACKAGE_SECRET)
    try:
        return audit_in_process(demo_export, tmp_path_factory.mktemp("pkg-out") / "out")
    finally:
        mp.undo()
