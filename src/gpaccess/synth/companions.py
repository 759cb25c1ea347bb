"""Companion context files for the synthetic practices, in the layouts the context readers accept as published.

Written under `out_dir/context/` for the practices and months `generate` wrote (same codes, names, PCNs,
sub-ICBs, ICBs, list sizes, open and close months):

    fingertips_93553_imd2019_gp.csv                 OHID Fingertips 93553 (IMD 2019), standard export columns
    epraccur_<YYYY-MM>.csv                          ODS epraccur, one extract dated at the last month written
    APPOINTMENTS_GP_COVERAGE.csv                    coverage by sub-ICB and month (every month written)
    General_Practice_Practice_Level_<YYYY-MM>.csv   General Practice Workforce, practice FTE (every month)
    Cloud Based Telephony Publication Summary <Month YYYY>.xlsx            Table 3 (last month)
    Submissions via OC Systems in General Practice - <Month YYYY>.xlsx     Table 2 (last month)

Every practice-level quantity is drawn once per seed for the whole country (as `structure.build`), so a
practice's IMD score, staffing or telephony figures do not depend on which ICBs are written. The synthetic
GPAD holds every open practice, so coverage is complete (included = open). Workbooks are written by hand as
minimal SpreadsheetML with fixed member dates and document properties: the same options give the same bytes.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from gpaccess.ingest.context.base import excel_column
from gpaccess.synth import model, vocab, write
from gpaccess.synth.structure import ALWAYS, NEVER, Structure

CONTEXT_DIR = "context"
# ONS codes of the NHS England regions (the coverage file's REGION_CODE holds these, not Y56..Y63).
REGION_ONS = {
    "Y56": "E40000003",
    "Y58": "E40000006",
    "Y59": "E40000005",
    "Y60": "E40000011",
    "Y61": "E40000007",
    "Y62": "E40000010",
    "Y63": "E40000012",
}
FINGERTIPS_MIN_LIST = 750  # Fingertips publishes the practice indicator only for lists of 750 or more
FINGERTIPS_COLUMNS = (
    "Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area Name", "Area Type", "Sex",
    "Age", "Category Type", "Category", "Time period", "Value", "Lower CI 95.0 limit", "Upper CI 95.0 limit",
    "Lower CI 99.8 limit", "Upper CI 99.8 limit", "Count", "Denominator", "Value note", "Recent Trend",
    "Compared to England value or percentiles", "Compared to percentiles", "Time period Sortable", "New data",
    "Compared to goal", "Time period range",
)  # fmt: skip
COVERAGE_COLUMNS = (
    "SUB_ICB_LOCATION_CODE", "ICB_ONS_CODE", "REGION_CODE", "Appointment_Month", "Included Practices",
    "Open Practices", "Patients registered at included practices", "Patients registered at open practices",
)  # fmt: skip
WORKFORCE_COLUMNS = (
    "PRAC_CODE", "PRAC_NAME", "PRAC_POSTCODE", "SUB_ICB_CODE", "SUB_ICB_NAME", "ICB_CODE", "ICB_NAME",
    "COMM_REGION_CODE", "COMM_REGION_NAME", "TOTAL_PATIENTS", "TOTAL_GP_HC", "TOTAL_GP_FTE", "TOTAL_GP_EXTGL_FTE",
    "TOTAL_NURSES_FTE", "TOTAL_DPC_FTE", "TOTAL_ADMIN_FTE", "TOTAL_LOCUUM_TRN_FTE",
)  # fmt: skip
OC_HEADER = (
    "Month [1]", "GP Code", "GP Name", "PCN Code [2, 3]", "PCN Name [3]", "Sub ICB Code", "Sub ICB Name",
    "ICB Code", "ICB Name", "Region Code", "Region Name", "Supplier [4, 5, 6]", "Submissions [7]",
    "Clinical Submissions [7]", "Administrative Submissions [7]", "Other/Unknown Type Submissions [7]",
    "Registered Patient Count [8]", "Rate per 1,000 Registered Patients [9, 10]", "Participation",
)  # fmt: skip
OC_SUPPLIERS = (
    "ECONSULT HEALTH LIMITED", "ACCURX LIMITED", "PATCHS HEALTH LTD", "KLINIK HEALTHCARE SOLUTIONS UK LTD",
    "EMIS HEALTH", "SYSTEM C & GRAPHNET", "ECONSULT HEALTH LIMITED, TPP",
)  # fmt: skip
_OC_SUPPLIER_P = np.array([0.30, 0.30, 0.15, 0.10, 0.07, 0.04, 0.04])
TELEPHONY_HEADER: list[object] = [
    "Month [1]", "GP Practice \n(ODS_CODE)", "GP Name", "PCN Code", "PCN Name [2,3]", "Sub ICB Code [2]",
    "Sub ICB Name", "ICB Code  [2]", "ICB Name", "Region Code  [2]", "Region Name", "Count of Inbound calls", None,
    "Answered", None, "Ended during the IVR Stage [4]", None, "Call back requested", None, None, "Missed", None,
    None, "Call back made", None,
]  # fmt: skip
TELEPHONY_SUB: list[object] = [
    *[None] * 11, "Total", None, "Total", "%", "Total", "%", "Total", "%", None, "Total", "%", None, "Total",
    "% of requested",
]  # fmt: skip
_MONTH_NAMES = [calendar.month_name[i] for i in range(13)]


# --- the per-seed practice draws (whole country, so independent of the ICBs written)


def _rng(seed: int, stream: int, *more: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream, *more]))


def imd_scores(s: Structure, seed: int) -> np.ndarray:
    """IMD 2019 score of each practice's population: skewed (median about 21, 10th-90th centile about 10-40,
    as published), with an ICB component so neighbouring practices are alike."""
    rng = _rng(seed, 50)
    icb_eff = rng.normal(0.0, 0.22, len(s.icb_code))
    z = rng.normal(0.0, 0.45, s.n_practices)
    return np.clip(21.0 * np.exp(icb_eff[s.home_icb] + z), 2.5, 75.0)


def _staffing(s: Structure, seed: int) -> dict[str, np.ndarray]:
    """FTE per 1,000 patients of each practice, and which figures it does not supply ("NA")."""
    rng = _rng(seed, 52)
    n = s.n_practices
    return {
        "gp_extgl": rng.lognormal(np.log(0.44), 0.3, n),
        "trainee_locum": rng.lognormal(np.log(0.10), 0.6, n),
        "nurses": rng.lognormal(np.log(0.26), 0.35, n),
        "dpc": rng.lognormal(np.log(0.33), 0.45, n),
        "admin": rng.lognormal(np.log(1.20), 0.25, n),
        "hc_ratio": rng.uniform(1.15, 1.6, n),  # headcount per FTE
        "na_all": rng.random(n) < 0.02,
        "na_dpc": rng.random(n) < 0.04,
        "na_locum": rng.random(n) < 0.06,
    }


# --- small helpers


def _month_date(t: int) -> date:
    y, m = vocab.parse_month(vocab.month_from_index(t))
    return date(y, m, 1)


def _ymd(d: date | None) -> str:
    return "" if d is None else d.strftime("%Y%m%d")


def _month_label(month: str) -> str:
    y, m = vocab.parse_month(month)
    return f"{_MONTH_NAMES[m]} {y}"


def _excel_serial(d: date) -> int:
    return (d - date(1899, 12, 30)).days


def _written(s: Structure, ts: Sequence[int], selected: np.ndarray) -> list[np.ndarray]:
    """Per month, which practices `generate` wrote (open, in a selected ICB that month)."""
    return [s.is_open(t) & selected[s.icb_at(t)] for t in ts]


def _geography(s: Structure, p: int, t: int) -> tuple[int, int, int, int]:
    """(PCN, sub-ICB, ICB, region) of practice p in month t."""
    pcn = int(s.pcn1[p] if t >= s.pcn_change_t[p] else s.pcn0[p])
    sub = int(s.pcn_sub[pcn])
    icb = int(s.sub_icb[sub])
    return pcn, sub, icb, int(s.icb_region[icb])


def icb_ons(s: Structure, icb: int) -> str:
    return f"E54{8 + icb:06d}"


def _csv(rows: list[list[str]] | list[tuple[str, ...]], eol: str) -> bytes:
    return "".join(",".join(write.csv_field(f) for f in r) + eol for r in rows).encode()


# --- (1) Fingertips 93553


def imd_csv(s: Structure, seed: int, idx: np.ndarray, sizes: np.ndarray) -> bytes:
    """The standard Fingertips export (27 columns, CRLF): England twice (as parent-less area and as its own
    child), then one `GP` row per practice with at least 750 patients, in code order."""
    scores = imd_scores(s, seed)
    tail = ["", "", "", "", "", "", "", "Cannot be calculated", "Not compared", "Not compared", "20190000", "", ""]
    head = ["93553", "Deprivation score (IMD 2019)"]
    england = f"{float(np.average(scores[idx], weights=sizes)) if len(idx) else 21.7:.13f}"
    rows = [list(FINGERTIPS_COLUMNS)]
    for parent, pname in (("", ""), ("E92000001", "England")):
        area = ["E92000001", "England", "England", "Persons", "All ages", "", "", "2019"]
        rows.append([*head, parent, pname, *area, england, *tail, "1y"])
    for p, size in sorted(zip(idx.tolist(), sizes.tolist(), strict=True), key=lambda ps: s.code[ps[0]]):
        if size < FINGERTIPS_MIN_LIST:
            continue
        area = [s.code[p], s.name[p].title(), "GP", "Persons", "All ages", "", "", "2019"]
        rows.append([*head, "E92000001", "England", *area, f"{scores[p]:.13f}", *tail, "1y"])
    return _csv(rows, "\r\n")


# --- (2) ODS epraccur


def _open_dates(s: Structure, seed: int) -> list[date]:
    rng = _rng(seed, 51)
    n = s.n_practices
    old = rng.random(n) < 0.35  # many practices carry the 1 April 1974 reorganisation date
    year = rng.integers(1948, 2019, n)
    month = rng.integers(1, 13, n)
    out = []
    for p in range(n):
        if s.open_t[p] != ALWAYS:
            out.append(_month_date(int(s.open_t[p])))
        elif old[p]:
            out.append(date(1974, 4, 1))
        else:
            out.append(date(int(year[p]), int(month[p]), 1))
    return out


def epraccur_csv(s: Structure, seed: int, idx: np.ndarray, t_extract: int) -> bytes:
    """epraccur as extracted in month `t_extract`: no header, 27 quoted fields, LF, dates YYYYMMDD; status A
    for a practice open then, C (with its close date) for one closed by then. Geography is the practice's at
    the extract (or, for a closed practice, in its last open month)."""
    opened = _open_dates(s, seed)
    phone = _rng(seed, 54).integers(0, 1_000_000, s.n_practices)
    streets = ("HIGH STREET", "CHURCH ROAD", "STATION ROAD", "MARKET PLACE", "MILL LANE", "PARK AVENUE")
    lines = []
    for p in sorted(idx.tolist(), key=lambda i: s.code[i]):
        closed = int(s.close_t[p]) <= t_extract
        t = int(s.close_t[p]) - 1 if closed else t_extract
        _pcn, sub, icb, reg = _geography(s, p, t)
        close = None
        if closed:
            last = _month_date(t)
            close = last.replace(day=calendar.monthrange(last.year, last.month)[1])
        join = max(opened[p], date(2022, 7, 1))
        if s.pcn_change_t[p] < NEVER and s.pcn_sub[s.pcn0[p]] != s.pcn_sub[s.pcn1[p]] and s.pcn_change_t[p] <= t:
            join = max(join, _month_date(int(s.pcn_change_t[p])))
        town = s.sub_name[sub].split(" ICB")[0].removeprefix("NHS ").split(" and ")[0].upper()
        fields = [
            s.code[p],
            s.name[p],
            s.region_code[reg],
            s.icb_code[icb],
            s.name[p].split(",")[0],
            f"{1 + p % 180} {streets[p % len(streets)]}",
            town,
            "",
            "",
            s.postcode[p],
            _ymd(opened[p]),
            _ymd(close),
            "C" if closed else "A",
            "B",
            s.sub_code[sub],
            _ymd(join),
            _ymd(close),
            f"01632 {phone[p]:06d}",
            "",
            "",
            "",
            "0",
            "",
            s.sub_code[sub],
            "",
            "4",
            "",
        ]
        lines.append(",".join('"' + f.replace('"', '""') + '"' for f in fields) + "\n")
    return "".join(lines).encode()


# --- (3) coverage


def coverage_csv(s: Structure, ts: Sequence[int], selected: np.ndarray) -> bytes:
    """APPOINTMENTS_GP_COVERAGE: one row per sub-ICB of the selected ICBs with an open practice, per month.
    Every open practice is in the synthetic GPAD, so included = open."""
    rows: list[list[str]] = [list(COVERAGE_COLUMNS)]
    for t in ts:
        is_open = s.is_open(t)
        subs = s.sub_at(t)
        idx = np.flatnonzero(is_open & selected[s.sub_icb[subs]])
        sizes = model.list_size(s, idx, t)
        practices = np.bincount(subs[idx], minlength=len(s.sub_code))
        patients = np.bincount(subs[idx], weights=sizes, minlength=len(s.sub_code)).astype(np.int64)
        day = vocab.crosstab_date(vocab.month_from_index(t))
        for sub in sorted(np.flatnonzero(practices).tolist(), key=lambda i: s.sub_code[i]):
            icb = int(s.sub_icb[sub])
            region = REGION_ONS[s.region_code[int(s.icb_region[icb])]]
            n, pts = str(practices[sub]), str(patients[sub])
            rows.append([s.sub_code[sub], icb_ons(s, icb), region, day, n, n, pts, pts])
    return _csv(rows, "\n")


# --- (4) workforce


def _fte(x: float) -> str:
    return f"{x:.2f}"


def workforce_csv(s: Structure, seed: int, idx: np.ndarray, t: int) -> bytes:
    """General Practice Workforce practice-level CSV for month t: FTE from each practice's fixed staffing
    per 1,000 patients with a little month-to-month noise; "NA" where a practice supplied nothing (all FTE),
    no direct patient care or no trainee/locum figure."""
    st = _staffing(s, seed)
    noise = _rng(seed, 53, t + 10_000).normal(1.0, 0.03, (s.n_practices, 5))
    sizes = model.list_size(s, idx, t)
    rows: list[list[str]] = [list(WORKFORCE_COLUMNS)]
    for p, n in sorted(zip(idx.tolist(), sizes.tolist(), strict=True), key=lambda pn: s.code[pn[0]]):
        _pcn, sub, icb, reg = _geography(s, p, t)
        k = n / 1000.0
        geo = [s.code[p], s.name[p], s.postcode[p], s.sub_code[sub], s.sub_name[sub], s.icb_code[icb]]
        geo += [s.icb_name[icb], s.region_code[reg], s.region_name[reg].upper(), str(n)]
        if st["na_all"][p]:
            rows.append([*geo, *["NA"] * 7])
            continue
        ext = st["gp_extgl"][p] * k * noise[p, 0]
        locum = st["trainee_locum"][p] * k * noise[p, 1]
        gp = ext + locum
        rows.append(
            [
                *geo,
                str(max(1, round(gp * st["hc_ratio"][p]))),
                _fte(gp),
                _fte(ext),
                _fte(st["nurses"][p] * k * noise[p, 2]),
                "NA" if st["na_dpc"][p] else _fte(st["dpc"][p] * k * noise[p, 3]),
                _fte(st["admin"][p] * k * noise[p, 4]),
                "NA" if st["na_locum"][p] else _fte(locum),
            ]
        )
    return _csv(rows, "\r\n")


# --- (5) and (6): Excel workbooks


def _sheet_xml(rows: list[list[object]]) -> str:
    out = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    ]
    for i, row in enumerate(rows, 1):
        cells = []
        for j, v in enumerate(row):
            ref = f"{excel_column(j)}{i}"
            if v is None:
                continue
            if isinstance(v, date):
                cells.append(f'<c r="{ref}" s="1"><v>{_excel_serial(v)}</v></c>')
            elif isinstance(v, bool):
                cells.append(f'<c r="{ref}" t="b"><v>{int(v)}</v></c>')
            elif isinstance(v, int | float | np.integer | np.floating):
                cells.append(
                    f'<c r="{ref}"><v>{v!r}</v></c>' if isinstance(v, float) else f'<c r="{ref}"><v>{v}</v></c>'
                )
            else:
                text = escape(str(v))
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
        out.append(f'<row r="{i}">{"".join(cells)}</row>')
    out.append("</sheetData></worksheet>")
    return "".join(out)


_NS = "http://schemas.openxmlformats.org"
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<styleSheet xmlns="{_NS}/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="mmm\\-yy"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Arial"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    "</fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    "</styleSheet>"
)


def xlsx_members(sheets: list[tuple[str, list[list[object]]]], title: str, stamp: str) -> list[tuple[str, bytes]]:
    """A minimal workbook (inline strings, one date style) with fixed document properties."""
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    ct = [
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{sheet_type}"/>'
        for i in range(1, len(sheets) + 1)
    ]
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    content_types = (
        f'{head}<Types xmlns="{_NS}/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>' + "".join(ct) + "</Types>"
    )
    rels = (
        f'{head}<Relationships xmlns="{_NS}/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_NS}/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/>'
        f'<Relationship Id="rId2" Type="{_NS}/package/2006/relationships/metadata/core-properties" '
        'Target="docProps/core.xml"/></Relationships>'
    )
    core = (
        f'{head}<cp:coreProperties xmlns:cp="{_NS}/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{escape(title)}</dc:title><dc:creator>NHS England</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>'
    )
    book_sheets = "".join(
        f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>' for i, (name, _) in enumerate(sheets, 1)
    )
    workbook = (
        f'{head}<workbook xmlns="{_NS}/spreadsheetml/2006/main" '
        f'xmlns:r="{_NS}/officeDocument/2006/relationships"><sheets>{book_sheets}</sheets></workbook>'
    )
    book_rels = "".join(
        f'<Relationship Id="rId{i}" Type="{_NS}/officeDocument/2006/relationships/worksheet" '
        f'Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    n = len(sheets)
    book_rels += (
        f'<Relationship Id="rId{n + 1}" Type="{_NS}/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    )
    members = [
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", rels),
        ("docProps/core.xml", core),
        ("xl/workbook.xml", workbook),
        (
            "xl/_rels/workbook.xml.rels",
            f'{head}<Relationships xmlns="{_NS}/package/2006/relationships">{book_rels}</Relationships>',
        ),
        ("xl/styles.xml", _STYLES),
    ]
    members += [(f"xl/worksheets/sheet{i}.xml", _sheet_xml(rows)) for i, (_, rows) in enumerate(sheets, 1)]
    return [(name, text.encode()) for name, text in members]


def _publication_stamp(month: str) -> str:
    y, m, d, hh, mm, ss = write.publication_time(month)
    return f"{y:04d}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}Z"


def _geo_cells(s: Structure, p: int, t: int) -> list[object]:
    pcn, sub, icb, reg = _geography(s, p, t)
    return [
        s.pcn_code[pcn],
        s.pcn_name[pcn],
        s.sub_code[sub],
        s.sub_name[sub],
        s.icb_code[icb],
        s.icb_name[icb],
        s.region_code[reg],
        s.region_name[reg].upper(),
    ]


def telephony_rows(s: Structure, seed: int, idx: np.ndarray, t: int) -> list[list[object]]:
    """Table 3 (call outcomes by practice) for month t: about three practices in four on cloud telephony,
    one `Unassigned` shared account in about one sub-ICB in four, headers over two rows, a Total row."""
    rng = _rng(seed, 55)
    on = rng.random(s.n_practices) < 0.75
    demand = rng.lognormal(np.log(0.30), 0.35, s.n_practices)  # inbound calls per patient per month
    answer = np.clip(rng.normal(0.62, 0.1, s.n_practices), 0.25, 0.95)
    ivr = np.clip(rng.normal(0.12, 0.05, s.n_practices), 0.0, 0.4)
    cb_req = np.clip(rng.normal(0.05, 0.03, s.n_practices), 0.0, 0.2)
    cb_made = np.clip(rng.normal(0.8, 0.15, s.n_practices), 0.0, 1.0)
    unassigned = rng.random(len(s.sub_code)) < 0.25
    noise = _rng(seed, 56, t + 10_000).normal(1.0, 0.05, s.n_practices)
    day = _month_date(t)
    keep = np.array(sorted((p for p in idx.tolist() if on[p]), key=lambda p: s.code[p]), dtype=np.int64)
    sizes = model.list_size(s, keep, t)

    def outcome(inbound: int, p: int, hidden_cb: bool) -> tuple[list[object], int]:
        answered = round(inbound * min(answer[p], 1 - ivr[p]))
        ended = round(inbound * ivr[p])
        missed = max(inbound - answered - ended, 0)
        req = round(inbound * cb_req[p])
        made = round(req * cb_made[p])
        pct = lambda x: round(x / inbound, 4) if inbound else 0  # noqa: E731
        made_cells: list[object] = ["-", None] if hidden_cb else [made, round(made / req, 4) if req else 0]
        return [inbound, None, answered, pct(answered), ended, pct(ended), req, pct(req), None, missed, pct(missed),
                None, *made_cells], answered  # fmt: skip

    body: list[list[object]] = []
    totals = np.zeros(2, np.int64)
    for p, n in zip(keep.tolist(), sizes.tolist(), strict=True):
        inbound = round(n * demand[p] * noise[p])
        cells, answered = outcome(inbound, p, hidden_cb=bool(p % 17 == 0))
        totals += (inbound, answered)
        geo = _geo_cells(s, p, t)
        body.append([day, s.code[p], s.name[p], geo[0], geo[1], geo[2], geo[3], geo[4], geo[5], geo[6], geo[7], *cells])
    subs = sorted({int(s.sub_at(t)[p]) for p in keep.tolist()}, key=lambda i: s.sub_code[i])
    if subs and not unassigned[subs].any():
        unassigned = unassigned.copy()
        unassigned[subs[0]] = True  # at least one shared account in the file
    for sub in subs:
        if not unassigned[sub]:
            continue
        icb = int(s.sub_icb[sub])
        reg = int(s.icb_region[icb])
        pcn = int(np.flatnonzero(s.pcn_sub == sub)[0])
        inbound = int(rng.integers(200, 3000))
        cells, answered = outcome(inbound, int(keep[0]) if len(keep) else 0, hidden_cb=True)
        totals += (inbound, answered)
        geo2: list[object] = [s.pcn_code[pcn], s.pcn_name[pcn], s.sub_code[sub], s.sub_name[sub], s.icb_code[icb]]
        geo2 += [s.icb_name[icb], s.region_code[reg], s.region_name[reg].upper()]
        body.append([day, "Unassigned", "Unmapped", *geo2, *cells])
    return [
        ["Table 3: Summary of Cloud based telephony call outcomes, by practice"],
        [None] * 13 + ["Count of Inbound Call Outcome"],
        TELEPHONY_HEADER,
        TELEPHONY_SUB,
        [None],
        ["Total", *[None] * 10, int(totals[0]), None, int(totals[1])],
        [None],
        *body,
        [None],
        ["Notes:", "  1   Synthetic data: made up for testing, in the published layout."],
    ]


def online_consultation_rows(s: Structure, seed: int, idx: np.ndarray, t: int) -> list[list[object]]:
    """Table 2 (submissions by practice) for month t: header on the 4th non-empty row, Month an Excel serial
    number, upper-case text, Participation 1/0."""
    rng = _rng(seed, 57)
    rate = rng.lognormal(np.log(60.0), 0.6, s.n_practices)  # submissions per 1,000 patients a month
    clinical = np.clip(rng.normal(0.62, 0.1, s.n_practices), 0.2, 0.95)
    other = np.clip(rng.normal(0.03, 0.02, s.n_practices), 0.0, 0.1)
    supplier = rng.choice(len(OC_SUPPLIERS), s.n_practices, p=_OC_SUPPLIER_P / _OC_SUPPLIER_P.sum())
    silent = rng.random(s.n_practices) < 0.04
    noise = _rng(seed, 58, t + 10_000).normal(1.0, 0.08, s.n_practices)
    serial = _excel_serial(_month_date(t))
    order = np.array(sorted(idx.tolist(), key=lambda p: s.code[p]), dtype=np.int64)
    sizes = model.list_size(s, order, t)
    body: list[list[object]] = []
    for p, n in zip(order.tolist(), sizes.tolist(), strict=True):
        subs = 0 if silent[p] else round(n * rate[p] * max(noise[p], 0.1) / 1000)
        clin = round(subs * clinical[p])
        oth = round(subs * other[p])
        adm = max(subs - clin - oth, 0)
        geo = _geo_cells(s, p, t)
        body.append(
            [serial, s.code[p], s.name[p], *geo, OC_SUPPLIERS[int(supplier[p])], subs, clin, adm, oth, n,
             round(subs / n * 1000, 2), 0 if silent[p] else 1]
        )  # fmt: skip
    return [
        ["Return to Contents"],
        ["Submissions via OC Systems in General Practice"],
        [None],
        ["Table 2: Submissions received by practices, by type of submission"],
        list(OC_HEADER),
        *body,
        [None],
        ["Source: NHS England (synthetic data, in the published layout)"],
    ]


# --- orchestration


def write_companions(out_dir: Path, s: Structure, seed: int, months: Sequence[str], selected: np.ndarray) -> list[Path]:
    """Write every companion file under `out_dir` (the `context/` folder) and return their paths.

    `months` are the months generated (YYYY-MM, sorted); `selected` marks the ICBs written (by ICB index)."""
    out_dir = Path(out_dir)
    ts = [vocab.month_index(m) for m in months]
    wanted = _written(s, ts, selected)
    ever = np.logical_or.reduce(wanted)
    idx = np.flatnonzero(ever)
    last_t, last_month = ts[-1], months[-1]
    paths: list[Path] = []

    def put(name: str, data: bytes) -> None:
        path = out_dir / name
        write.write_bytes(path, data)
        paths.append(path)

    # list size of each practice at the last month it was written (IMD weights and the 750 threshold)
    sizes = np.zeros(len(idx), np.int64)
    last_seen = np.full(s.n_practices, -1)
    for t, w in zip(ts, wanted, strict=True):
        last_seen[w] = t
    for t in sorted(set(last_seen[idx].tolist())):
        sel = last_seen[idx] == t
        sizes[sel] = model.list_size(s, idx[sel], t)
    put("fingertips_93553_imd2019_gp.csv", imd_csv(s, seed, idx, sizes))
    put(f"epraccur_{last_month}.csv", epraccur_csv(s, seed, idx, last_t))
    put("APPOINTMENTS_GP_COVERAGE.csv", coverage_csv(s, ts, selected))
    for month, t, w in zip(months, ts, wanted, strict=True):
        put(f"General_Practice_Practice_Level_{month}.csv", workforce_csv(s, seed, np.flatnonzero(w), t))
    latest = np.flatnonzero(wanted[-1])
    label = _month_label(last_month)
    stamp = _publication_stamp(last_month)
    for name, sheet, rows in (
        (
            f"Cloud Based Telephony Publication Summary {label}.xlsx",
            "Table 3",
            telephony_rows(s, seed, latest, last_t),
        ),
        (
            f"Submissions via OC Systems in General Practice - {label}.xlsx",
            "Table 2",
            online_consultation_rows(s, seed, latest, last_t),
        ),
    ):
        path = out_dir / name
        sheets: list[tuple[str, list[list[object]]]] = [
            ("Title sheet", [[name.removesuffix(".xlsx")], ["Synthetic data in the published layout."]])
        ]
        sheets.append((sheet, rows))
        write.write_zip(path, xlsx_members(sheets, name.removesuffix(".xlsx"), stamp), last_month)
        paths.append(path)
    return paths
