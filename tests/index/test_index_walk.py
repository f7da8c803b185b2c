"""The walk: files with size and mtime, symlink loops, broken links, excluded output."""

from __future__ import annotations

import os
from pathlib import Path

from imncohort.index.walk import REASON_LOOP, walk_export


def test_walk_lists_files_with_size_and_mtime(export: Path) -> None:
    (export / "a" / "b").mkdir(parents=True)
    (export / "a" / "b" / "x").write_bytes(b"12345")
    (export / "top.csv").write_text("h\n")
    result = walk_export(export)
    assert [e.path for e in result.entries] == ["a/b/x", "top.csv"]
    assert result.entries[0].size == 5
    assert result.entries[0].mtime_ns == os.stat(export / "a" / "b" / "x").st_mtime_ns
    assert result.errors == []


def test_symlink_loop_is_recorded_not_followed(export: Path) -> None:
    (export / "d").mkdir()
    (export / "d" / "f").write_bytes(b"x")
    os.symlink("..", export / "d" / "up")  # d/up -> export: a loop
    os.symlink("self", export / "self")  # a link pointing at itself
    result = walk_export(export)
    assert [e.path for e in result.entries] == ["d/f"]
    reasons = {e.path: e.reason for e in result.errors}
    assert reasons["d/up"] == REASON_LOOP
    assert reasons["self"] == REASON_LOOP


def test_symlinked_dir_walked_once_and_broken_link(export: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "g").write_bytes(b"y")
    os.symlink(elsewhere, export / "link1")
    os.symlink(elsewhere, export / "link2")
    os.symlink(tmp_path / "missing", export / "dangling")
    result = walk_export(export)
    assert [e.path for e in result.entries] == ["link1/g"]
    assert [(e.path, e.reason.split(" (")[0]) for e in result.errors] == [
        ("dangling", "broken symbolic link")
    ]


def test_output_inside_export_is_excluded(export: Path) -> None:
    (export / "f").write_bytes(b"x")
    (export / "out" / "index").mkdir(parents=True)
    (export / "out" / "index" / "instances.parquet").write_bytes(b"x")
    result = walk_export(export, exclude=export / "out")
    assert [e.path for e in result.entries] == ["f"]


def test_unreadable_directory_is_recorded(export: Path, monkeypatch: object) -> None:
    import pytest

    (export / "closed").mkdir()
    (export / "closed" / "f").write_bytes(b"x")
    real_scandir = os.scandir

    def fake_scandir(path: str) -> object:
        if str(path).endswith("closed"):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setattr("imncohort.index.walk.os.scandir", fake_scandir)
    result = walk_export(export)
    assert result.entries == []
    assert [(e.path, e.reason) for e in result.errors] == [
        ("closed", "permission denied (directory not walked)")
    ]
