"""Headless Chromium for tests: load a page, run a probe script, return its JSON result.

The approach of ``tests/tables/test_report_html.py``: the probe is appended to a copy of
the page, runs on ``load`` and writes its result into a ``<pre>``; ``--dump-dom`` prints it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"

IMAGES_PROBE = """<script>
window.addEventListener("load", function () {
  var result = [];
  document.querySelectorAll("img").forEach(function (img) {
    result.push([img.className, img.complete, img.naturalWidth, img.naturalHeight]);
  });
  var pre = document.createElement("pre");
  pre.id = "probe-result";
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
});
</script>"""


def require_chromium() -> None:
    """Skip the test (with the reason printed) when Chromium is not installed."""
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        reason = f"{CHROMIUM} is not installed (apt-get install -y chromium); browser test skipped"
        print(reason)
        pytest.skip(reason)


def probe_page(page: Path, probe: str, profile: Path) -> Any:
    """Open ``page`` (with ``probe`` appended, saved next to it) and return the probe's JSON."""
    probed = page.with_name(f".probe-{page.name}")
    probed.write_text(page.read_text("utf-8").replace("</body>", probe + "</body>"), "utf-8")
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
        "--allow-file-access-from-files",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=15000",
        "--dump-dom",
        probed.as_uri(),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    finally:
        probed.unlink()
    assert done.returncode == 0, done.stderr[-2000:]
    match = re.search(r'<pre id="probe-result">(.*?)</pre>', done.stdout, re.S)
    assert match, "the probe did not run: " + done.stdout[-500:]
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
