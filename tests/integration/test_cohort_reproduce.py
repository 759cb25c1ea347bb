"""A cohort run is stored with its parameters, data months and the store releases behind them, so it can be
reproduced exactly; overrides are applied and shown; on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from gpaccess.cohort import commands, queries
from gpaccess.cohort.criteria import CriteriaSettings
from gpaccess.cohort.run import (
    build_cohort,
    default_cycle,
    ensure_cycle,
    overrides_from_store,
    record,
    settings_from_parameters,
)
from gpaccess.cohort.schemas import OverrideAction
from gpaccess.cohort.select import SelectionSettings
from gpaccess.measures.service import MeasureSession, MeasureSettings, parse_months
from gpaccess.storage.warehouse import StoreConfig, Warehouse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def session(synthetic_store):
    home, _ = synthetic_store
    return MeasureSession(Warehouse(StoreConfig(home=home)).snapshot(), MeasureSettings())


def test_stored_run_reproduces_exactly(session, db_sessions):
    icb = sorted(session.directory().icb_code.dropna().unique())[1]
    settings = SelectionSettings(cap_share=0.15, imd_use="tiebreak", criteria=CriteriaSettings(f2f_level=0.998))
    first = build_cohort(session, icb, settings)
    cycle = default_cycle(session.months)
    with db_sessions.begin() as db:
        ensure_cycle(db, cycle, session.months, "analyst")
        run_id = record(db, first, cycle, session.snapshot, user="analyst")
    with db_sessions() as db:
        stored = queries.run(db, icb_code=icb, run_id=run_id)
    assert stored.data_months == [f"{m:%Y-%m}" for m in session.months]
    assert stored.data_versions == session.snapshot.versions()
    assert set(stored.data_versions["gpad_appointments"]) == set(session.snapshot.periods("gpad_appointments"))
    again_settings = settings_from_parameters(stored.parameters)
    assert again_settings == settings
    again = build_cohort(
        MeasureSession(
            session.snapshot.warehouse.snapshot(), MeasureSettings(), months=parse_months(stored.data_months)
        ),
        icb,
        again_settings,
    )
    assert list(again.selected.practice_code) == [m.practice_code for m in stored.selected]
    assert again.cap == stored.cap and again.eligible == stored.eligible


def test_override_recorded_applied_and_audited(session, db_sessions):
    icb = sorted(session.directory().icb_code.dropna().unique())[0]
    base = build_cohort(session, icb, SelectionSettings())
    outsider = base.members[~base.members.selected & ~base.members.excluded].practice_code.iloc[0]
    insider = base.selected.practice_code.iloc[0]
    cycle = default_cycle(session.months)
    with db_sessions.begin() as db:
        ensure_cycle(db, cycle, session.months, "analyst")
        commands.add_override(
            db,
            icb_code=icb,
            cycle=cycle,
            practice_code=outsider,
            action=OverrideAction.ADD,
            reason="Practice asked for help with telephony",
            user="lead",
        )
        commands.add_override(
            db,
            icb_code=icb,
            cycle=cycle,
            practice_code=insider,
            action=OverrideAction.REMOVE,
            reason="Already in the national improvement programme",
            user="lead",
        )
    with db_sessions() as db:
        overrides = overrides_from_store(db, icb, cycle)
    cohort = build_cohort(session, icb, SelectionSettings(), overrides)
    members = cohort.members.set_index("practice_code")
    assert members.loc[outsider, "selected"] and members.loc[outsider, "overridden"] == "added"
    assert not members.loc[insider, "selected"] and members.loc[insider, "overridden"] == "removed"
    assert (
        "telephony" in members.loc[outsider, "override_reason"] and "lead" in members.loc[outsider, "override_reason"]
    )
    assert len(cohort.selected) == len(base.selected)  # one in, one out: the cap still holds
    with db_sessions.begin() as db:
        run_id = record(db, cohort, cycle, session.snapshot, user="analyst")
    with db_sessions() as db:
        events = queries.audit_events(db, object_type="cohort_run", object_id=run_id)
    assert events and events[0].actor == "analyst"


def test_default_cycle_is_the_winter_after_the_window():
    assert default_cycle([date(2025, 8, 1), date(2025, 10, 1)]) == "winter 2025/26"
    assert default_cycle([date(2026, 1, 1)]) == "winter 2025/26"
