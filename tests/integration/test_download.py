"""`gpaccess download` against a real HTTP server on 127.0.0.1 (no internet): finding the link, retries,
bot challenges, missing months, truncated and damaged files, no network, and the CLI end to end."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from gpaccess.errors import DownloadError
from gpaccess.ingest.download import (
    DownloadConfig,
    Month,
    download_month,
    find_zip_link,
    parse_retry_after,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "download"
BASE_PATH = "/data-and-information/publications/statistical/appointments-in-general-practice"
OCT_25 = Month(2025, 10)
ZIP_PATH = "/files/BC/A65BD0/Practice_Level_Crosstab_Oct_25.zip"  # opaque folders, like the publisher's
CROSSTAB_HEADER = (
    "APPOINTMENT_MONTH_START_DATE,GP_CODE,GP_NAME,SUPPLIER,PCN_CODE,PCN_NAME,SUB_ICB_LOCATION_CODE,"
    "SUB_ICB_LOCATION_NAME,HCP_TYPE,APPT_MODE,NATIONAL_CATEGORY,TIME_BETWEEN_BOOK_AND_APPT,"
    "COUNT_OF_APPOINTMENTS,APPT_STATUS"
)
MAPPING_HEADER = (
    "GP_CODE,GP_NAME,SUPPLIER,PCN_CODE,PCN_NAME,SUB_ICB_LOCATION_CODE,SUB_ICB_LOCATION_NAME,ICB_CODE,ICB_NAME,"
    "REGION_CODE,REGION_NAME"
)


def make_zip() -> bytes:
    """A small real zip laid out like the publisher's: the month's crosstab and Mapping.csv."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        rows = [CROSSTAB_HEADER] + [
            f"01OCT2025,X{i:05d},PRACTICE {i},EMIS,U{i:05d},PCN {i},11J,NHS SUB ICB,GP,Face-to-Face,"
            f"General Consultation Routine,Same Day,{10 + i},Attended"
            for i in range(200)
        ]
        zf.writestr("Practice_Level_Crosstab_Oct_25.csv", "\n".join(rows) + "\n")
        mapping = [MAPPING_HEADER] + [
            f"X{i:05d},PRACTICE {i},EMIS,U{i:05d},PCN {i},11J,NHS SUB ICB,QSL,NHS ICB,Y58,SOUTH WEST"
            for i in range(200)
        ]
        zf.writestr("Mapping.csv", "\n".join(mapping) + "\n")
    return buf.getvalue()


ZIP_BYTES = make_zip()


def big_zip() -> bytes:
    """Several download chunks long (a stored member of incompressible bytes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        info = zipfile.ZipInfo("Practice_Level_Crosstab_Oct_25.csv", date_time=(2025, 11, 27, 9, 30, 0))
        zf.writestr(info, bytes(range(256)) * 1200)
    return buf.getvalue()


def damaged_zip() -> bytes:
    """Starts like a zip and has a sound central directory, but a member's data fails its CRC check."""
    data = bytearray(ZIP_BYTES)
    start = 30 + len("Practice_Level_Crosstab_Oct_25.csv") + 10  # inside the first member's compressed data
    for i in range(start, start + 8):
        data[i] ^= 0xFF
    return bytes(data)


def page_with(href: str) -> bytes:
    return (FIXTURES / "publication_page.html").read_text().replace("{{ZIP_HREF}}", href).encode()


# -- a real HTTP server on 127.0.0.1 --------------------------------------------------------------------------
Route = Callable[[BaseHTTPRequestHandler], None]


def send(status: int, body: bytes, content_type: str = "text/html; charset=utf-8", **headers: str) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            h.send_header(name.replace("_", "-"), value)
        h.end_headers()
        h.wfile.write(body)

    return route


def send_zip(body: bytes = ZIP_BYTES) -> Route:
    return send(200, body, "application/x-zip-compressed")


def fixture_page(name: str, status: int = 200, **headers: str) -> Route:
    return send(status, (FIXTURES / name).read_bytes(), **headers)


def truncated(body: bytes = ZIP_BYTES) -> Route:
    """Declares the whole body's length, sends half of it, then closes the connection."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/x-zip-compressed")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body[: len(body) // 2])
        h.wfile.flush()
        h.close_connection = True

    return route


def sequence(*routes: Route) -> Route:
    """Each request gets the next route; the last one repeats."""
    queue = list(routes)

    def route(h: BaseHTTPRequestHandler) -> None:
        (queue.pop(0) if len(queue) > 1 else queue[0])(h)

    return route


def slow(seconds: float, then: Route) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        then(h)

    return route


@dataclass
class Publisher:
    """A local stand-in for digital.nhs.uk and files.digital.nhs.uk, serving whatever each test routes."""

    routes: dict[str, Route] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    port: int = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.origin + BASE_PATH

    def page_path(self, month: Month = OCT_25) -> str:
        return f"{BASE_PATH}/{month.slug}"

    def publish(self, page: Route | None = None, zip_route: Route | None = None) -> None:
        """October 2025's page (absolute link to the zip in an opaque folder) and the zip itself."""
        self.routes[self.page_path()] = page or send(200, page_with(self.origin + ZIP_PATH))
        self.routes[ZIP_PATH] = zip_route or send_zip()

    def config(self, **kw: float) -> DownloadConfig:
        opts: dict[str, float] = {"retries": 2, "timeout": 5.0, "backoff": 0.01}
        opts.update(kw)
        return DownloadConfig(base_url=self.base_url, **opts)  # type: ignore[arg-type]


@pytest.fixture
def publisher(monkeypatch: pytest.MonkeyPatch) -> Iterator[Publisher]:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    pub = Publisher()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            pub.hits[path] += 1
            route = pub.routes.get(path) or fixture_page("not_found.html", status=404)
            route(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    pub.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield pub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Sleeps(list[float]):
    """A stand-in for time.sleep that records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- finding the link ----------------------------------------------------------------------------------------
def test_find_zip_link_picks_the_months_file_among_others() -> None:
    page = "https://digital.nhs.uk/x/appointments-in-general-practice/october-2025"
    html = page_with("https://files.digital.nhs.uk/BC/A65BD0/Practice_Level_Crosstab_Oct_25.zip").decode()
    assert find_zip_link(html, page, OCT_25) == (
        "https://files.digital.nhs.uk/BC/A65BD0/Practice_Level_Crosstab_Oct_25.zip"
    )
    # The same page has September's file (a revision) and other zips: neither is October's.
    assert find_zip_link(html, page, Month(2025, 11)) is None
    assert "Sep_25" in str(find_zip_link(html, page, Month(2025, 9)))


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/files/9F/1C2B3D/PRACTICE_LEVEL_CROSSTAB_OCT_25.ZIP", "https://h.test/files/9F/1C2B3D/"),
        ("../../files/9F/1C2B3D/practice_level_crosstab_oct_25.zip", "https://h.test/a/files/9F/1C2B3D/"),
        ("https://other.test/x/Practice%5FLevel_Crosstab_Oct_25.zip", "https://other.test/x/"),
    ],
)
def test_find_zip_link_relative_absolute_and_any_case(href: str, expected: str) -> None:
    url = find_zip_link(page_with(href).decode(), "https://h.test/a/b/c/october-2025", OCT_25)
    assert url is not None
    assert url.startswith(expected)


def test_month_names_and_slugs() -> None:
    assert Month.parse("2025-10") == OCT_25
    assert OCT_25.slug == "october-2025"
    assert OCT_25.zip_name == "Practice_Level_Crosstab_Oct_25.zip"
    assert Month(2026, 2).zip_name == "Practice_Level_Crosstab_Feb_26.zip"
    assert Month(2025, 9).zip_name_pattern().fullmatch("Practice_Level_Crosstab_Sept_25.zip")
    for bad in ("2025-13", "Oct 2025", "2025/10", "25-10", ""):
        with pytest.raises(ValueError, match="YYYY-MM"):
            Month.parse(bad)


def test_parse_retry_after_seconds_and_dates() -> None:
    now = datetime(2025, 11, 27, 9, 30, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now=now) == 0.0
    assert parse_retry_after("Thu, 27 Nov 2025 09:31:00 -0000", now=now) == 60.0  # a date without a zone
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# -- downloading -----------------------------------------------------------------------------------------------
def test_downloads_the_zip_found_on_the_page(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish()
    seen: list[tuple[int, int | None]] = []
    events: list[str] = []
    dest = tmp_path / "new" / "folder"
    path = download_month(
        OCT_25, dest, publisher.config(), progress=lambda d, t: seen.append((d, t)), on_event=events.append
    )
    assert path == dest / "Practice_Level_Crosstab_Oct_25.zip"
    assert path.read_bytes() == ZIP_BYTES
    assert leftovers(dest) == ["Practice_Level_Crosstab_Oct_25.zip"]  # no temporary file left behind
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["Practice_Level_Crosstab_Oct_25.csv", "Mapping.csv"]
    assert seen[-1] == (len(ZIP_BYTES), len(ZIP_BYTES))
    assert publisher.hits == {publisher.page_path(): 1, ZIP_PATH: 1}
    assert any("october-2025" in e for e in events)


def test_large_file_streams_in_chunks_with_progress(publisher: Publisher, tmp_path: Path) -> None:
    big = big_zip()
    publisher.publish(zip_route=send_zip(big))
    seen: list[int] = []
    path = download_month(OCT_25, tmp_path, publisher.config(), progress=lambda d, _t: seen.append(d))
    assert path.read_bytes() == big
    assert len(seen) > 1
    assert seen == sorted(seen)
    assert seen[-1] == len(big)


def test_relative_link_in_upper_case(publisher: Publisher, tmp_path: Path) -> None:
    zip_path = "/files/9F/1C2B3D/PRACTICE_LEVEL_CROSSTAB_OCT_25.ZIP"
    publisher.routes[publisher.page_path()] = send(200, page_with("../../../../../.." + zip_path))
    publisher.routes[zip_path] = send_zip()
    path = download_month(OCT_25, tmp_path, publisher.config())
    assert path.name == "Practice_Level_Crosstab_Oct_25.zip"  # the usual spelling, which ingest reads
    assert path.read_bytes() == ZIP_BYTES


def test_a_second_download_replaces_the_first(publisher: Publisher, tmp_path: Path) -> None:
    """A month republished with revisions is fetched again into the same name, atomically."""
    (tmp_path / "Practice_Level_Crosstab_Oct_25.zip").write_bytes(b"old copy")
    publisher.publish()
    path = download_month(OCT_25, tmp_path, publisher.config())
    assert path.read_bytes() == ZIP_BYTES
    assert leftovers(tmp_path) == ["Practice_Level_Crosstab_Oct_25.zip"]


def test_retries_503_with_exponential_backoff(publisher: Publisher, tmp_path: Path) -> None:
    outage = send(503, b"<html><body>Service Unavailable</body></html>")
    publisher.publish(zip_route=sequence(outage, outage, send_zip()))
    sleeps, events = Sleeps(), []
    path = download_month(OCT_25, tmp_path, publisher.config(), sleep=sleeps, on_event=events.append)
    assert path.read_bytes() == ZIP_BYTES
    assert publisher.hits[ZIP_PATH] == 3
    assert sleeps == [0.01, 0.02]
    assert sum("HTTP 503" in e and "Retrying" in e for e in events) == 2


def test_page_retried_too_and_retry_after_honoured(publisher: Publisher, tmp_path: Path) -> None:
    busy = send(429, b"Too Many Requests", "text/plain", Retry_After="3")
    publisher.publish(page=sequence(busy, send(200, page_with(ZIP_PATH))))
    sleeps = Sleeps()
    download_month(OCT_25, tmp_path, publisher.config(), sleep=sleeps)
    assert sleeps == [3.0]
    assert publisher.hits[publisher.page_path()] == 2


def test_gives_up_after_the_configured_retries(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish(zip_route=send(502, b"Bad Gateway", "text/plain"))
    sleeps = Sleeps()
    with pytest.raises(DownloadError, match=r"HTTP 502 .*gave up after 3 attempts"):
        download_month(OCT_25, tmp_path, publisher.config(retries=2), sleep=sleeps)
    assert publisher.hits[ZIP_PATH] == 3
    assert sleeps == [0.01, 0.02]
    assert leftovers(tmp_path) == []


def test_a_retry_after_too_long_to_wait_is_reported(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish(zip_route=send(503, b"down for maintenance", "text/plain", Retry_After="3600"))
    sleeps = Sleeps()
    with pytest.raises(DownloadError, match="asked to wait 3600 s"):
        download_month(OCT_25, tmp_path, publisher.config(), sleep=sleeps)
    assert sleeps == []
    assert publisher.hits[ZIP_PATH] == 1


def test_bot_challenge_instead_of_the_zip(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish(zip_route=fixture_page("bot_challenge.html"))
    with pytest.raises(DownloadError) as info:
        download_month(OCT_25, tmp_path, publisher.config())
    message = str(info.value)
    assert "refused" in message
    assert "bot-challenge page" in message
    assert "browser" in message
    assert publisher.base_url + "/october-2025" in message
    assert "gpaccess ingest <file>" in message
    assert publisher.hits[ZIP_PATH] == 1  # a challenge is not retried
    assert leftovers(tmp_path) == []


def test_403_is_refused_without_retrying(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish(zip_route=fixture_page("bot_challenge.html", status=403))
    sleeps = Sleeps()
    with pytest.raises(DownloadError, match=r"refused .*HTTP 403.*gpaccess ingest"):
        download_month(OCT_25, tmp_path, publisher.config(), sleep=sleeps)
    assert publisher.hits[ZIP_PATH] == 1
    assert sleeps == []


def test_challenge_on_the_page_marked_by_header_is_not_retried(publisher: Publisher, tmp_path: Path) -> None:
    """A challenge served as 503 must not be mistaken for an outage and retried."""
    publisher.publish(page=fixture_page("bot_challenge.html", status=503, cf_mitigated="challenge"))
    sleeps = Sleeps()
    with pytest.raises(DownloadError, match=r"refused .*HTTP 503.*browser"):
        download_month(OCT_25, tmp_path, publisher.config(), sleep=sleeps)
    assert publisher.hits[publisher.page_path()] == 1
    assert sleeps == []


def test_challenge_served_as_the_page(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish(page=fixture_page("bot_challenge.html"))
    with pytest.raises(DownloadError, match=r"refused .*bot-challenge page.*gpaccess ingest"):
        download_month(OCT_25, tmp_path, publisher.config())
    assert publisher.hits[ZIP_PATH] == 0


def test_month_not_published_404(publisher: Publisher, tmp_path: Path) -> None:
    sleeps = Sleeps()
    with pytest.raises(DownloadError) as info:
        download_month(Month(2031, 1), tmp_path, publisher.config(), sleep=sleeps)
    message = str(info.value)
    assert "January 2031 is not published" in message
    assert publisher.base_url + "/january-2031" in message
    assert "404" in message
    assert sleeps == []  # not retried
    assert publisher.hits[BASE_PATH + "/january-2031"] == 1


def test_page_without_the_link(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish(page=fixture_page("page_without_link.html"))
    with pytest.raises(DownloadError) as info:
        download_month(OCT_25, tmp_path, publisher.config())
    message = str(info.value)
    assert "October 2025" in message
    assert publisher.base_url + "/october-2025" in message
    assert "no link to Practice_Level_Crosstab_Oct_25.zip" in message
    assert "refused" not in message


def test_months_before_practice_level_publication_say_so(publisher: Publisher, tmp_path: Path) -> None:
    publisher.routes[BASE_PATH + "/august-2021"] = fixture_page("page_without_link.html")
    with pytest.raises(DownloadError, match="published from October 2022 onwards"):
        download_month(Month(2021, 8), tmp_path, publisher.config())


def test_linked_file_missing(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish(zip_route=fixture_page("not_found.html", status=404))
    with pytest.raises(DownloadError, match=r"links to .*Practice_Level_Crosstab_Oct_25\.zip.*HTTP 404"):
        download_month(OCT_25, tmp_path, publisher.config())
    assert publisher.hits[ZIP_PATH] == 1


def test_truncated_download_is_retried_then_reported(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish(zip_route=truncated())
    sleeps = Sleeps()
    with pytest.raises(DownloadError, match=r"truncated.*nothing was kept.*gave up after 2 attempts"):
        download_month(OCT_25, tmp_path, publisher.config(retries=1), sleep=sleeps)
    assert publisher.hits[ZIP_PATH] == 2
    assert leftovers(tmp_path) == []


def test_truncated_once_then_complete(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish(zip_route=sequence(truncated(), send_zip()))
    path = download_month(OCT_25, tmp_path, publisher.config(), sleep=Sleeps())
    assert path.read_bytes() == ZIP_BYTES
    assert leftovers(tmp_path) == ["Practice_Level_Crosstab_Oct_25.zip"]


def test_damaged_zip_is_refused(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish(zip_route=send_zip(damaged_zip()))
    with pytest.raises(DownloadError, match="damaged zip"):
        download_month(OCT_25, tmp_path, publisher.config())
    assert leftovers(tmp_path) == []


def test_something_else_than_a_zip_is_refused(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish(zip_route=send(200, b"\x00\x01 not a zip at all", "application/octet-stream"))
    with pytest.raises(DownloadError, match=r"is not a zip \(content type application/octet-stream\)"):
        download_month(OCT_25, tmp_path, publisher.config())
    assert leftovers(tmp_path) == []


def test_timeout_is_retried_then_reported(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish(zip_route=slow(1.0, send_zip()))
    with pytest.raises(DownloadError, match=r"did not answer in time.*gave up after 2 attempts"):
        download_month(OCT_25, tmp_path, publisher.config(retries=1, timeout=0.2), sleep=Sleeps())
    assert leftovers(tmp_path) == []


def test_unexpected_status(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish(zip_route=send(401, b"Unauthorized", "text/plain"))
    with pytest.raises(DownloadError, match=r"unexpected HTTP 401 .*gpaccess ingest"):
        download_month(OCT_25, tmp_path, publisher.config(), sleep=Sleeps())
    assert publisher.hits[ZIP_PATH] == 1


def test_server_hangs_up_without_answering(publisher: Publisher, tmp_path: Path) -> None:
    def hang_up(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True

    publisher.publish(page=sequence(hang_up, send(200, page_with(ZIP_PATH))))
    sleeps = Sleeps()
    assert download_month(OCT_25, tmp_path, publisher.config(), sleep=sleeps).read_bytes() == ZIP_BYTES
    assert sleeps == [0.01]
    publisher.publish(page=hang_up)
    with pytest.raises(DownloadError, match=r"the connection to 127\.0\.0\.1:\d+ failed"):
        download_month(OCT_25, tmp_path, publisher.config(retries=0))


def test_redirect_loop(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish(zip_route=send(302, b"", "text/plain", Location=ZIP_PATH))
    with pytest.raises(DownloadError, match="too many redirects"):
        download_month(OCT_25, tmp_path, publisher.config())


def test_empty_body_instead_of_the_zip(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish(zip_route=send(200, b"", "application/x-zip-compressed"))
    with pytest.raises(DownloadError, match=r"refused .*empty response"):
        download_month(OCT_25, tmp_path, publisher.config())
    assert leftovers(tmp_path) == []


def test_zip_header_without_a_zip_behind_it(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish(zip_route=send_zip(b"PK\x03\x04" + b"\x00" * 100))
    with pytest.raises(DownloadError, match="not a valid zip"):
        download_month(OCT_25, tmp_path, publisher.config())
    assert leftovers(tmp_path) == []


def test_stored_member_failing_its_crc_is_named(publisher: Publisher, tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("Mapping.csv", MAPPING_HEADER + "\n")
    data = buf.getvalue().replace(b"GP_CODE,GP_NAME", b"GP_CODE,XX_NAME", 1)  # the data, not the directory
    publisher.publish(zip_route=send_zip(data))
    with pytest.raises(DownloadError, match=re.escape("damaged zip (member 'Mapping.csv' fails its check)")):
        download_month(OCT_25, tmp_path, publisher.config())


def test_cannot_create_or_write_the_destination(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish()
    (tmp_path / "a-file").write_text("")
    with pytest.raises(DownloadError, match="cannot create the download folder"):
        download_month(OCT_25, tmp_path / "a-file" / "sub", publisher.config())
    blocker = tmp_path / "dl" / "Practice_Level_Crosstab_Oct_25.zip"
    blocker.mkdir(parents=True)
    (blocker / "keep").write_text("")
    with pytest.raises(DownloadError, match=r"cannot write .*Practice_Level_Crosstab_Oct_25\.zip"):
        download_month(OCT_25, tmp_path / "dl", publisher.config(retries=0))
    assert leftovers(tmp_path / "dl") == ["Practice_Level_Crosstab_Oct_25.zip"]  # only the blocker


def in_memory(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
    """For faults a real socket cannot stage on demand (a proxy failure, a body shorter than its length
    that the HTTP parser lets through)."""
    return httpx.MockTransport(handler)


def test_short_body_caught_even_when_the_transport_does_not_notice(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("october-2025"):
            return httpx.Response(200, html=page_with(ZIP_PATH).decode())
        return httpx.Response(
            200, headers={"Content-Length": str(len(ZIP_BYTES) + 10)}, stream=httpx.ByteStream(ZIP_BYTES)
        )

    config = DownloadConfig(base_url="https://publisher.test" + BASE_PATH, retries=0)
    with pytest.raises(DownloadError, match=r"truncated: received [\d,]+ of [\d,]+ bytes"):
        download_month(OCT_25, tmp_path, config, transport=in_memory(handler))
    assert leftovers(tmp_path) == []


def test_other_network_errors_are_retried(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ProxyError("proxy said no", request=request)

    config = DownloadConfig(base_url="https://publisher.test" + BASE_PATH, retries=1, backoff=0.01)
    sleeps = Sleeps()
    with pytest.raises(DownloadError, match=r"network error talking to publisher\.test: proxy said no"):
        download_month(OCT_25, tmp_path, config, transport=in_memory(handler), sleep=sleeps)
    assert sleeps == [0.01]


def free_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_offline_connection_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    port = free_port()
    config = DownloadConfig(base_url=f"http://127.0.0.1:{port}{BASE_PATH}", retries=1, backoff=0.01)
    sleeps = Sleeps()
    with pytest.raises(DownloadError) as info:
        download_month(OCT_25, tmp_path / "dl", config, sleep=sleeps)
    message = str(info.value)
    assert f"could not reach 127.0.0.1:{port}: are you offline?" in message
    assert "gpaccess ingest <file>" in message
    assert "gave up after 2 attempts" in message
    assert sleeps == [0.01]


# -- the command -------------------------------------------------------------------------------------------------
def run_cli(args: list[str], home: Path, base_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    environ.update(GPACCESS_HOME=str(home), GPACCESS_PUBLISHER_BASE_URL=base_url, GPACCESS_DOWNLOAD_RETRIES="0", **env)
    return subprocess.run(
        [sys.executable, "-m", "gpaccess", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=False,
    )


def test_cli_downloads_into_home_downloads(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish()
    done = run_cli(["download", "2025-10"], tmp_path / "home", publisher.base_url)
    assert done.returncode == 0, done.stderr
    expected = tmp_path / "home" / "downloads" / "Practice_Level_Crosstab_Oct_25.zip"
    assert done.stdout.strip() == str(expected)
    assert expected.read_bytes() == ZIP_BYTES


def test_cli_to_folder(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish()
    done = run_cli(["download", "2025-10", "--to", str(tmp_path / "zips")], tmp_path / "home", publisher.base_url)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "zips" / "Practice_Level_Crosstab_Oct_25.zip").read_bytes() == ZIP_BYTES


def test_cli_reports_a_refusal_in_one_line_with_the_fallback(publisher: Publisher, tmp_path: Path) -> None:
    publisher.publish(zip_route=fixture_page("bot_challenge.html", status=403))
    done = run_cli(["download", "2025-10"], tmp_path / "home", publisher.base_url)
    assert done.returncode == DownloadError.exit_code
    assert "DownloadError" in done.stderr
    assert "gpaccess ingest <file>" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_cli_in_process_with_progress_and_ingest(
    publisher: Publisher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same command in this process (so its progress and ingest code is measured by coverage)."""
    from typer.testing import CliRunner

    from gpaccess.cli.main import app

    monkeypatch.setenv("GPACCESS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GPACCESS_PUBLISHER_BASE_URL", publisher.base_url)
    outage = send(503, b"busy", "text/plain", Retry_After="0")
    publisher.publish(zip_route=sequence(outage, send_zip()))
    result = CliRunner().invoke(app, ["download", "2025-10", "--ingest"])
    assert result.exit_code == 0, result.output
    assert "Practice_Level_Crosstab_Oct_25.zip" in result.stdout
    assert "HTTP 503" in result.stderr
    assert "Retrying the download in 0 s" in result.stderr
    assert "Ingested Practice_Level_Crosstab_Oct_25.zip: release" in result.stderr
    again = CliRunner().invoke(app, ["download", "2025-10", "--ingest"])
    assert again.exit_code == 0, again.output
    assert "already ingested; the store is unchanged" in again.stderr
    publisher.routes[ZIP_PATH] = send_zip(big_zip())
    plain = CliRunner().invoke(app, ["download", "2025-10", "--to", str(tmp_path / "other")])
    assert plain.exit_code == 0, plain.output
    assert (tmp_path / "other" / "Practice_Level_Crosstab_Oct_25.zip").read_bytes() == big_zip()
    bad = CliRunner().invoke(app, ["download", "10/2025"])
    assert bad.exit_code == 2
    assert "YYYY-MM" in bad.stderr


def test_cli_rejects_a_malformed_month(publisher: Publisher, tmp_path: Path) -> None:
    done = run_cli(["download", "Oct-2025"], tmp_path / "home", publisher.base_url)
    assert done.returncode == 2
    assert "YYYY-MM" in done.stderr
    assert publisher.hits.total() == 0


def test_cli_download_and_ingest(publisher: Publisher, tmp_path: Path) -> None:
    """`--ingest` hands the downloaded file to the real ingest (gpaccess.ingest.load.ingest_files)."""
    publisher.publish()
    done = run_cli(["download", "2025-10", "--ingest"], tmp_path / "home", publisher.base_url)
    zip_path = tmp_path / "home" / "downloads" / "Practice_Level_Crosstab_Oct_25.zip"
    assert zip_path.read_bytes() == ZIP_BYTES  # the download part holds whatever ingest then does
    assert done.returncode == 0, done.stderr
    assert "Ingested Practice_Level_Crosstab_Oct_25.zip" in done.stderr
    shown = run_cli(["status", "--format", "json"], tmp_path / "home", publisher.base_url)
    assert shown.returncode == 0, shown.stderr
    periods = {
        (pub["name"], p["period"]): p for pub in json.loads(shown.stdout)["publications"] for p in pub["periods"]
    }
    assert periods["gpad_appointments", "2025-10"]["total"] == sum(10 + i for i in range(200))
    again = run_cli(["download", "2025-10", "--ingest"], tmp_path / "home", publisher.base_url)
    assert again.returncode == 0, again.stderr
    assert "already ingested" in again.stderr
