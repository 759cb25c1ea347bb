"""Fetch a month's practice-level GPAD zip from the publisher's publication page.

The publisher (NHS England, digital.nhs.uk) keeps each month's files in opaque folders
(`files.digital.nhs.uk/BC/A65BD0/Practice_Level_Crosstab_Feb_26.zip`), so the only way to find one is to read
that month's publication page (`<base>/<monthname>-<yyyy>`) and look for the link whose file name is
`Practice_Level_Crosstab_<Mon>_<YY>.zip`.

The site has shown a bot challenge to scripted clients: an HTML page where the file should be, or a 403. That
is detected (status, `cf-mitigated` header, content type, the zip's magic bytes) and reported as a
`DownloadError` that tells the user the fallback: download the zip in a browser from the page and run
`gpaccess ingest <file>`. Nothing here prints; callers follow progress through callbacks.
"""

from __future__ import annotations

import contextlib
import email.utils
import os
import re
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, TypeVar
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from gpaccess import __version__
from gpaccess.errors import DownloadError
from gpaccess.ingest.read import ZIP_MAGIC
from gpaccess.storage.periods import MONTH_FULL_NAMES, strict_month

# Practice-level files began with October 2022 data (domain.md A7); earlier pages have no such link.
FIRST_PRACTICE_LEVEL_MONTH = (2022, 10)
CHUNK_BYTES = 1 << 16
# Markers of the challenge pages bot-protection services serve instead of content.
CHALLENGE_MARKERS = (
    "just a moment",
    "attention required",
    "cf-chl",
    "challenge-platform",
    "enable javascript and cookies",
    "captcha",
    "are you a robot",
    "verify you are human",
    "access denied",
)

ProgressCallback = Callable[[int, int | None], None]
EventCallback = Callable[[str], None]
Sleep = Callable[[float], None]
T = TypeVar("T")


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`2025-10` -> Month(2025, 10); anything else is a ValueError naming the expected form."""
        d = strict_month(text)
        return cls(d.year, d.month)

    @property
    def label(self) -> str:
        """`October 2025`."""
        return f"{MONTH_FULL_NAMES[self.month - 1].capitalize()} {self.year}"

    @property
    def slug(self) -> str:
        """The publication page's slug: `october-2025`."""
        return f"{MONTH_FULL_NAMES[self.month - 1]}-{self.year}"

    @property
    def zip_name(self) -> str:
        """The file name the publisher uses: `Practice_Level_Crosstab_Oct_25.zip`."""
        mon = MONTH_FULL_NAMES[self.month - 1][:3].capitalize()
        return f"Practice_Level_Crosstab_{mon}_{self.year % 100:02d}.zip"

    def zip_name_pattern(self) -> re.Pattern[str]:
        """The file name, case-insensitive; September is also matched as `Sept`."""
        mon = MONTH_FULL_NAMES[self.month - 1][:3]
        if mon == "sep":
            mon = "sept?"
        return re.compile(rf"practice_level_crosstab_{mon}_{self.year % 100:02d}\.zip", re.IGNORECASE)


@dataclass(frozen=True)
class DownloadConfig:
    """What `download_month` needs from the settings (the CLI builds it; nothing here reads Settings)."""

    base_url: str
    retries: int = 3
    timeout: float = 60.0
    backoff: float = 1.0  # first wait between attempts; doubles each time
    max_backoff: float = 30.0
    max_retry_after: float = 120.0  # a longer Retry-After is reported rather than waited for

    def page_url(self, month: Month) -> str:
        return f"{self.base_url.rstrip('/')}/{month.slug}"


def fallback_hint(page_url: str) -> str:
    return f"Download the zip in a web browser from {page_url} and run `gpaccess ingest <file>` instead."


# -- finding the link ---------------------------------------------------------------------------------------
class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            for name, value in attrs:
                if name == "href" and value:
                    self.hrefs.append(value.strip())


def find_zip_link(html: str, page_url: str, month: Month) -> str | None:
    """The absolute URL of the month's practice-level zip linked from a publication page, or None.

    Matches on the link's file name only (the folders are opaque), case-insensitively, whether the href is
    absolute, root-relative or relative to the page.
    """
    collector = _LinkCollector()
    collector.feed(html)
    collector.close()
    pattern = month.zip_name_pattern()
    for href in collector.hrefs:
        url = urljoin(page_url, href)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            continue
        name = unquote(parts.path.rsplit("/", 1)[-1])
        if pattern.fullmatch(name):
            return url
    return None


def looks_like_challenge(text: str) -> bool:
    head = text[:20_000].lower()
    return any(marker in head for marker in CHALLENGE_MARKERS)


# -- errors -------------------------------------------------------------------------------------------------
class _RetryableError(Exception):
    """An attempt failed in a way that may pass; carries the error to raise if no attempt is left."""

    def __init__(self, error: DownloadError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _refused(url: str, page_url: str, why: str) -> DownloadError:
    return DownloadError(
        f"the publisher refused the download of {url} ({why}). Its site has shown a bot challenge to "
        f"scripted clients. {fallback_hint(page_url)}"
    )


def _is_challenge_response(response: httpx.Response) -> bool:
    return response.headers.get("cf-mitigated", "").lower() == "challenge"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _check_status(response: httpx.Response, *, month: Month, page_url: str, what: str) -> None:
    """Raise the right error for a response that is not a 2xx; return for a 2xx."""
    status = response.status_code
    url = str(response.request.url)
    if 200 <= status < 300:
        return
    retryable = status == 429 or status >= 500
    if status == 403 or _is_challenge_response(response) or (retryable and looks_like_challenge(response.text)):
        raise _refused(url, page_url, f"HTTP {status}")
    if status in (404, 410):
        if what == "page":
            raise DownloadError(
                f"{month.label} is not published: {url} answered HTTP {status} (not found). The publisher "
                "releases a month's figures some weeks after it ends; check the month, or the series page "
                "for the latest publication."
            )
        raise DownloadError(
            f"the {month.label} publication page {page_url} links to {url}, but that file is not there "
            f"(HTTP {status}). {fallback_hint(page_url)}"
        )
    if retryable:
        raise _RetryableError(
            DownloadError(f"the publisher's server answered HTTP {status} for {url}; try again later."),
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )
    raise DownloadError(f"unexpected HTTP {status} from {url}. {fallback_hint(page_url)}")


@contextlib.contextmanager
def _translate_transport_errors(url: str, page_url: str, *, in_body: bool = False) -> Iterator[None]:
    """httpx's transport errors as retryable DownloadErrors with messages a user can act on."""
    try:
        yield
    except httpx.ConnectError as exc:
        raise _RetryableError(
            DownloadError(
                f"could not reach {_host(url)}: are you offline? ({exc or 'connection failed'}). Check the "
                f"network connection (and any proxy: HTTPS_PROXY is honoured). {fallback_hint(page_url)}"
            )
        ) from exc
    except httpx.TimeoutException as exc:
        raise _RetryableError(
            DownloadError(f"{_host(url)} did not answer in time ({type(exc).__name__}) for {url}.")
        ) from exc
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        if in_body:
            raise _RetryableError(
                DownloadError(f"the download of {url} was truncated ({exc}); nothing was kept.")
            ) from exc
        raise _RetryableError(DownloadError(f"the connection to {_host(url)} failed ({exc}).")) from exc
    except httpx.TooManyRedirects as exc:
        raise DownloadError(f"too many redirects from {url}. {fallback_hint(page_url)}") from exc
    except httpx.TransportError as exc:
        raise _RetryableError(DownloadError(f"network error talking to {_host(url)}: {exc}")) from exc


# -- the download -------------------------------------------------------------------------------------------
@dataclass
class _Retrier:
    config: DownloadConfig
    sleep: Sleep
    on_event: EventCallback | None

    def run(self, attempt: Callable[[], T], what: str) -> T:
        tries = self.config.retries + 1
        for n in range(1, tries + 1):
            try:
                return attempt()
            except _RetryableError as exc:
                if n == tries:
                    suffix = f" (gave up after {tries} attempts)" if tries > 1 else ""
                    raise DownloadError(f"{exc.error}{suffix}") from exc
                delay = self._delay(n, exc)
                if self.on_event:
                    self.on_event(f"{exc.error} Retrying {what} in {delay:g} s (attempt {n + 1} of {tries}).")
                self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _delay(self, n: int, exc: _RetryableError) -> float:
        if exc.retry_after is not None:
            if exc.retry_after > self.config.max_retry_after:
                raise DownloadError(
                    f"{exc.error} The server asked to wait {exc.retry_after:g} s before trying again."
                ) from exc
            return exc.retry_after
        return min(self.config.backoff * 2 ** (n - 1), self.config.max_backoff)


def _fetch_page(client: httpx.Client, month: Month, page_url: str) -> str:
    with _translate_transport_errors(page_url, page_url):
        response = client.get(page_url, headers={"Accept": "text/html,application/xhtml+xml"})
    _check_status(response, month=month, page_url=page_url, what="page")
    return response.text


def _zip_url_from_page(html: str, month: Month, page_url: str) -> str:
    url = find_zip_link(html, page_url, month)
    if url is not None:
        return url
    if looks_like_challenge(html):
        raise _refused(page_url, page_url, "a bot-challenge page came back instead of the publication")
    hint = ""
    if (month.year, month.month) < FIRST_PRACTICE_LEVEL_MONTH:
        hint = " Practice-level files are published from October 2022 onwards."
    raise DownloadError(
        f"the {month.label} publication page {page_url} has no link to {month.zip_name}: the month is not "
        f"published at practice level (yet).{hint}"
    )


def _stream_to(
    response: httpx.Response, out: IO[bytes], *, url: str, page_url: str, progress: ProgressCallback | None
) -> None:
    """Write the body to `out`, refusing anything that is not a zip from its first bytes."""
    declared = response.headers.get("content-length")
    total = int(declared) if declared and declared.isdigit() else None
    done = 0
    first = True
    with _translate_transport_errors(url, page_url, in_body=True):
        for chunk in response.iter_raw(CHUNK_BYTES):
            if first:  # iter_raw never yields an empty chunk
                _check_zip_start(chunk, response, url=url, page_url=page_url)
                first = False
            out.write(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    if first:
        raise _refused(url, page_url, "an empty response came back instead of the zip")
    if total is not None and done != total:
        raise _RetryableError(
            DownloadError(
                f"the download of {url} was truncated: received {done:,} of {total:,} bytes; nothing was kept."
            )
        )


def _check_zip_start(chunk: bytes, response: httpx.Response, *, url: str, page_url: str) -> None:
    if chunk.startswith(ZIP_MAGIC):
        return
    content_type = response.headers.get("content-type", "unknown").split(";")[0].strip()
    text = chunk[:4096].decode("utf-8", "replace")
    if "html" in content_type or text.lstrip().startswith("<"):
        kind = "a bot-challenge page" if looks_like_challenge(text) else "a web page"
        raise _refused(url, page_url, f"{kind} ({content_type}) came back instead of the zip")
    raise DownloadError(f"{url} is not a zip (content type {content_type}). {fallback_hint(page_url)}")


def _verify_zip(path: Path, url: str, page_url: str) -> None:
    try:
        if not zipfile.is_zipfile(path):
            raise DownloadError(f"the file downloaded from {url} is not a valid zip. {fallback_hint(page_url)}")
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        raise DownloadError(f"the file downloaded from {url} is a damaged zip ({exc}).") from exc
    if bad is not None:
        raise DownloadError(f"the file downloaded from {url} is a damaged zip (member {bad!r} fails its check).")


def _download_file(
    client: httpx.Client,
    url: str,
    dest: Path,
    *,
    page_url: str,
    month: Month,
    progress: ProgressCallback | None,
) -> Path:
    """One attempt: stream to a temporary file beside the destination, verify, then rename into place."""
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            with _translate_transport_errors(url, page_url):
                request = client.build_request("GET", url, headers={"Accept-Encoding": "identity"})
                response = client.send(request, stream=True)
            try:
                if not response.is_success:
                    with _translate_transport_errors(url, page_url):
                        response.read()  # an error page is small; its text tells a challenge from an outage
                _check_status(response, month=month, page_url=page_url, what="file")
                _stream_to(response, out, url=url, page_url=page_url, progress=progress)
            finally:
                response.close()
            out.flush()
            os.fsync(out.fileno())
        _verify_zip(tmp, url, page_url)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def download_month(
    month: Month,
    dest_dir: Path,
    config: DownloadConfig,
    *,
    progress: ProgressCallback | None = None,
    on_event: EventCallback | None = None,
    sleep: Sleep = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> Path:
    """Download `month`'s practice-level zip into `dest_dir` and return its path.

    Reads the month's publication page, finds the zip's link, streams it to a temporary file in `dest_dir`,
    checks it is a sound zip and renames it into place as `month.zip_name` (an existing file of that name is
    replaced, so a republished month can be fetched again). Raises `DownloadError` with what happened and what to do.
    """
    page_url = config.page_url(month)
    retrier = _Retrier(config, sleep, on_event)
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the download folder {dest_dir}: {exc.strerror or exc}") from exc
    headers = {"User-Agent": f"gpaccess/{__version__} (python-httpx)"}
    with httpx.Client(
        timeout=httpx.Timeout(config.timeout), follow_redirects=True, headers=headers, transport=transport
    ) as client:
        if on_event:
            on_event(f"Reading the {month.label} publication page {page_url}")
        html = retrier.run(lambda: _fetch_page(client, month, page_url), "the page")
        url = _zip_url_from_page(html, month, page_url)
        if on_event:
            on_event(f"Downloading {url}")
        # Saved under the publisher's usual spelling whatever the link's case, so ingest reads the month from it.
        dest = dest_dir / month.zip_name

        def attempt() -> Path:
            try:
                return _download_file(client, url, dest, page_url=page_url, month=month, progress=progress)
            except OSError as exc:
                raise DownloadError(f"cannot write {dest}: {exc.strerror or exc}") from exc

        return retrier.run(attempt, "the download")
