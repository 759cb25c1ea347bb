"""Excel readers on tiny workbooks built with openpyxl to the published layouts, and the Fingertips download
against a local HTTP server."""

from __future__ import annotations

import http.server
import threading
import typing
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from gpaccess.errors import DownloadError, InputFileError
from gpaccess.ingest.context import queries
from gpaccess.ingest.context.fingertips_api import download_indicator
from gpaccess.ingest.load import ingest_files


def workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


OC_HEADER = [
    "Month [1]", "GP Code", "GP Name", "PCN Code [2, 3]", "PCN Name [3]", "Sub ICB Code", "Sub ICB Name",
    "ICB Code", "ICB Name", "Region Code", "Region Name", "Supplier [4, 5, 6]", "Submissions [7. 11]",
    "Clinical Submissions [7]", "Administrative Submissions [7]", "Other/Unknown Type Submissions [7]",
    "Registered Patient Count [8]", "Rate per 1,000 Registered Patients [9, 10]", "Participation",
]  # fmt: skip


def oc_row(code: str, submissions: object, participation: object) -> list[object]:
    return [45748, code, "THE SURGERY", "U1", "PCN", "16C", "SUB", "QHM", "ICB", "Y63", "NE", "econsult",
            submissions, 3, 2, 0, 4000, 1.25, participation]  # fmt: skip


def test_online_consultation_layout(warehouse, tmp_path):
    rows = [["Return to Contents"], ["_"], [None], ["Table 2: Submissions received by practices"], OC_HEADER]
    rows += [oc_row("A81001", 5, 1), oc_row("A81002", 0, "*"), [None], ["Source: NHS England"]]
    path = workbook(tmp_path / "Submissions via OC Systems in General Practice - April 2025.xlsx", {"Table 2": rows})
    result = ingest_files(warehouse, [path], user="t")
    assert result.months == {"online_consultation": ["2025-04"]}  # 45748 = 2025-04-01
    got = {r["practice_code"]: r for r in warehouse.snapshot().table("online_consultation").to_pyarrow().to_pylist()}
    assert got["A81001"]["participation"] is True and got["A81002"]["participation"] is None
    assert got["A81001"]["supplier"] == "ECONSULT" and got["A81001"]["rate_per_1000"] == 1.25


def test_online_consultation_bad_cell_located(warehouse, tmp_path):
    rows = [["Title"], ["x"], ["y"], OC_HEADER, oc_row("A81001", "many", 1)]
    path = workbook(tmp_path / "Submissions via Online Consultation Systems - May 2024.xlsx", {"Table 2": rows})
    with pytest.raises(InputFileError) as err:
        ingest_files(warehouse, [path], user="t")
    assert [(p.line, p.column) for p in err.value.problems] == [(5, "M (Submissions [7. 11])")]


def telephony_sheet() -> list[list[object]]:
    geo = ["U1", "PCN", "16C", "SUB", "QHM", "ICB", "Y63", "NE"]
    month = datetime(2025, 10, 1)
    return [
        [None, *[None] * 10, 25765191, None, 1],
        ["Table 3: Summary of Cloud based telephony call outcomes"],
        [None] * 13 + ["Count of Inbound Call Outcome"],
        ["Month [1]", "GP Practice \n(ODS_CODE)", "GP Name", "PCN Code", "PCN Name [2,3]", "Sub ICB Code [2]",
         "Sub ICB Name", "ICB Code  [2]", "ICB Name", "Region Code  [2]", "Region Name", "Count of Inbound calls",
         None, "Answered", None, "Ended during the IVR Stage [4]", None, "Call back requested", None, None, "Missed",
         None, None, "Call back made", None],
        [None] * 11 + ["Total", None, "Total", "%", "Total", "%", "Total", "%", None, "Total", "%", None, "Total",
                       "% of requested"],
        [None],
        ["Total", *[None] * 10, 300, None, 200],
        [None],
        [month, "A81001", "A", *geo, 100, None, 60, 0.6, 20, 0.2, 5, 0.05, None, 15, 0.15, None, 5, 1],
        [month, "Unassigned", "Unmapped", *geo, 150, None, 90, 0.6, 30, 0.2, 0, 0, None, 30, 0.2, None, "-", None],
        ["Copyright © 2025 NHS England", "A81003", "C", *geo, 50, None, 50, 1, 0, 0, 0, 0, None, 0, 0, None, "-", None],
        [None],
        ["Notes:", "  1   Data for months October 24"],
    ]  # fmt: skip


def test_telephony_layout_unassigned_and_missing(warehouse, tmp_path):
    path = workbook(
        tmp_path / "Cloud Based Telephony Publication Summary October 2025_v2.xlsx", {"Table 3": telephony_sheet()}
    )
    result = ingest_files(warehouse, [path], user="t")
    assert result.months == {"telephony": ["2025-10"], "telephony_unassigned": ["2025-10"]}
    got = {r["practice_code"]: r for r in warehouse.snapshot().table("telephony").to_pyarrow().to_pylist()}
    assert set(got) == {"A81001", "A81003"}  # Unassigned never attributed to a practice
    assert got["A81001"]["answered"] == 60 and got["A81003"]["callback_made"] is None  # "-" is null, not 0
    un = warehouse.snapshot().table("telephony_unassigned").to_pyarrow().to_pylist()
    assert [(u["sub_icb_code"], u["inbound"], u["callback_made"]) for u in un] == [("16C", 150, None)]
    checks = warehouse.manifest().releases[-1].checks
    assert any("Copyright" in n for c in checks.values() for n in c.get("repairs", []))


def test_unknown_workbook_is_refused(warehouse, tmp_path):
    path = workbook(tmp_path / "something.xlsx", {"Sheet": [["a"]]})
    with pytest.raises(InputFileError, match="an Excel file gpaccess reads"):
        ingest_files(warehouse, [path], user="t")


FIXTURE = (
    "Indicator ID,Indicator Name,Parent Code,Parent Name,Area Code,Area Name,Area Type,Sex,Age,Category Type,"
    "Category,Time period,Value\r\n"
    "93553,Deprivation score (IMD 2019),,,E92000001,England,England,Persons,All ages,,,2019,21.7\r\n"
    "93553,Deprivation score (IMD 2019),E38000045,Dorset,J81001,Surgery,GPs,Persons,All ages,,,2019,12.5\r\n"
)


class _Handler(http.server.BaseHTTPRequestHandler):
    calls: typing.ClassVar[list[str]] = []
    fail_first = 0

    def do_GET(self):
        _Handler.calls.append(self.path)
        if _Handler.fail_first > 0:
            _Handler.fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        if "indicator_ids=93553" not in self.path:
            self.send_response(404)
            self.end_headers()
            return
        body = FIXTURE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.calls, _Handler.fail_first = [], 0
    yield f"http://127.0.0.1:{httpd.server_address[1]}/api"
    httpd.shutdown()


def test_fingertips_download_then_ingest(server, warehouse, tmp_path):
    _Handler.fail_first = 1  # a passing 503 is retried
    path = download_indicator(server, 93553, tmp_path, retries=2, timeout=5)
    assert _Handler.calls[-1] == "/api/all_data/csv/by_indicator_id?indicator_ids=93553&child_area_type_id=7"
    assert path.read_text() == FIXTURE.replace("\r\n", "\n") or path.read_bytes() == FIXTURE.encode()
    ingest_files(warehouse, [path], user="t")
    rows = queries.imd_deciles(warehouse.snapshot(), 2019).to_pyarrow().to_pylist()
    assert [(r["practice_code"], r["imd_score"], r["decile"]) for r in rows] == [("J81001", 12.5, 1)]


def test_fingertips_download_refuses_not_found(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_indicator(server, 1, tmp_path, retries=0, timeout=5)


def test_workbooks_are_recognised_by_their_tables_not_their_names(warehouse, tmp_path):
    oc_rows = [["Title"], ["x"], ["y"], OC_HEADER, oc_row("A81001", 5, 1)]
    oc = workbook(tmp_path / "Cloud Based Telephony Publication Summary October 2025.xlsx", {"Table 2": oc_rows})
    phone = workbook(tmp_path / "Submissions via OC Systems - April 2025.xlsx", {"Table 3": telephony_sheet()})
    result = ingest_files(warehouse, [oc, phone], user="t")
    assert result.months == {
        "online_consultation": ["2025-04"],  # 45748: the rows' month, not the name's October
        "telephony": ["2025-10"],
        "telephony_unassigned": ["2025-10"],
    }
    notes = "\n".join(result.notes)
    assert f"{oc}: stored under 2025-04 as its rows say, not the 2025-10 its name says" in notes
    assert f"{phone}: stored under 2025-10 as its rows say, not the 2025-04 its name says" in notes


def test_a_workbook_named_as_a_csv_is_read_as_a_workbook(warehouse, tmp_path):
    path = workbook(tmp_path / "telephony.xlsx", {"Table 3": telephony_sheet()})
    disguised = path.rename(tmp_path / "calls_2025-10.csv")
    result = ingest_files(warehouse, [disguised], user="t")
    assert result.months["telephony"] == ["2025-10"]


def test_a_workbook_named_as_published_without_the_table_is_refused(warehouse, tmp_path):
    header = ["Month", "GP Code", "GP Name", "Referrals"]  # Table 2, but no Submissions column
    path = workbook(
        tmp_path / "Submissions via Online Consultation Systems in General Practice - May 2024.xlsx",
        {"Table 2": [header, [45748, "A81001", "X", 5]]},
    )
    with pytest.raises(InputFileError, match="'Table 2' with a header 'Month', 'GP Code', 'Submissions'"):
        ingest_files(warehouse, [path], user="t")
    assert warehouse.manifest().generation == 0
