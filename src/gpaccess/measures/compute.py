"""Measures as Ibis expressions over the practice-month aggregate (DESIGN "The practice-month aggregate").

The aggregate's rows are practice × month × appointment-mix stratum (HCP type × national category × booking
band) and its columns are appointments per mode and per status, so a measure's condition splits in two: the
stratum part filters rows and the mode or status part picks columns to add. One scan of the aggregate gives
every measure's numerator and denominator. Everything here takes and returns Ibis tables, so the same code runs
on DuckDB now and Spark later (no SQL strings, no engine imports: an import-linter contract). Only
practice-level aggregates leave the engine. Shares over a window pool numerators and denominators (DESIGN:
not a mean of monthly shares).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import ibis
import ibis.expr.types as ir

from gpaccess.errors import UserError
from gpaccess.ingest.aggregate import COLUMN_DIMENSIONS, GRAIN, column_for
from gpaccess.measures.definitions import Condition, Measure

STRATA = ("hcp_type", "national_category", "time_band")


class MeasureDefinitionError(UserError):
    """A measure's condition cannot be answered from the practice-month aggregate."""


def _split(cond: Condition) -> tuple[Condition, tuple[str, tuple[str, ...]] | None]:
    """A condition as (row filter on the strata, the one mode or status column set to add, if any)."""
    rows = {k: v for k, v in cond.items() if k in GRAIN}
    picked = [(k, v) for k, v in cond.items() if k in COLUMN_DIMENSIONS]
    unknown = sorted(set(cond) - set(rows) - set(COLUMN_DIMENSIONS))
    if unknown:
        raise MeasureDefinitionError(
            f"a measure condition on {', '.join(unknown)}: the practice-month aggregate holds "
            f"{', '.join(STRATA)} as rows and {', '.join(COLUMN_DIMENSIONS)} as columns"
        )
    if len(picked) > 1:
        raise MeasureDefinitionError(
            "a measure condition on both appointment mode and status: the practice-month aggregate adds "
            "appointments by mode or by status, not by both together"
        )
    return rows, (picked[0] if picked else None)


def _matches(t: ir.Table, cond: Condition) -> ir.BooleanValue:
    expr: ir.BooleanValue = ibis.literal(True)
    for column, values in cond.items():
        expr = expr & t[column].isin(list(values))
    return expr


def _value(t: ir.Table, columns: tuple[str, tuple[str, ...]] | None) -> ir.NumericValue:
    if columns is None:
        return t.appointments
    dimension, values = columns
    names = [column_for(dimension, v) for v in values]
    total: ir.NumericValue = t[names[0]]
    for name in names[1:]:
        total = total + t[name]
    return total


def _sum_where(t: ir.Table, cond: Condition) -> ir.IntegerValue:
    rows, columns = _split(cond)
    # Summed as float64 (exact for whole numbers below 2**53; a national year is ~4e8) and cast back: the
    # engine's 128-bit integer sum is the slowest part of the scan.
    return _value(t, columns).cast("float64").sum(where=_matches(t, rows)).fill_null(0).cast("int64")


def count_columns(measures: Iterable[Measure]) -> list[Measure]:
    """The measures whose numerator and denominator are sums of appointment counts."""
    return [m for m in measures if m.kind == "share"]


def merge_conditions(*conditions: Condition) -> Condition | None:
    """One condition meaning all of them: per column, the values every condition accepts. None if nothing can
    match (two conditions on one column with no value in common)."""
    merged: dict[str, set[str]] = {}
    for cond in conditions:
        for column, values in cond.items():
            merged[column] = merged[column] & set(values) if column in merged else set(values)
    if any(not v for v in merged.values()):
        return None
    return {column: tuple(sorted(values)) for column, values in sorted(merged.items())}


def practice_month_counts(aggregate: ir.Table, measures: Iterable[Measure]) -> ir.Table:
    """Per practice and month: total appointments and each share measure's numerator (`<m>__num`) and
    denominator (`<m>__den`), from a single aggregation over the practice-month aggregate.

    Conditions are merged and shared: measures with the same denominator (e.g. every "known mode" share) cost
    one sum between them."""
    t = aggregate
    sums: dict[tuple[tuple[str, tuple[str, ...]], ...], str] = {}
    aggs: dict[str, ir.Value] = {}
    outputs: dict[str, str | None] = {}

    def sum_for(cond: Condition | None) -> str | None:
        if cond is None:
            return None
        key = tuple(cond.items())
        if key not in sums:
            sums[key] = f"_s{len(sums)}"
            aggs[sums[key]] = _sum_where(t, cond)
        return sums[key]

    outputs["appointments"] = sum_for({})
    for m in count_columns(measures):
        outputs[f"{m.name}__num"] = sum_for(merge_conditions(m.filter, m.numerator, m.denominator))
        outputs[f"{m.name}__den"] = sum_for(merge_conditions(m.filter, m.denominator))
    grouped = t.group_by(["month", "practice_code"]).aggregate(**aggs)
    columns = {name: grouped[source] if source else ibis.literal(0, type="int64") for name, source in outputs.items()}
    return grouped.select("month", "practice_code", **columns)


def with_list_size(counts: ir.Table, registrations: ir.Table | None) -> ir.Table:
    """Attach each practice-month's registered patients (all ages) from the same month's extract."""
    if registrations is None:
        return counts.mutate(patients=ibis.null("int64"))
    regs = registrations
    if "sex" in regs.columns:
        regs = regs.filter((regs.sex == "ALL") & (regs.age == "ALL"))
    regs = regs.group_by(["month", "practice_code"]).aggregate(patients=regs.patients.sum())
    return counts.left_join(regs, ["month", "practice_code"]).drop("month_right", "practice_code_right")


def pooled(counts: ir.Table, months: list[date], measures: Iterable[Measure]) -> ir.Table:
    """Pool a window of months per practice: sums of numerators and denominators, then the values.

    The rate per 1,000 pools appointments and list sizes over the months where both are known, so a month
    without a list-size extract is left out of both sides rather than counted as zero patients.
    """
    t = counts.filter(counts.month.isin(months))
    measures = list(measures)
    aggs: dict[str, ir.Value] = {
        "months": t.month.nunique(),
        "appointments": t.appointments.sum(),
        "rate__num": t.appointments.sum(where=t.patients.notnull()),
        "rate__den": t.patients.sum(),
        "patients": t.patients.mean(),
    }
    for m in count_columns(measures):
        aggs[f"{m.name}__num"] = t[f"{m.name}__num"].sum()
        aggs[f"{m.name}__den"] = t[f"{m.name}__den"].sum()
    out = t.group_by("practice_code").aggregate(**aggs)
    values: dict[str, ir.Value] = {}
    for m in measures:
        if m.kind == "share":
            num, den = out[f"{m.name}__num"], out[f"{m.name}__den"]
            values[m.name] = ibis.ifelse(den > 0, num.cast("float64") / den, ibis.null("float64"))
        elif m.kind == "rate_per_1000":
            values[m.name] = ibis.ifelse(
                out.rate__den > 0, out.rate__num.cast("float64") * 1000.0 / out.rate__den, ibis.null("float64")
            )
    return out.mutate(**values)


def baseline_months(months: list[date], baseline_year: int) -> list[date]:
    """The same calendar months in the baseline year (DESIGN: 'Baseline')."""
    return sorted({date(baseline_year, m.month, 1) for m in months})


def with_baseline(
    window: ir.Table, counts: ir.Table, months: list[date], baseline_year: int, measures: Iterable[Measure]
) -> ir.Table:
    """Add the baseline-year rate and each baseline ratio; unavailable (null) unless every baseline month is
    loaded for the practice with a list size — never zero, never guessed."""
    base_months = baseline_months(months, baseline_year)
    rate_measures = [m for m in measures if m.kind == "baseline_ratio"]
    if not rate_measures:
        return window
    b = counts.filter(counts.month.isin(base_months) & counts.patients.notnull())
    base = b.group_by("practice_code").aggregate(
        baseline_months=b.month.nunique(),
        baseline_rate=b.appointments.sum().cast("float64") * 1000.0 / b.patients.sum(),
    )
    joined = window.left_join(base, "practice_code").drop("practice_code_right")
    complete = joined.baseline_months == len(base_months)
    rate = ibis.ifelse(complete, joined.baseline_rate, ibis.null("float64"))
    extra: dict[str, ir.Value] = {"baseline_rate": rate}
    for m in rate_measures:
        extra[m.name] = ibis.ifelse(rate > 0, joined[m.base or "appts_per_1000"] / rate, ibis.null("float64"))
    return joined.mutate(**extra).drop("baseline_months")


def strata_counts(aggregate: ir.Table, measure: Measure, months: list[date]) -> ir.Table:
    """Per practice and appointment-mix stratum (HCP type × national category × booking band): the measure's
    denominator and numerator over the window. GPAD records no patient age or sex, so the appointment mix is
    the case mix standardisation can use (DESIGN: 'Strata'); the aggregate's rows are those strata."""
    t = aggregate.filter(aggregate.month.isin(months))
    denominator = merge_conditions(measure.filter, measure.denominator)
    numerator = merge_conditions(measure.filter, measure.numerator, measure.denominator)
    if denominator is None:
        raise MeasureDefinitionError(f"{measure.name}: its filter and denominator can match no appointment")
    den_rows, den_columns = _split(denominator)
    t = t.filter(_matches(t, den_rows) & (_value(t, den_columns) > 0))  # strata with no denominator add nothing
    r = _sum_where(t, numerator) if numerator is not None else ibis.literal(0, type="int64")
    grouped = t.group_by(["practice_code", *STRATA]).aggregate(
        n=_value(t, den_columns).cast("float64").sum().cast("int64"),
        r=r,
    )
    # A fixed row order: the statistics sum floats over these rows, and a parallel engine returns groups in
    # any order, which would change the last bits of every figure (a stored run must reproduce exactly).
    return grouped.order_by(["practice_code", *STRATA])


def monthly_series(counts: ir.Table, measure: Measure) -> ir.Table:
    """Each practice's monthly values of a measure (one row per practice and month), for SPC."""
    t = counts
    order = ["practice_code", "month"]
    if measure.kind == "share":
        num, den = t[f"{measure.name}__num"], t[f"{measure.name}__den"]
        value = ibis.ifelse(den > 0, num.cast("float64") / den, ibis.null("float64"))
        return t.select("practice_code", "month", numerator=num, denominator=den, value=value).order_by(order)
    if measure.kind == "rate_per_1000":
        value = ibis.ifelse(t.patients > 0, t.appointments.cast("float64") * 1000.0 / t.patients, ibis.null("float64"))
        out = t.select("practice_code", "month", numerator=t.appointments, denominator=t.patients, value=value)
        return out.order_by(order)
    raise UserError(
        f"{measure.name} has no monthly series (it compares a window with a baseline year); "
        "try appts_per_1000 or a share such as f2f_gp"
    )
