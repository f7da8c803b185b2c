"""DICOM code extensions (ISO 2022) decode through pydicom behind the plausibility check."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from imncohort.config import load_config
from imncohort.errors import InputError
from imncohort.reports.charset import decode_text
from imncohort.reports.stage import run_reports_stage
from imncohort.schemas.errors import stage_errors_path

from .conftest import text_item, write_index, write_sr

ESC = b"\x1b"
CASES = [
    # (declared terms, raw bytes, expected text); bytes written by hand per PS3.5 Annex H-K
    (
        ["ISO 2022 IR 6", "ISO 2022 IR 87"],
        b"Yamada^Tarou=" + ESC + b"$B;3ED" + ESC + b"(B^" + ESC + b"$BB@O:" + ESC + b"(B",
        "Yamada^Tarou=山田^太郎",
    ),
    (["ISO 2022 IR 6", "ISO 2022 IR 149"], ESC + b"$)C" + "림프절".encode("euc_kr"), "림프절"),
    (["ISO 2022 IR 126"], ESC + b"-F" + "Λεμφαδένας".encode("iso8859_7"), "Λεμφαδένας"),
    (["ISO 2022 IR 144"], ESC + b"-L" + "Лимфоузел".encode("iso8859_5"), "Лимфоузел"),
    (
        ["ISO 2022 IR 6", "ISO 2022 IR 58"],
        ESC + b"$)A" + "左侧内乳淋巴结肿大，考虑转移。".encode("gb2312"),
        "左侧内乳淋巴结肿大，考虑转移。",
    ),
    (
        ["ISO 2022 IR 6", "ISO 2022 IR 87", "ISO 2022 IR 159"],
        b"IMN " + "丂".encode("iso2022_jp_2"),
        "IMN 丂",
    ),
]


@pytest.mark.parametrize(("terms", "raw", "expected"), CASES)
def test_code_extensions_decode(terms: list[str], raw: bytes, expected: str) -> None:
    decoded = decode_text(raw, terms)
    assert (decoded.text, decoded.note) == (expected, "")
    assert decoded.encoding == "+".join(terms)


def test_iso_ir_203_still_decodes() -> None:
    decoded = decode_text("Größe 12 mm €".encode("iso8859_15"), ["ISO_IR 203"])
    assert (decoded.text, decoded.encoding, decoded.note) == ("Größe 12 mm €", "iso8859-15", "")


def test_code_extension_without_escape_goes_to_the_fallbacks() -> None:
    # GB2312 bytes declared as ISO 2022 with an ASCII default but no escape sequence
    raw = "内乳淋巴结肿大".encode("gb2312")
    decoded = decode_text(raw, ["ISO 2022 IR 6", "ISO 2022 IR 58"])
    assert (decoded.text, decoded.encoding) == ("内乳淋巴结肿大", "gb18030")
    assert "does not fit the declared ISO 2022 IR 6\\ISO 2022 IR 58" in decoded.note


def test_lossy_code_extension_is_not_accepted() -> None:
    # an escape into JIS X 0208 followed by bytes that are not JIS: pydicom would replace
    # them; the lossy text is refused and no fallback is plausible (the escape remains)
    raw = b"IMN " + ESC + b"$B\xff\xfe" + ESC + b"(B"
    with pytest.raises(InputError, match="none gave plausible text"):
        decode_text(raw, ["ISO 2022 IR 6", "ISO 2022 IR 87"], fallbacks=("latin-1",))


def test_sr_in_iso_2022_ir_58_is_mined(tmp_path: Path) -> None:
    export, out = tmp_path / "export", tmp_path / "out"
    raw = ESC + b"$)A" + "左侧内乳淋巴结肿大，考虑转移。".encode("gb2312")
    write_sr(
        export / "sr.dcm",
        [text_item("Impression", raw)],
        charset="ISO 2022 IR 6\\ISO 2022 IR 58",
    )
    write_index(out, [("sr.dcm", "sr")])
    run_reports_stage(export, out, load_config(), b"secret")
    mentions = pd.read_parquet(out / "mentions.parquet")
    assert list(zip(mentions["term"], mentions["assertion"], mentions["rule"], strict=True)) == [
        ("内乳淋巴结", "affirmed", "affirmed.impression")
    ]
    errors = pd.read_csv(stage_errors_path(out, "reports"))
    assert errors.empty
