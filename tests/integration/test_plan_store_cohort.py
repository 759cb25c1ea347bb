"""Cohort runs, members and overrides in the plan store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from gpaccess.access.audit import AuditEvent
from gpaccess.cohort import queries
from gpaccess.cohort.commands import (
    CohortInputError,
    ConflictError,
    OverrideReasonRequiredError,
    add_override,
    record_run,
    revoke_override,
)
from gpaccess.cohort.records import CohortOverride, CohortRun
from gpaccess.cohort.schemas import MemberIn, Overridden, OverrideAction, RunStatus
from gpaccess.errors import NotFoundError, UserError
from gpaccess.plans import queries as plan_queries
from gpaccess.plans.commands import PlanInputError, create_cycle

CYCLE = "winter 2021/22"

PARAMETERS = {
    "face_to_face": {"numerator": ["Face-to-Face", "Home Visit"], "staff": "GP", "unknown": "excluded"},
    "funnel_limit": 0.95,
    "overdispersion": "additive",
    "cap_share": 0.2,
    "window": {"from": "2021-04", "to": "2021-06"},
    "exclusions": {"min_list_size": 1000, "max_unknown_mode": 0.2},
}
CRITERIA = ["face_to_face_below_expected", "appointments_below_baseline"]
MONTHS = ["2021-04", "2021-05", "2021-06"]
VERSIONS = {
    "gpad": {"2021-04": "sha256:aa11", "2021-05": "sha256:bb22", "2021-06": "sha256:cc33"},
    "registrations": {"2021-06": "sha256:dd44"},
}
MEMBERS = [
    MemberIn(
        practice_code="A81001",
        selected=True,
        criteria_met=["face_to_face_below_expected"],
        reasons=["face-to-face share lower than expected for its appointment mix (below the 95% limit)"],
        evidence_strength=3.2,
        criteria_status={"face_to_face_below_expected": "met", "high_111_use": "not assessed"},
    ),
    MemberIn(practice_code="A81002", selected=False, near_miss=True, evidence_strength=1.7, criteria_met=[]),
    MemberIn(
        practice_code="A81003",
        selected=False,
        excluded=True,
        exclusion_reasons=["list size under 1,000"],
    ),
    MemberIn(
        practice_code="A81004",
        selected=True,
        overridden=Overridden.ADDED,
        override_reason="new partnership; the ICB already agreed support",
    ),
    MemberIn(
        practice_code="A81005",
        selected=False,
        criteria_met=["face_to_face_below_expected"],
        overridden=Overridden.REMOVED,
        override_reason="already in the national programme",
    ),
    MemberIn(
        practice_code="A81006",
        selected=False,
        near_limit=True,
        criteria_status={"face_to_face_below_expected": "near the limit", "high_111_use": "not assessed"},
    ),
]


@pytest.fixture
def cycle(db_sessions) -> str:
    with db_sessions() as session:
        create_cycle(session, name=CYCLE, starts=date(2021, 10, 1), ends=date(2022, 3, 31), user="lead")
    return CYCLE


def _record(session, **overrides) -> int:
    args = {
        "icb_code": "QWE",
        "cycle": CYCLE,
        "parameters": PARAMETERS,
        "criteria": CRITERIA,
        "data_months": MONTHS,
        "data_versions": VERSIONS,
        "members": MEMBERS,
        "cap": 2,
        "eligible": 12,
        "user": "analyst1",
    } | overrides
    return record_run(session, **args)


def _count(sessions, model) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_run_round_trip_with_members(db_sessions, cycle):
    with db_sessions() as session:
        run_id = _record(session)

    with db_sessions() as session:
        run = queries.latest_run(session, icb_code="QWE", cycle=cycle)

    assert run is not None
    assert (run.id, run.icb_code, run.cycle, run.created_by) == (run_id, "QWE", CYCLE, "analyst1")
    assert (run.cap, run.eligible, run.status) == (2, 12, RunStatus.DRAFT)
    assert run.created_at.tzinfo is not None
    assert [m.practice_code for m in run.members] == ["A81001", "A81002", "A81003", "A81004", "A81005", "A81006"]
    assert [m.model_dump() for m in run.members] == [m.model_dump() for m in MEMBERS]
    assert [m.practice_code for m in run.selected] == ["A81001", "A81004"]


def test_run_stores_what_reproduces_it(db_sessions, cycle):
    """Parameters, criteria, data months and store releases come back exactly as given."""
    with db_sessions() as session:
        run_id = _record(session)
    with db_sessions() as session:
        run = queries.run(session, icb_code="QWE", run_id=run_id)

    assert run.parameters == PARAMETERS
    assert run.criteria == CRITERIA
    assert run.data_months == MONTHS
    assert run.data_versions == VERSIONS
    assert isinstance(run.parameters["funnel_limit"], float)
    assert isinstance(run.parameters["exclusions"]["min_list_size"], int)


def test_run_is_audited_in_its_transaction(db_sessions, cycle):
    with db_sessions() as session:
        run_id = _record(session)
    with db_sessions() as session:
        (event,) = queries.audit_events(session, object_type="cohort_run", object_id=run_id)
    assert (event.actor, event.action, event.icb_code) == ("analyst1", "cohort_run.recorded", "QWE")
    assert event.detail["selected"] == ["A81001", "A81004"]
    assert event.detail["data_months"] == MONTHS


def test_latest_run_is_the_newest_of_that_icb_and_cycle(db_sessions, cycle):
    with db_sessions() as session:
        create_cycle(session, name="winter 2022/23", starts=date(2022, 10, 1), ends=date(2023, 3, 31), user="x")
        first = _record(session)
        second = _record(session, status=RunStatus.CONFIRMED)
        _record(session, icb_code="ZZZ")
        _record(session, cycle="winter 2022/23")
    with db_sessions() as session:
        assert queries.latest_run(session, icb_code="QWE", cycle=cycle).id == second
        assert queries.latest_run(session, icb_code="qwe", cycle=cycle, status=RunStatus.DRAFT).id == first
        assert queries.latest_run(session, icb_code="ABC", cycle=cycle) is None
        with pytest.raises(NotFoundError):
            queries.latest_run(session, icb_code="QWE", cycle="no such cycle")
        with pytest.raises(NotFoundError):
            queries.run(session, icb_code="ZZZ", run_id=first)  # another ICB's run is not found


def test_run_refused_when_selection_exceeds_cap(db_sessions, cycle):
    with db_sessions() as session, pytest.raises(CohortInputError, match="cap is 0"):
        _record(session, cap=0)
    assert _count(db_sessions, CohortRun) == 0


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ({"selected": True, "excluded": True}, "excluded practice is selected only by an override"),
        ({"selected": False, "overridden": "added", "override_reason": "x"}, "added by an override but not"),
        ({"selected": True, "overridden": "removed", "override_reason": "x"}, "removed by an override but"),
        ({"selected": False, "overridden": "removed", "override_reason": "  "}, "needs the override's reason"),
        ({"selected": False, "override_reason": "why"}, "reason without an override"),
        ({"selected": False, "evidence_strength": float("nan")}, "finite"),
    ],
)
def test_run_refuses_inconsistent_members(db_sessions, cycle, member, message):
    with db_sessions() as session, pytest.raises((CohortInputError, ValueError), match=message):
        _record(session, members=[MemberIn(practice_code="A81009", **member)])
    assert _count(db_sessions, CohortRun) == 0


def test_run_refuses_a_practice_twice_and_a_bad_month(db_sessions, cycle):
    with db_sessions() as session:
        with pytest.raises(CohortInputError, match="more than once: A81001"):
            _record(session, members=[MEMBERS[0], MEMBERS[0]])
        with pytest.raises(CohortInputError, match="data_months"):
            _record(session, data_months=["2021-13"])
        with pytest.raises(NotFoundError, match="create it first"):
            _record(session, cycle="spring 2030")


def test_override_requires_a_reason(db_sessions, cycle):
    for reason in ("", "   ", None):
        with db_sessions() as session, pytest.raises(OverrideReasonRequiredError, match="needs a reason"):
            add_override(
                session,
                icb_code="QWE",
                cycle=cycle,
                practice_code="A81004",
                action="add",
                reason=reason,
                user="analyst1",
            )
    assert issubclass(OverrideReasonRequiredError, UserError)
    assert _count(db_sessions, CohortOverride) == 0
    assert _count(db_sessions, AuditEvent) == 1  # only the cycle's creation


def test_override_reason_is_required_by_the_database_too(db_engine, cycle):
    with pytest.raises(IntegrityError), db_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cohort_overrides (icb_code, cycle_id, practice_code, action, reason, created_by, "
                "created_at) SELECT 'QWE', id, 'A81004', 'add', ' ', 'a', created_at FROM cycles"
            )
        )


def test_override_add_list_and_revoke(db_sessions, cycle):
    with db_sessions() as session:
        added = add_override(
            session,
            icb_code="qwe",
            cycle=cycle,
            practice_code=" a81004 ",
            action=OverrideAction.ADD,
            reason="new partnership",
            user="analyst1",
        )
        add_override(
            session,
            icb_code="QWE",
            cycle=cycle,
            practice_code="A81005",
            action="remove",
            reason="already supported",
            user="analyst1",
        )
        with pytest.raises(ConflictError, match="revoke it first"):
            add_override(
                session,
                icb_code="QWE",
                cycle=cycle,
                practice_code="A81004",
                action="remove",
                reason="changed our mind",
                user="analyst1",
            )

    with db_sessions() as session:
        active = queries.active_overrides(session, icb_code="QWE", cycle=cycle)
    assert [(o.practice_code, o.action, o.reason, o.cycle) for o in active] == [
        ("A81004", OverrideAction.ADD, "new partnership", CYCLE),
        ("A81005", OverrideAction.REMOVE, "already supported", CYCLE),
    ]

    with db_sessions() as session:
        with pytest.raises(NotFoundError):
            revoke_override(session, icb_code="ZZZ", override_id=added, user="other-icb")
        revoke_override(session, icb_code="QWE", override_id=added, reason="superseded", user="lead")
        with pytest.raises(ConflictError, match="already revoked by lead"):
            revoke_override(session, icb_code="QWE", override_id=added, user="lead")
        # once revoked, the practice may be overridden again
        add_override(
            session,
            icb_code="QWE",
            cycle=cycle,
            practice_code="A81004",
            action="remove",
            reason="partnership fell through",
            user="lead",
        )

    with db_sessions() as session:
        active = queries.active_overrides(session, icb_code="QWE", cycle=cycle)
        assert [(o.practice_code, o.action) for o in active] == [
            ("A81004", OverrideAction.REMOVE),
            ("A81005", OverrideAction.REMOVE),
        ]
        assert queries.active_overrides(session, icb_code="ZZZ", cycle=cycle) == []
        kept = session.get(CohortOverride, added)  # revoked, never deleted
        assert (kept.revoked_by, kept.revoked_at is not None) == ("lead", True)
        events = queries.audit_events(session, object_type="cohort_override", object_id=added)
    assert [(e.action, e.actor) for e in events] == [
        ("cohort_override.added", "analyst1"),
        ("cohort_override.revoked", "lead"),
    ]
    assert events[1].detail["reason"] == "superseded"


def test_one_active_override_per_practice_is_enforced_by_the_database(db_engine, cycle):
    insert = text(
        "INSERT INTO cohort_overrides (icb_code, cycle_id, practice_code, action, reason, created_by, created_at) "
        "SELECT 'QWE', id, 'A81004', 'add', 'why', 'a', created_at FROM cycles"
    )
    with db_engine.begin() as conn:
        conn.execute(insert)
    with pytest.raises(IntegrityError), db_engine.begin() as conn:
        conn.execute(insert)


def test_cycles_unique_and_ordered(db_sessions, cycle):
    with db_sessions() as session:
        with pytest.raises(ConflictError, match="already exists"):
            create_cycle(session, name=CYCLE, starts=date(2021, 10, 1), ends=date(2022, 3, 31), user="lead")
        with pytest.raises(PlanInputError, match="before it starts"):
            create_cycle(session, name="backwards", starts=date(2022, 1, 1), ends=date(2021, 1, 1), user="lead")
        with pytest.raises(PlanInputError, match="names the user"):
            create_cycle(session, name="anon", starts=date(2022, 1, 1), ends=date(2022, 2, 1), user=" ")
        create_cycle(session, name="summer 2022", starts=date(2022, 4, 1), ends=date(2022, 9, 30), user="lead")
    with db_sessions() as session:
        assert [c.name for c in plan_queries.cycles(session)] == ["summer 2022", CYCLE]
        assert plan_queries.cycle(session, CYCLE).starts == date(2021, 10, 1)
        with pytest.raises(NotFoundError):
            plan_queries.cycle(session, "never")


def test_commands_take_the_acting_user_by_keyword_only(db_sessions, cycle):
    import inspect

    from gpaccess.access import users
    from gpaccess.cohort import commands

    for command in (
        create_cycle,
        commands.record_run,
        commands.add_override,
        commands.revoke_override,
        users.create_user,
    ):
        params = inspect.signature(command).parameters
        assert params["user"].kind is inspect.Parameter.KEYWORD_ONLY, command.__name__
        assert params["user"].default is inspect.Parameter.empty, command.__name__
        assert [p.name for p in params.values() if p.kind is not inspect.Parameter.KEYWORD_ONLY] == ["session"]


def test_run_summaries_count_what_each_run_selected(db_sessions, cycle):
    """The list of runs reads no members: each summary's count is the database's, and equals the run's own."""
    one_selected, none_selected = MEMBERS[:3], MEMBERS[1:3]
    with db_sessions() as session:
        ids = [_record(session), _record(session, members=one_selected), _record(session, members=none_selected)]
        _record(session, icb_code="ZZZ")
    with db_sessions() as session:
        summaries = queries.run_summaries(session, icb_codes={"QWE"})
        runs = {r.id: r for r in queries.runs(session, icb_codes={"QWE"})}
    assert [s.id for s in summaries] == sorted(ids, reverse=True)
    assert [s.selected for s in summaries] == [len(runs[s.id].selected) for s in summaries] == [0, 1, 2]  # newest first
    assert {(s.cycle, s.icb_code, s.cap, s.eligible) for s in summaries} == {(CYCLE, "QWE", 2, 12)}
    with db_sessions() as session:  # every ICB's, and several ICBs' (the same statement for any number of them)
        everyone = queries.run_summaries(session)
        both = queries.run_summaries(session, icb_codes={"QWE", "ZZZ"})
        none = queries.run_summaries(session, icb_codes=set())
    assert [s.id for s in everyone] == [s.id for s in both] and len(everyone) == 4
    assert [s.icb_code for s in everyone] == ["ZZZ", "QWE", "QWE", "QWE"]
    assert none == []
