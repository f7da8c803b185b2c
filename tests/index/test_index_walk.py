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


def test_symlinked_dir_walked_once_and_broken_link(export: Path) -> None:
    inside = export / "real"
    inside.mkdir()
    (inside / "g").write_bytes(b"y")
    os.symlink(inside, export / "link1")
    os.symlink(inside, export / "link2")
    os.symlink(export / "missing", export / "dangling")
    result = walk_export(export)
    assert [e.path for e in result.entries] == ["real/g"]
    assert [(e.path, e.reason.split(" (")[0]) for e in result.errors] == [
        ("dangling", "broken symbolic link")
    ]


def test_links_out_of_the_export_are_listed_not_followed(export: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "outside_patient.dcm").write_bytes(b"y")
    os.symlink(elsewhere, export / "to_dir")
    os.symlink(elsewhere / "outside_patient.dcm", export / "to_file")
    os.symlink("/", export / "to_root")
    (export / "own").write_bytes(b"x")
    os.symlink(export / "own", export / "alias")  # one file by two paths
    os.link(export / "own", export / "hard")
    result = walk_export(export)
    assert [e.path for e in result.entries] == ["hard"] or [e.path for e in result.entries] == [
        "own"
    ]
    kept = result.entries[0].path
    same = f"the same file as '{kept}' (a link or hard link); indexed once, under that path"
    outside = "symbolic link to a place outside the export; not followed"
    expected = {"to_dir": outside, "to_file": outside, "to_root": outside, "alias": same}
    expected.update({p: same for p in ("hard", "own") if p != kept})
    assert {e.path: e.reason for e in result.errors} == expected


def test_non_utf8_names_are_stored_losslessly(export: Path) -> None:
    from imncohort.paths import export_file

    raw = os.fsencode(export) + b"/M\xfcller^Hans"
    os.mkdir(raw)
    with open(raw + b"/IM\xe9", "wb") as handle:
        handle.write(b"z")
    result = walk_export(export)
    assert [e.path for e in result.entries] == ["M\\xfcller^Hans/IM\\xe9"]
    assert export_file(export, result.entries[0].path).read_bytes() == b"z"


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
