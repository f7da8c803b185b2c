"""Junk files of the demo export: none of them is readable DICOM.

Each writer returns ``(relative path, why)`` for ``ground_truth.json``.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

#: Explicit-VR element headers with a 4-byte length: cutting inside that length makes
#: pydicom fail even with ``force=True``.
LONG_VRS = (b"SQ", b"OB", b"UT", b"UN", b"OW")


def _unreadable(data: bytes) -> bool:
    for force in (False, True):
        try:
            pydicom.dcmread(io.BytesIO(data), force=force)
        except Exception:
            continue
        return False
    return True


def truncated_bytes(ds: Dataset) -> bytes:
    """Encode ``ds`` (explicit VR little endian) and cut it inside an element header.

    The cut falls two bytes into the 4-byte length of the first long-VR element after
    the file meta, so ``pydicom.dcmread`` raises with and without ``force``.
    """
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    meta_length = struct.unpack("<I", data[140:144])[0]
    start = 144 + meta_length
    candidates = sorted(
        data.find(vr + b"\x00\x00", start)
        for vr in LONG_VRS
        if data.find(vr + b"\x00\x00", start) > 0
    )
    for position in candidates + list(range(len(data) // 2, start, -1)):
        cut = data[: position + 6] if position in candidates else data[:position]
        if _unreadable(cut):
            return cut
    raise RuntimeError("could not find a cut that pydicom cannot read")  # pragma: no cover


def write_junk(
    root: Path, folders: list[str], rng: np.random.Generator, dicom_to_cut: Dataset
) -> list[dict[str, str]]:
    """Write the junk files under ``root`` (spread over ``folders``); return their records."""

    def place(index: int, name: str) -> Path:
        folder = root / folders[index % len(folders)]
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    entries: list[tuple[Path, str, bytes]] = [
        (
            root / "notes.txt",
            "plain text note",
            b"Export notes: demo PACS export, synthetic data.\n",
        ),
        (place(0, "Thumbs.db"), "Windows thumbnail cache", b"\xd0\xcf\x11\xe0" + rng.bytes(508)),
        (place(1, "x.dcm"), "random bytes with a .dcm name", rng.bytes(4096)),
        (place(2, "EMPTY"), "zero-byte file", b""),
        (
            place(3, "IM_TRUNC.dcm"),
            "truncated DICOM (cut inside an element header)",
            truncated_bytes(dicom_to_cut),
        ),
    ]
    records = []
    for path, why, data in entries:
        path.write_bytes(data)
        records.append({"path": path.relative_to(root).as_posix(), "why": why})
    return records
