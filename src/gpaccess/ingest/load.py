"""Ingest: one call is one release. Validate everything, write Parquet unseen, check totals, swap the manifest.

Idempotent per file (sha256), atomic per call: a file that fails leaves the store answering every query
exactly as before, and so does a process killed at any point (the manifest swap is the only visible step).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from gpaccess.errors import InputFileError, NotFoundError, Problem, UserError
from gpaccess.ingest import aggregate, checks, context, republication
from gpaccess.ingest.context.base import name_disagrees, period_note
from gpaccess.ingest.normalise import Loaded, load_member
from gpaccess.ingest.read import Member, open_inputs
from gpaccess.ingest.republication import MappingChange, MonthChange
from gpaccess.ingest.schemas import publications, resolve_header
from gpaccess.storage import csvread
from gpaccess.storage.manifest import Release, Source
from gpaccess.storage.periods import PeriodError, month_from_filename, month_key, require_month
from gpaccess.storage.warehouse import Transaction, Warehouse, now_iso, pause_point, sha256_file

Progress = Callable[[str], None]

# Where each published file's rows go in the store: (publication, key columns, measure).
APPOINTMENTS = "gpad_appointments"
PRACTICES = "gpad_practices"
MAPPING = "gpad_mapping"
REGISTRATIONS = "registrations"
APPOINTMENT_COLUMNS = [
    "month",
    "practice_code",
    "supplier",
    "hcp_type",
    "appt_mode",
    "national_category",
    "time_band",
    "appt_status",
    "count",
]
PRACTICE_COLUMNS = [
    "month",
    "practice_code",
    "practice_name",
    "supplier",
    "pcn_code",
    "pcn_name",
    "sub_icb_code",
    "sub_icb_name",
]


@dataclass
class FileOutcome:
    name: str
    sha256: str
    status: str  # "ingested", "already ingested"
    detail: str = ""


@dataclass
class IngestResult:
    release: str | None
    files: list[FileOutcome] = field(default_factory=list)
    months: dict[str, list[str]] = field(default_factory=dict)  # publication -> months
    rows: int = 0
    notes: list[str] = field(default_factory=list)  # what a user should notice (e.g. a month only partly replaced)
    # The change report: per month already stored, what this release added and revised (data, not only text,
    # so the web application can show it too), and each month's mapping it replaced.
    republished: list[MonthChange] = field(default_factory=list)
    mappings: list[MappingChange] = field(default_factory=list)


def ingest_files(
    warehouse: Warehouse,
    paths: list[Path],
    *,
    user: str,
    month: str | None = None,
    partial: bool = False,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingest `paths` as one release. `month`: the month of files whose rows carry none. `partial`: the user
    means a replaced practice to lose more than a fifth of its stored appointments or rows (otherwise such a
    release is refused: see `republication`)."""
    say = progress or (lambda _msg: None)
    month_hint = _parse_month_option(month)
    scratch = warehouse.tmp_dir / f"ingest-{uuid.uuid4().hex[:8]}"
    try:
        with warehouse.transaction(user=user) as tx:
            return _ingest(tx, paths, user, month_hint, scratch, say, partial=partial)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _parse_month_option(month: str | None) -> date | None:
    if month is None:
        return None
    try:
        return require_month(month, "--month")
    except PeriodError as exc:
        raise UserError(str(exc)) from None


def _ingest(
    tx: Transaction,
    paths: list[Path],
    user: str,
    month_hint: date | None,
    scratch: Path,
    say: Progress,
    *,
    partial: bool,
) -> IngestResult:
    applied = tx.manifest.applied_releases()
    # A file is "already ingested" only while its release is wholly applied: after a rollback of any of its
    # months, ingesting it again re-applies it (DESIGN: Releases).
    known = {
        s.sha256: r.id for r in tx.manifest.releases if r.id in applied and r.status == "applied" for s in r.sources
    }
    result = IngestResult(release=None)
    fresh: list[Path] = []
    digests: dict[Path, str] = {}
    for p in paths:
        if not p.exists():
            raise NotFoundError(f"{p}: no such file")
        digest = digests[p] = sha256_file(p)
        if digest in known:
            result.files.append(FileOutcome(p.name, digest, "already ingested", f"release {known[digest]}"))
        else:
            fresh.append(p)
    if not fresh:
        return result

    say("opening files")
    # Context data (system-level GPAD, coverage, IMD, payments, ODS, OC, telephony, GPPS, workforce) is
    # recognised first; everything else takes the GPAD path, which refuses unknown files.
    detected, gpad_paths = [], []
    for p in fresh:
        found = context.detect(p)
        if found is None:
            gpad_paths.append(p)
        else:
            detected.append(found)
    inputs = open_inputs(gpad_paths, scratch, digests) if gpad_paths else []
    sources = [src for src, _ in inputs] + [
        context.source_of(probe.path, digests.get(probe.path)) for probe, _ in detected
    ]
    release = tx.new_release_id(sources)
    problems: list[Problem] = []
    loaded: list[Loaded] = []
    try:
        loaded = _read_all(tx, inputs, month_hint, say)
    except InputFileError as exc:
        problems += exc.problems
    reads = context.read_all(detected, context.ReadOptions(month_hint=month_hint), say)
    problems += context.problems_of(reads)
    if problems:
        raise InputFileError(problems, f"{len(problems)} problem(s) found; nothing was stored")
    gpad = _write_all(tx, release, loaded, say, partial=partial)
    context_written, per_file = context.write_all(tx, release, reads, say)
    for pub, periods in context_written.items():
        gpad.touched.setdefault(pub, set()).update(periods)
    touched = {pub: sorted(months) for pub, months in gpad.touched.items()}
    release_checks = checks.verify(tx, gpad.by_item) | context.verify(tx, reads, per_file)
    rows = sum(x.file_rows for x in loaded) + sum(fr.file_rows for fr in reads)
    tx.record(
        Release(
            id=release,
            sources=sources,
            ingested_at=now_iso(),
            touched=touched,
            rows=rows,
            total=float(sum(x.file_total or 0 for x in loaded if x.spec_name == "gpad_crosstab")) or None,
            checks=release_checks,
            user=user,
        )
    )
    for src in sources:
        result.files.append(FileOutcome(src.name, src.sha256, "ingested"))
    result.release, result.months, result.rows = release, touched, rows
    result.republished, result.mappings = gpad.republished, gpad.mappings
    # What a reader repaired or decided (a relabelled header, --month over a file name) is the user's to see.
    result.notes = list(tx.notes) + [f"{fr.display}: {note}" for fr in reads for note in fr.notes]
    say("making the release visible")
    return result


def _read_all(
    tx: Transaction, inputs: list[tuple[Source, list[Member]]], month_hint: date | None, say: Progress
) -> list[Loaded]:
    """Read and check every file before writing anything, so all problems are reported together.

    What a file is comes from its header (`resolve_header`), and its month from its rows wherever they carry
    one; a file name or `--month` saying another month is noted, never obeyed. Only a file whose rows carry no
    month (a Mapping.csv) takes one from elsewhere: the crosstab beside it in its zip, else `--month`, else its
    name."""
    con = tx.warehouse.con
    problems: list[Problem] = []
    loaded: list[Loaded] = []
    for _source, members in inputs:
        resolved = {m.display: resolve_header(m.header, m.display) for m in members}
        data_first = sorted(members, key=lambda m: resolved[m.display].spec.month_column is None)
        zip_months: set[date] = set()
        for m in data_first:
            spec = resolved[m.display].spec
            hint = None
            if spec.month_column is None:
                hint, problem = _month_without_column(tx, m, zip_months, month_hint)
                if problem:
                    problems.append(problem)
                    continue
            say(f"reading {m.display}")
            item = load_member(con, m, resolved[m.display], hint)
            if spec.month_column:
                zip_months.update(item.months)
                _note_content_month(tx, m, item.months, month_hint)
            problems += item.problems
            loaded.append(item)
    if problems:
        raise InputFileError(problems, f"{len(problems)} problem(s) found; nothing was stored")
    return loaded


def _named_month(m: Member) -> date | None:
    """The month a member's own name says, else its zip's name."""
    return month_from_filename(m.name) or (month_from_filename(m.archive) if m.archive else None)


def _note_content_month(tx: Transaction, m: Member, months: list[date], month_hint: date | None) -> None:
    keys = [month_key(d) for d in months]
    if note := name_disagrees(_named_month(m), keys):
        tx.notes.append(f"{m.display}: {note}")
    if month_hint is not None and months and month_hint not in months:
        what = f"--month {month_key(month_hint)}"
        tx.notes.append(f"{m.display}: {period_note(', '.join(keys), 'its rows say', what)}")


def _month_without_column(
    tx: Transaction, m: Member, zip_months: set[date], month_hint: date | None
) -> tuple[date | None, Problem | None]:
    """The month of a file whose rows carry none (DESIGN "Mapping"): the crosstab beside it in its zip, else
    `--month`, else its name; a zip whose crosstabs hold several months leaves it ambiguous without `--month`."""
    named = _named_month(m)
    if m.archive and len(zip_months) == 1:
        (beside,) = zip_months
        # The zip's own name is already noted with the crosstab; only --month or the member's own name add news.
        own = month_from_filename(m.name)
        if month_hint is not None and month_hint != beside:
            what = f"--month {month_key(month_hint)}"
        elif month_hint is None and own is not None and own != beside:
            what = f"the {month_key(own)} its name says"
        else:
            return beside, None
        tx.notes.append(f"{m.display}: {period_note(month_key(beside), 'the crosstab beside it says', what)}")
        return beside, None
    if m.archive and len(zip_months) > 1 and month_hint is None:
        shown = ", ".join(month_key(d) for d in sorted(zip_months))
        return None, Problem(
            m.display, None, None, f"one month for this file: the crosstabs beside it hold {shown}; pass --month"
        )
    if month_hint is not None:
        if named is not None and named != month_hint:
            what = f"the {month_key(named)} its name says"
            tx.notes.append(f"{m.display}: {period_note(month_key(month_hint), '--month says', what)}")
        return month_hint, None
    return named, None


@dataclass
class _Written:
    touched: dict[str, set[str]]  # publication -> periods
    by_item: list[tuple[Loaded, str, list[Path]]]  # what each file wrote, for the checks
    republished: list[MonthChange]
    mappings: list[MappingChange]


def _write_all(tx: Transaction, release: str, loaded: list[Loaded], say: Progress, *, partial: bool) -> _Written:
    """Write each file's rows per month into unreferenced Parquet, compare them with what each month already
    holds (refusing a release that would cut a practice, unless `partial`), then stack them as the months' new
    state: appointments by practice (a republication replaces the practices it holds), a mapping as a whole."""
    con = tx.warehouse.con
    parts: dict[tuple[str, str], list[Path]] = {}
    owners: dict[tuple[str, str], list[Loaded]] = {}
    by_item: list[tuple[Loaded, str, list[Path]]] = []
    for item in loaded:
        for out_pub, expr_for in _targets(item):
            written: list[Path] = []
            by_item.append((item, out_pub, written))
            for m in item.months:
                period = month_key(m)
                expr = expr_for(m)
                path = tx.staging_path(out_pub, period, release)
                say(f"writing {out_pub} {period}")
                con.to_parquet(expr, path, compression="zstd", row_group_size=262_144)
                pause_point(tx.warehouse.config, "write")
                written.append(path)
                parts.setdefault((out_pub, period), []).append(path)
                owners.setdefault((out_pub, period), []).append(item)
        csvread.drop(con, item.raw)
    checks.disjoint_parts(tx, parts, owners)
    for (pub, period), files in parts.items():
        if pub == MAPPING and len(files) > 1:
            union = checks.union_mappings(tx, period, release, files, owners[(pub, period)])
            renamed = dict(zip(files, union, strict=True))  # the checks read what is stored
            for _, _, written in by_item:
                written[:] = [renamed.get(f, f) for f in written]
            parts[(pub, period)] = union
    say("comparing with the months already stored")
    changes = {
        period: republication.compare_month(
            con,
            period,
            _stored_files(tx, pub, period),
            [(f, o.member.display) for f, o in zip(files, owners[(pub, period)], strict=True)],
        )
        for (pub, period), files in sorted(parts.items())
        if pub == APPOINTMENTS and _stored_files(tx, pub, period)
    }
    tx.notes += republication.guard(list(changes.values()), partial=partial)
    touched: dict[str, set[str]] = {}
    mappings: list[MappingChange] = []
    for (pub, period), files in sorted(parts.items()):
        schema, key, measure = _layout(pub)
        before = tx.manifest.publications[pub].current(period) if pub in tx.manifest.publications else None
        # A month's mapping is published whole: the new one replaces it, practices it no longer lists included.
        after = tx.put(
            pub, period, release, files, schema=schema, key=key, measure=measure, replace_period=pub == MAPPING
        )
        touched.setdefault(pub, set()).add(period)
        if pub == MAPPING and before is not None:
            mappings.append(MappingChange(period, before.keys, after.keys, before.rows, after.rows))
        change = changes.get(period) if pub == APPOINTMENTS else None
        if change and before and (note := republication.partly_replaced_note(change, before.release)):
            tx.notes.append(note)
    return _Written(touched, by_item, list(changes.values()), mappings)


def _stored_files(tx: Transaction, publication: str, period: str) -> list[str]:
    pub = tx.manifest.publications.get(publication)
    state = pub.current(period) if pub else None
    return [str(tx.warehouse.data_dir / f) for f in state.files] if state else []


def _targets(item: Loaded) -> list[tuple[str, Callable[[date], object]]]:
    t = item.table

    def in_month(expr, m: date):
        return expr if len(item.months) == 1 else expr.filter(expr.month == m)

    if item.spec_name == "gpad_crosstab":
        appts = t.select(*[c for c in APPOINTMENT_COLUMNS if c in t.columns])
        cols = [c for c in PRACTICE_COLUMNS if c in t.columns]
        pracs = t.group_by(cols).aggregate(appointments=t["count"].sum())
        return [
            (APPOINTMENTS, lambda m: in_month(appts, m)),
            (PRACTICES, lambda m: in_month(pracs, m)),
            # Derived, in the same release as the rows it sums (DESIGN "The practice-month aggregate").
            (aggregate.PUBLICATION, lambda m: aggregate.practice_month_aggregate(in_month(appts, m))),
        ]
    if item.spec_name == "gpad_mapping":
        return [(MAPPING, lambda m: t)]
    if item.spec_name == "registrations":
        regs = t.select(
            "month",
            "practice_code",
            *[c for c in ("sub_icb_code", "sex", "age", "patients") if c in t.columns],
        )
        return [(REGISTRATIONS, lambda m: in_month(regs, m))]
    raise AssertionError(item.spec_name)  # pragma: no cover - every publication in sources.toml is routed


def _layout(publication: str) -> tuple[dict[str, str], list[str], str | None]:
    specs = publications()
    if publication == APPOINTMENTS:
        cols, spec, measure = APPOINTMENT_COLUMNS, specs["gpad_crosstab"], "count"
        return {c: spec.store_schema(cols)[c] for c in cols}, ["practice_code"], measure
    if publication == PRACTICES:
        schema = specs["gpad_crosstab"].store_schema(PRACTICE_COLUMNS)
        return (
            {**{c: schema[c] for c in PRACTICE_COLUMNS}, "appointments": "int64"},
            ["practice_code"],
            "appointments",
        )
    if publication == aggregate.PUBLICATION:
        return aggregate.schema(), ["practice_code"], "appointments"
    if publication == MAPPING:
        spec = specs["gpad_mapping"]
        return {"month": "date", **spec.store_schema([c.name for c in spec.columns])}, ["practice_code"], None
    if publication == REGISTRATIONS:
        spec = specs["registrations"]
        cols = ["month", "practice_code", "sub_icb_code", "sex", "age", "patients"]
        return spec.store_schema(cols), ["practice_code"], "patients"
    raise AssertionError(publication)  # pragma: no cover
