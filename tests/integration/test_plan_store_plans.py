"""Plans in the plan store, on SQLite and PostgreSQL: versions with user, time and reason; no update is ever
lost under concurrent edits (optimistic concurrency on the plan's version); cycles carry open actions forward."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from gpaccess.access.audit import AuditEvent
from gpaccess.errors import ConflictError, NotFoundError
from gpaccess.plans import commands, queries
from gpaccess.plans.catalogue import UnknownActionTypeError
from gpaccess.plans.commands import PlanConflictError, PlanInputError
from gpaccess.plans.records import PlanVersion
from gpaccess.plans.schemas import (
    ActionChange,
    ActionIn,
    ActionStatus,
    Decision,
    NoteIn,
    PlanStatus,
    SuggestionDecisionIn,
)

WINTER = "winter 2025/26"


def _action(kind: str = "recording_support", measure: str = "unknown_mode_share", **kw) -> ActionIn:
    base = {
        "action_type": kind,
        "description": "Map the appointment book's slot types and record each appointment's mode",
        "owner": "ICB digital team",
        "start": date(2025, 11, 1),
        "due": date(2026, 1, 31),
        "outcome_measure": measure,
        "expected_change": "lower",
    }
    return ActionIn(**{**base, **kw})


@pytest.fixture
def cycle(db_sessions) -> str:
    with db_sessions() as session:
        commands.create_cycle(session, name=WINTER, starts=date(2025, 11, 1), ends=date(2026, 4, 30), user="lead")
    return WINTER


@pytest.fixture
def plan_id(db_sessions, cycle) -> int:
    with db_sessions() as session:
        return commands.create_plan(
            session,
            icb_code="qwe",
            practice_code="a81001",
            cycle=cycle,
            starts=date(2025, 11, 15),
            summary="Patients can get an appointment when they need one, and the data show it",
            actions=[
                _action(),
                _action(
                    "extra_sessions_locums",
                    "appts_per_1000",
                    expected_change="higher",
                    funding_source="Winter access fund",
                    funding_amount=Decimal("12000.50"),
                ),
            ],
            decisions=[
                SuggestionDecisionIn(
                    rule="recording_first", action_type="recording_support", reason="r", decision="accepted"
                ),
                SuggestionDecisionIn(
                    rule="telephony",
                    action_type="cloud_telephony",
                    reason="r2",
                    decision="rejected",
                    decision_reason="the practice moved to cloud telephony in 2024",
                ),
            ],
            user="analyst1",
        )


def test_a_plan_is_version_1_with_its_actions_and_every_decision_kept(db_sessions, plan_id):
    with db_sessions() as session:
        plan = queries.plan_by_id(session, plan_id)
        assert (plan.icb_code, plan.practice_code, plan.version, plan.status) == ("QWE", "A81001", 1, PlanStatus.DRAFT)
        assert plan.starts == date(2025, 11, 1)  # plans start on a month
        assert [a.action_type for a in plan.actions] == ["recording_support", "extra_sessions_locums"]
        assert plan.actions[1].funding_amount == Decimal("12000.50")
        assert plan.outcome_measures == ["unknown_mode_share", "appts_per_1000"]
        rejected = [s for s in plan.suggestions if s.decision == "rejected"]
        assert [(s.action_type, s.decision_reason) for s in rejected] == [
            ("cloud_telephony", "the practice moved to cloud telephony in 2024")
        ]
        (v1,) = queries.versions(session, plan_id)
        assert (v1.version, v1.by, v1.reason) == (1, "analyst1", "plan drawn up with the practice")
        assert [a["action_type"] for a in v1.state["actions"]] == ["recording_support", "extra_sessions_locums"]
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "plan")).all()
        assert actions == ["plan.created"]


def test_refusals_store_nothing(db_sessions, cycle, plan_id):
    with db_sessions() as session:
        with pytest.raises(ConflictError, match="already has plan"):
            commands.create_plan(
                session,
                icb_code="QWE",
                practice_code="A81001",
                cycle=cycle,
                starts=date(2025, 11, 1),
                summary="x",
                actions=[_action()],
                user="a",
            )
        with pytest.raises(UnknownActionTypeError, match="no action type 'face_to_face_quota'"):
            commands.create_plan(
                session,
                icb_code="QWE",
                practice_code="A81002",
                cycle=cycle,
                starts=date(2025, 11, 1),
                summary="x",
                actions=[_action("face_to_face_quota")],
                user="a",
            )
        with pytest.raises(PlanInputError, match="needs a reason"):
            commands.create_plan(
                session,
                icb_code="QWE",
                practice_code="A81002",
                cycle=cycle,
                starts=date(2025, 11, 1),
                summary="x",
                actions=[_action()],
                user="a",
                decisions=[
                    SuggestionDecisionIn.model_construct(
                        rule="r",
                        action_type="peer_support",
                        reason="r",
                        decision=Decision.REJECTED,
                        decision_reason=None,
                    )
                ],
            )
        with pytest.raises(PlanInputError, match="due"):
            commands.update_plan(
                session,
                plan_id=plan_id,
                icb_code="QWE",
                expected_version=1,
                reason="dates",
                changes=[ActionChange(action_id=1, due=date(2025, 1, 1))],
                user="a",
            )
        with pytest.raises(PlanInputError, match="no face-to-face quota"):
            commands.update_plan(
                session,
                plan_id=plan_id,
                icb_code="QWE",
                expected_version=1,
                reason="a target",
                changes=[ActionChange(action_id=1, outcome_measure="f2f_gp", expected_change="higher")],
                user="a",
            )
    with db_sessions() as session:
        assert queries.plan_by_id(session, plan_id).version == 1
        assert len(queries.plans(session, icb_codes=None)) == 1


def test_updates_make_versions_with_user_time_and_reason(db_sessions, plan_id):
    with db_sessions() as session:
        plan = queries.plan_by_id(session, plan_id)
        first = plan.actions[0].id
        v2 = commands.update_plan(
            session,
            plan_id=plan_id,
            icb_code="QWE",
            expected_version=1,
            reason="agreed at the practice meeting",
            status="agreed",
            changes=[ActionChange(action_id=first, status=ActionStatus.IN_PROGRESS)],
            note=NoteIn(text="Slot types mapped for two of five clinicians", action_id=first),
            user="manager",
        )
        v3 = commands.update_plan(
            session,
            plan_id=plan_id,
            icb_code="QWE",
            expected_version=2,
            reason="a new action",
            add_actions=[_action("peer_support", "within_14_days", expected_change="higher")],
            user="analyst1",
        )
        session.commit()  # the session read first, so the commands joined its transaction
    assert (v2, v3) == (2, 3)
    with db_sessions() as session:
        plan = queries.plan_by_id(session, plan_id)
        assert (plan.version, plan.status, plan.updated_by) == (3, PlanStatus.AGREED, "analyst1")
        assert plan.actions[0].status == ActionStatus.IN_PROGRESS
        assert [a.action_type for a in plan.actions][-1] == "peer_support"
        assert [(n.text, n.by, n.version) for n in plan.notes] == [
            ("Slot types mapped for two of five clinicians", "manager", 2)
        ]
        history = queries.versions(session, plan_id)
        assert [(v.version, v.by, v.reason) for v in history] == [
            (1, "analyst1", "plan drawn up with the practice"),
            (2, "manager", "agreed at the practice meeting"),
            (3, "analyst1", "a new action"),
        ]
        assert history[1].state["status"] == "agreed" and history[0].state["status"] == "draft"
        assert history[0].at <= history[1].at <= history[2].at


def test_a_change_that_leaves_the_plan_as_it_was_stores_nothing(db_sessions, plan_id):
    with db_sessions() as session:
        action = queries.plan_by_id(session, plan_id).actions[0]
        events = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    with db_sessions() as session:
        same = commands.update_plan(
            session,
            plan_id=plan_id,
            icb_code="QWE",
            expected_version=1,
            reason="saved again",
            status=PlanStatus.DRAFT,
            changes=[ActionChange(action_id=action.id, owner=action.owner, notes=action.notes)],
            user="a",
        )
    assert same == 1
    with db_sessions() as session:
        assert queries.plan_by_id(session, plan_id).version == 1
        assert session.scalar(select(func.count()).select_from(PlanVersion)) == 1
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == events
        with pytest.raises(PlanInputError, match="owner cannot be blank"):
            commands.update_plan(
                session,
                plan_id=plan_id,
                icb_code="QWE",
                expected_version=1,
                reason="no owner",
                changes=[ActionChange.model_construct(action_id=action.id, owner=None)],
                user="a",
            )
        changed = commands.update_plan(
            session,
            plan_id=plan_id,
            icb_code="QWE",
            expected_version=1,
            reason="a real change",
            changes=[ActionChange(action_id=action.id, owner="Someone else")],
            user="a",
        )
        session.commit()
    assert changed == 2


def test_a_second_writer_from_the_same_version_is_told_of_the_conflict(db_sessions, plan_id):
    """Two people read version 1; the first saves; the second's save is refused and stores nothing."""
    with db_sessions() as reader_a, db_sessions() as reader_b:
        seen_a = queries.plan_by_id(reader_a, plan_id).version
        seen_b = queries.plan_by_id(reader_b, plan_id).version
    with db_sessions() as writer_a:
        commands.update_plan(
            writer_a,
            plan_id=plan_id,
            icb_code="QWE",
            expected_version=seen_a,
            reason="A's note",
            note=NoteIn(text="from A"),
            user="alice",
        )
    with db_sessions() as writer_b, pytest.raises(PlanConflictError, match=r"saved by alice .*now version 2"):
        commands.update_plan(
            writer_b,
            plan_id=plan_id,
            icb_code="QWE",
            expected_version=seen_b,
            reason="B's note",
            note=NoteIn(text="from B"),
            user="bob",
        )
    with db_sessions() as session:
        plan = queries.plan_by_id(session, plan_id)
        assert plan.version == 2 and [n.text for n in plan.notes] == ["from A"]
        assert session.scalar(select(func.count()).select_from(PlanVersion)) == 2


WRITERS = 4


def test_concurrent_writers_never_lose_an_update(db_sessions, plan_id):
    """Real threads, each on its own connection, all saving from version 1 at once: exactly one wins, the
    others are told of the conflict; each then re-reads and retries until saved. Every note survives."""
    start = threading.Barrier(WRITERS)
    outcomes: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        tries: list[str] = []
        try:
            version = 1
            start.wait(timeout=30)
            while True:
                try:
                    with db_sessions() as session:
                        commands.update_plan(
                            session,
                            plan_id=plan_id,
                            icb_code="QWE",
                            expected_version=version,
                            reason=f"note by {name}",
                            note=NoteIn(text=f"note by {name}"),
                            user=name,
                        )
                    tries.append("saved")
                    break
                except PlanConflictError:
                    tries.append("conflict")
                    with db_sessions() as session:
                        version = queries.plan_by_id(session, plan_id).version
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        outcomes[name] = tries

    threads = [threading.Thread(target=writer, args=(f"writer{i}",)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    first_tries = [tries[0] for tries in outcomes.values()]
    assert first_tries.count("saved") == 1 and first_tries.count("conflict") == WRITERS - 1
    with db_sessions() as session:
        plan = queries.plan_by_id(session, plan_id)
        assert plan.version == 1 + WRITERS
        assert sorted(n.text for n in plan.notes) == sorted(f"note by writer{i}" for i in range(WRITERS))
        assert [v.version for v in queries.versions(session, plan_id)] == list(range(1, WRITERS + 2))


def test_another_icbs_plan_is_answered_as_missing(db_sessions, plan_id):
    with db_sessions() as session, pytest.raises(NotFoundError, match="no plan"):
        commands.update_plan(
            session, plan_id=plan_id, icb_code="QXX", expected_version=1, reason="x", note=NoteIn(text="x"), user="a"
        )


def test_supported_actions_lists_each_action_of_plans_not_withdrawn(db_sessions, cycle, plan_id):
    with db_sessions() as session:
        other = commands.create_plan(
            session,
            icb_code="QWE",
            practice_code="A81002",
            cycle=cycle,
            starts=date(2025, 12, 1),
            summary="s",
            actions=[
                _action("peer_support", "within_14_days", start=date(2025, 12, 1), due=None, expected_change="higher")
            ],
            user="a",
        )
        commands.update_plan(
            session,
            plan_id=other,
            icb_code="QWE",
            expected_version=1,
            reason="practice declined",
            status="withdrawn",
            user="a",
        )
        session.commit()
        rows = queries.supported_actions(session, cycle=cycle)
        assert [(r.practice_code, r.icb_code, r.action_type, r.start_month, r.cycle) for r in rows] == [
            ("A81001", "QWE", "recording_support", "2025-11", WINTER),
            ("A81001", "QWE", "extra_sessions_locums", "2025-11", WINTER),
        ]
        assert queries.supported_actions(session, icb_codes=["QXX"]) == []
        assert queries.supported_actions(session, cycle="winter 2030/31") == []


def test_a_new_cycle_carries_forward_open_actions(db_sessions, cycle, plan_id):
    with db_sessions() as session:
        plan = queries.plan_by_id(session, plan_id)
        commands.update_plan(
            session,
            plan_id=plan_id,
            icb_code="QWE",
            expected_version=1,
            reason="recording done",
            changes=[ActionChange(action_id=plan.actions[0].id, status="done")],
            user="a",
        )
        lessons = [{"action_type": "recording_support", "estimate": 0.02, "low": -0.01, "high": 0.05}]
        started = commands.start_cycle(
            session,
            name="winter 2026/27",
            starts=date(2026, 11, 1),
            ends=date(2027, 4, 30),
            from_cycle=cycle,
            lessons=lessons,
            user="lead",
        )
        assert (started.created, started.plans, started.actions, started.lessons) == (True, 1, 1, 1)
        session.commit()
    with db_sessions() as session:
        (carried,) = queries.plans(session, icb_codes=["QWE"], cycle="winter 2026/27")
        assert carried.carried_from_plan_id == plan_id and carried.status == PlanStatus.DRAFT
        assert [a.action_type for a in carried.actions] == ["extra_sessions_locums"]  # the done one stays behind
        assert carried.actions[0].start == date(2026, 11, 1) and carried.actions[0].due is None
        new = queries.cycle(session, "winter 2026/27")
        assert new.carried_from == cycle and new.lessons == lessons
        with pytest.raises(ConflictError, match="already has 1 plan"):
            commands.start_cycle(
                session,
                name="winter 2026/27",
                starts=date(2026, 11, 1),
                ends=date(2027, 4, 30),
                from_cycle=cycle,
                user="lead",
            )


def test_a_cycle_a_cohort_run_made_is_filled_when_it_has_no_plans(db_sessions, cycle, plan_id):
    with db_sessions() as session:
        commands.create_cycle(session, name="winter 2026/27", starts=date(2026, 11, 1), ends=date(2027, 4, 1), user="c")
        started = commands.start_cycle(
            session,
            name="winter 2026/27",
            starts=date(2026, 11, 1),
            ends=date(2027, 4, 30),
            from_cycle=cycle,
            user="lead",
        )
        assert not started.created and started.plans == 1
        assert queries.cycle(session, "winter 2026/27").ends == date(2027, 4, 30)
