"""Charts on the web: the same chart objects as the reports, drawn server-side as SVG (vl-convert) and served
as images, each page carrying the chart's table beside it (DESIGN "Charts and CSP": no script needed)."""

from __future__ import annotations

from fastapi.responses import Response

from gpaccess.publication.charts.common import chart_svg

# An SVG shown through <img> runs no script; its own styles are inline attributes, allowed for it alone.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def svg_response(chart) -> Response:
    """An image response: `chart` is an Altair chart (drawn here by vl-convert) or SVG text already drawn."""
    response = Response(chart if isinstance(chart, str) else chart_svg(chart), media_type="image/svg+xml")
    response.headers["X-Chart-CSP"] = SVG_CSP
    return response
