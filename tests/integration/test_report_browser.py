"""The report opens in a real browser (headless Chromium): no console errors, every chart
and ring picture decodes, a ring node clicked shows its customer's tags and reasons, and
screenshots are taken.

Two independent checks of console errors: Chromium's own console log on stderr
(``--enable-logging=stderr``) for the report as written, and a probe copy of the report
whose first script records ``error`` events and ``console.error`` calls and, on load,
writes them with every image's decoded size into the DOM that ``--dump-dom`` prints.

Skipped with a visible reason when Chromium is missing, except under ``CI=true``.
Set ``GRAPHPROFILE_SCREENSHOT_DIR`` to keep the screenshot (e.g. as a CI artifact).
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from matplotlib.image import imread

from graphprofile.sinks.report import write_report_for

ROOT = Path(__file__).resolve().parents[2]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  window.__errors.push('error: ' + (e.message || ('failed to load ' + (e.target && e.target.id))));
}, true);
var __consoleError = console.error;
console.error = function () {
  window.__errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
  __consoleError.apply(console, arguments);
};
window.addEventListener('load', function () {
  var out = document.createElement('pre');
  out.id = '__probe';
  out.textContent = JSON.stringify({
    errors: window.__errors,
    images: Array.prototype.map.call(document.images, function (i) {
      return {id: i.id, kind: i.dataset.kind, complete: i.complete,
              width: i.naturalWidth, height: i.naturalHeight};
    })
  });
  document.body.appendChild(out);
});
</script>"""


def _fixture_module() -> Any:
    path = ROOT / "tests" / "unit" / "test_report_data.py"
    spec = importlib.util.spec_from_file_location("report_fixture_run", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile.mkdir(parents=True, exist_ok=False)  # a new, empty profile for every launch
    return subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def probe(browser: str, report: Path, work: Path) -> dict[str, Any]:
    """Open a probe copy of the report; return the errors and images it recorded."""
    text = report.read_text(encoding="utf-8")
    copy = work / "probe.html"
    copy.write_text(text.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    done = run_chromium(
        browser,
        work / "profile-probe",
        "--virtual-time-budget=10000",
        "--dump-dom",
        copy.as_uri(),
    )
    found = re.search(r'<pre id="__probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"probe did not run:\n{done.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


CLICK = """<script>
function __click() {
  var box = document.getElementById('cy-ring-1');
  var out = {graph: !!(box && box.__cy)};
  if (out.graph) {
    var cy = box.__cy;
    var node = cy.nodes('[customer]').sort(function (a, b) {
      return a.id() < b.id() ? -1 : 1; })[0];
    var rect = box.getBoundingClientRect();
    var p = node.renderedPosition();
    var x = rect.left + p.x, y = rect.top + p.y;
    var target = document.elementFromPoint(x, y);
    out.target = target ? target.tagName : null;
    out.customer = node.data('customer');
    ['mousedown', 'mouseup'].forEach(function (type) {
      target.dispatchEvent(new MouseEvent(type, {bubbles: true, cancelable: true, view: window,
        clientX: x, clientY: y, button: 0, buttons: type === 'mousedown' ? 1 : 0}));
    });
    out.nodes = cy.nodes().length;
    out.edges = cy.edges().length;
  }
  setTimeout(function () {
    out.details = document.getElementById('cy-ring-1-details').textContent;
    var pre = document.createElement('pre');
    pre.id = '__click';
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }, 300);
}
window.addEventListener('load', function () {
  // into view (a no-op when it is); cytoscape caches its place until the scroll event
  document.getElementById('cy-ring-1').scrollIntoView({block: 'nearest'});
  setTimeout(__click, 300);
});
</script>"""
#: The screenshot shows the top rings at the top of the page (a headless screenshot does
#: not follow a scroll).
RINGS_FIRST = "<style>header, main > section:not(#rings) { display: none; }</style>"


def console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = _fixture_module().make_run(tmp_path_factory.mktemp("browser") / "out")
    return write_report_for(out)


EXPECTED = {"chart-communities", "chart-pagerank", "chart-risk", "chart-ring-kinds"}
EXPECTED |= {"ring-img-1", "ring-img-2"}


def test_report_opens_without_console_errors(chromium: str, report: Path, tmp_path: Path) -> None:
    done = run_chromium(
        chromium,
        tmp_path / "profile",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        "--dump-dom",
        report.as_uri(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Top rings" in done.stdout  # the page really rendered
    assert console_messages(done.stderr) == []
    result = probe(chromium, report, tmp_path)
    assert result["errors"] == []


def test_every_chart_and_ring_picture_is_decoded(
    chromium: str, report: Path, tmp_path: Path
) -> None:
    images = {img["id"]: img for img in probe(chromium, report, tmp_path)["images"]}
    assert set(images) == EXPECTED
    for ident, img in images.items():
        assert img["complete"] and img["width"] > 300 and img["height"] > 200, img
        assert img["kind"] == ("ring" if ident.startswith("ring") else "chart")


def test_probe_catches_a_broken_picture(chromium: str, report: Path, tmp_path: Path) -> None:
    """The checks above can fail: a corrupted image is reported as an error, size 0."""
    broken = tmp_path / "broken.html"
    text = report.read_text(encoding="utf-8")
    broken.write_text(re.sub(r"base64,[A-Za-z0-9+/=]{40}", "base64,AAAA", text, count=1))
    result = probe(chromium, broken, tmp_path)
    sizes = [img["width"] for img in result["images"]]
    assert 0 in sizes
    assert any("failed to load" in e for e in result["errors"])


def test_screenshot(chromium: str, report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = run_chromium(
        chromium,
        tmp_path / "profile-shot",
        f"--screenshot={shot}",
        "--window-size=1280,4000",
        "--hide-scrollbars",
        report.as_uri(),
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    pixels = imread(shot)
    assert pixels.shape[:2] == (4000, 1280)
    assert pixels.std() > 0.05  # not a blank page
    keep = os.environ.get("GRAPHPROFILE_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "report.png")


def test_clicking_a_ring_node_shows_its_details(
    chromium: str, report: Path, tmp_path: Path
) -> None:
    """A real mouse click (DOM events at the node's place, through cytoscape's hit test)."""
    page = tmp_path / "click.html"
    text = report.read_text(encoding="utf-8")
    page.write_text(text.replace("</body>", CLICK + "</body>", 1), encoding="utf-8")
    shown = tmp_path / "click-rings-first.html"
    shown.write_text(
        text.replace("</head>", RINGS_FIRST + "</head>", 1).replace(
            "</body>", CLICK + "</body>", 1
        ),
        encoding="utf-8",
    )
    done = run_chromium(
        chromium,
        tmp_path / "profile-click",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        "--dump-dom",
        page.as_uri(),
    )
    found = re.search(r'<pre id="__click">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stderr[-2000:]
    result = json.loads(html.unescape(found.group(1)))
    assert result["graph"] and result["target"] == "CANVAS", result
    assert result["nodes"] >= 3 and result["edges"] >= 2
    customer = result["customer"]
    assert result["details"].startswith(f"Customer {customer}"), result
    assert "known fraud: " in result["details"] and "ring_member" in result["details"]
    assert console_messages(done.stderr) == []
    shot = tmp_path / "clicked.png"
    done = run_chromium(
        chromium,
        tmp_path / "profile-click-shot",
        f"--screenshot={shot}",
        "--window-size=1280,900",
        "--hide-scrollbars",
        "--virtual-time-budget=10000",
        shown.as_uri(),
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    assert imread(shot).std() > 0.05
    keep = os.environ.get("GRAPHPROFILE_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "report-ring-clicked.png")


def test_print_keeps_a_static_picture_of_each_ring(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert text.count('<figure class="print-only"><img') == 2  # one per ring
    assert text.count('class="cy"') == 4  # 2 rings and 2 communities
    assert "@media print" in text
