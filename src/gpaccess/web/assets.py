"""Where the NHS.UK frontend's compiled files are: `src/gpaccess/web/vendor/`, filled by `make web-assets`
(scripts/web-assets: `npm ci` of the committed lock file in `web-assets/`, then a copy of the package's
`dist/nhsuk` CSS, JavaScript and `assets/`). Nothing is fetched at run time and no CDN is used."""

from __future__ import annotations

from pathlib import Path

VENDOR = Path(__file__).with_name("vendor")
CSS = "nhsuk-frontend.min.css"
JS = "nhsuk-frontend.min.js"


def folder() -> Path | None:
    """The built assets, or None when `make web-assets` has not run."""
    return VENDOR if (VENDOR / CSS).is_file() and (VENDOR / "assets").is_dir() else None
