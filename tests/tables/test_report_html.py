"""report.html is self-contained, escaped, and renders in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from paper_cohort import SECRET, PaperCohort, write_inputs

from imncohort.config import Config
from imncohort.outputs import ErrorRecord, write_json
from imncohort.schemas.errors import write_stage_errors
from imncohort.tables.stage import TABLE_NAMES, build_tables

CHROMIUM = "/usr/bin/chromium"
N_FIGURES = 4


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def report_out(
    tmp_path_factory: pytest.TempPathFactory, paper: PaperCohort, config: Config
) -> Path:
    base = tmp_path_factory.mktemp("report")
    out, export = base / "out", base / "export"
    clinical = write_inputs(out, paper, export)
    write_stage_errors(
        out,
        "index",
        [
            ErrorRecord(
                "DOE^JANE/IM0001", "index", "not a DICOM file: '<script>alert(1)</script>'"
            ),
            ErrorRecord("DOE^JANE/IM0002", "index", "truncated pixel data in 1.2.840.1234.5.6"),
            ErrorRecord("x/IM3", "index", "not a DICOM file: 'x/IM3'"),
        ],
    )
    write_json(
        {
            "version": "0.1.0",
            "started_unix": 1.7e9,
            "seconds": 12.5,
            "config": {"a": 1},
            "stages": {"index": {"files": 10, "seconds": 1.5}},
            "inputs": {"dicom_files": 10},
        },
        out / "run.json",
    )
    build_tables(out, config, SECRET, clinical, export=export)
    return out


def test_report_is_self_contained_and_escaped(report_out: Path) -> None:
    text = (report_out / "report.html").read_text("utf-8")
    parser = _Collector()
    parser.feed(text)
    tags = [t for t, _ in parser.tags]
    assert "script" not in tags and "link" not in tags and "iframe" not in tags
    images = [a for t, a in parser.tags if t == "img"]
    assert len(images) == N_FIGURES
    assert all(str(a["src"]).startswith("data:image/png;base64,") for a in images)
    assert not re.search(r"(src|href)=\"(?!data:)", text)
    assert "http://" not in text and "https://" not in text
    tables = {a["id"]: a for t, a in parser.tags if t == "table"}
    for name in TABLE_NAMES:
        assert f"table-{name}" in tables
    assert tables["table-coverage"]["data-rows"] == "22"
    # Data quality: counts by stage and masked reason, no path, no identifier, escaped.
    assert "DOE^JANE" not in text and "1.2.840.1234.5.6" not in text
    assert "<script>alert" not in text
    assert "3 bad input(s)" in text
    assert "not a DICOM file: &#x27;…&#x27;</td><td>2</td>" in text
    assert "truncated pixel data in &lt;uid&gt;</td><td>1</td>" in text
    # Run metadata from run.json.
    assert "<dt>version</dt><dd>0.1.0</dd>" in text
    assert "Resolved configuration" in text


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


_PROBE = """<script>
window.addEventListener("load", function () {
  var result = {images: [], tables: {}};
  document.querySelectorAll("img").forEach(function (img) {
    result.images.push([img.id, img.complete, img.naturalWidth, img.naturalHeight]);
  });
  document.querySelectorAll("table").forEach(function (t) {
    var body = t.tBodies.length ? t.tBodies[0].rows.length : 0;
    result.tables[t.id] = [body, t.getBoundingClientRect().height];
  });
  var pre = document.createElement("pre");
  pre.id = "probe-result";
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
});
</script>"""


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)


def test_report_renders_in_headless_chromium(report_out: Path, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        reason = f"{CHROMIUM} is not installed (apt-get install -y chromium); browser test skipped"
        print(reason)
        pytest.skip(reason)
    page = tmp_path / "report.html"
    shutil.copy(report_out / "report.html", page)
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text("utf-8").replace("</body>", _PROBE + "</body>"), "utf-8")

    dumped = _chromium(
        ["--virtual-time-budget=10000", "--dump-dom", probe.as_uri()], tmp_path / "profile1"
    )
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    match = re.search(r'<pre id="probe-result">(.*?)</pre>', dumped.stdout, re.S)
    assert match, "the probe did not run: " + dumped.stdout[-500:]
    result = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))

    assert len(result["images"]) == N_FIGURES
    for image_id, complete, width, height in result["images"]:
        assert complete, image_id
        assert width > 300 and height > 300, (image_id, width, height)
    expected_rows = {name: len(pd.read_csv(report_out / f"{name}.csv")) for name in TABLE_NAMES}
    expected_rows["coverage_2d"] = 11  # shown as a matrix: one row per dorsal-ventral margin
    for name, rows in expected_rows.items():
        body_rows, height = result["tables"][f"table-{name}"]
        assert body_rows == rows, name
        assert height > 20 * rows, name  # rendered, not collapsed
    assert result["tables"]["table-errors"][0] == 2

    screenshot = tmp_path / "report.png"
    shot = _chromium(
        [f"--screenshot={screenshot}", "--window-size=1280,4000", page.as_uri()],
        tmp_path / "profile2",
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert _png_size(screenshot) == (1280, 4000)
    print(f"screenshot saved to {screenshot}")
