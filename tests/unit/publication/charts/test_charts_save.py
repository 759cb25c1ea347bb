"""Saving charts: offline HTML, PNG and SVG through vl-convert; anything else is refused."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from chart_frames import funnel_frames, funnel_meta, spc_frame, spc_meta

from gpaccess.errors import UserError
from gpaccess.publication.charts.common import save_chart
from gpaccess.publication.charts.funnel import funnel_chart
from gpaccess.publication.charts.spc import spc_chart


@pytest.fixture(scope="module")
def chart():
    return funnel_chart(*funnel_frames(25), funnel_meta("none", highlight_codes=("Y10000",)))


def test_html_is_self_contained(chart, tmp_path):
    out = save_chart(chart, tmp_path / "funnel.html")
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.IGNORECASE)  # nothing fetched
    assert "https://cdn" not in html
    assert not re.search(r"""import\s*(?:[^;]*?from\s*)?["']https?://""", html)  # no remote ES modules
    assert "vegaEmbed(" in html and len(html) > 300_000  # the Vega bundle is inline
    assert "Y10000" in html


def test_html_bundle_is_valid_javascript(chart, tmp_path):
    """The inlined bundle compiles as a classic script (no network, no module loader needed)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed: the structural checks above still apply")
    html = save_chart(chart, tmp_path / "f.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.DOTALL)
    bundle = tmp_path / "bundle.js"
    bundle.write_text("\n".join(scripts), encoding="utf-8")
    done = subprocess.run([node, "--check", str(bundle)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[:2000]


def test_png_and_svg(chart, tmp_path):
    png = save_chart(chart, tmp_path / "funnel.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000
    width = int.from_bytes(data[16:20], "big")
    assert width > 1200  # scale 2
    svg = save_chart(chart, tmp_path / "funnel.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<svg") and "</svg>" in svg
    assert "Practices are never ranked." in svg


def test_spc_saves(tmp_path):
    chart = spc_chart(spc_frame(), spc_meta(target=0.65))
    assert save_chart(chart, tmp_path / "sub" / "spc.PNG").read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["spc.PNG"]  # no temporary file left behind


@pytest.mark.parametrize("name", ["chart.pdf", "chart.json", "chart", "chart.jpeg"])
def test_unknown_suffix_refused(chart, tmp_path, name):
    with pytest.raises(UserError, match=r"\.html, \.png, \.svg"):
        save_chart(chart, tmp_path / name)
    assert not list(tmp_path.iterdir())
