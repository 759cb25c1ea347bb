"""Download a Fingertips indicator for GP practices as the API's CSV, byte for byte, so the file ingests like
any other (its sha256 is the release's identity).

httpx is used directly rather than `fingertips_py`: that client takes its address from a module-level
`base_url` constant imported by value into each of its modules (no setting, so it cannot be pointed at a test
server or a mirror without patching globals), fetches with urllib, and hands back pandas frames after its own
parsing, whereas gpaccess needs the published CSV unchanged.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from gpaccess.errors import DownloadError

DEFAULT_BASE_URL = "https://fingertips.phe.org.uk/api"
GP_PRACTICES = 7  # Fingertips area type id of GP practices


def indicator_url(base_url: str, indicator: int, area_type: int = GP_PRACTICES) -> str:
    return (
        f"{base_url.rstrip('/')}/all_data/csv/by_indicator_id?indicator_ids={indicator}&child_area_type_id={area_type}"
    )


def download_indicator(
    base_url: str,
    indicator: int,
    dest_dir: Path,
    *,
    area_type: int = GP_PRACTICES,
    timeout: float = 60.0,
    retries: int = 3,
) -> Path:
    """Fetch the indicator's CSV into `dest_dir/fingertips_<indicator>_<area type>.csv` (written beside and
    renamed into place, so a cut-off transfer never leaves a half file). Retries connection errors, timeouts
    and HTTP 5xx/429; refuses anything that is not a CSV with the Fingertips export header."""
    url = indicator_url(base_url, indicator, area_type)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"fingertips_{indicator}_area{area_type}.csv"
    last: str = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(min(2 ** (attempt - 1), 8))
        try:
            with httpx.Client(timeout=timeout, follow_redirects=True) as client:
                response = client.get(url, headers={"Accept": "text/csv"})
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc}"
            continue
        if response.status_code == 429 or response.status_code >= 500:
            last = f"HTTP {response.status_code}"
            continue
        if response.status_code != 200:
            raise DownloadError(f"{url}: HTTP {response.status_code}; check the indicator id and area type")
        body = response.content
        first = body.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
        if "Indicator ID" not in first or "Area Code" not in first:
            raise DownloadError(f"{url}: expected a Fingertips CSV export, got {first[:120]!r}")
        tmp = dest.with_name(f".{dest.name}.part")
        tmp.write_bytes(body)
        tmp.replace(dest)
        return dest
    raise DownloadError(f"{url}: gave up after {retries + 1} attempts ({last})")
