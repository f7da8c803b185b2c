"""Fixtures of the index tests; the file factories live in ``index_factory``."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture()
def export(tmp_path: Path) -> Path:
    """An empty export directory."""
    path = tmp_path / "export"
    path.mkdir()
    return path


@pytest.fixture()
def out(tmp_path: Path) -> Path:
    """An empty output directory."""
    return tmp_path / "out"
