"""Plan services with each role: scope answered as a missing plan, practice users comment on their own plan only,
writes and reads audited. SQLite plan store; no analytical data needed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from gpaccess.access.audit import AuditEvent
from gpaccess.access.principal import Principal
from gpaccess.access.roles import role
from gpaccess.config import Settings
from gpaccess.errors import ForbiddenError, NotFoundError
from gpaccess.plans import commands
from gpaccess.plans.schemas import ActionIn
from gpaccess.services import plans as service
from gpaccess.services.app import App


@pytest.fixture
def app(tmp_path):
    app = App.from_settings(Settings(home=tmp_path))
    with app.plan_session() as db:
        commands.create_cycle(db, name="winter 2025/26", starts=date(2025, 11, 1), ends=date(2026, 4, 30), user="a")
        commands.create_plan(
            db,
            icb_code="QWE",
            practice_code="A81001",
            cycle="winter 2025/26",
            starts=date(2025, 11, 1),
            summary="Patients can get through",
            actions=[
                ActionIn(
                    action_type="cloud_telephony",
                    description="d",
                    owner="o",
                    start=date(2025, 11, 1),
                    outcome_measure="within_14_days",
                    expected_change="higher",
                )
            ],
            user="a",
        )
    yield app
    app.close()


def person(name: str, kind: str, icbs=None, practices=None) -> Principal:
    return Principal(
        user=name,
        role=role(kind),
        icb_codes=frozenset(icbs) if icbs else None,
        practice_codes=frozenset(practices) if practices else None,
    )


ANALYST = person("ann", "icb_analyst", icbs={"QWE"})


def test_a_practice_user_comments_on_their_own_plan_only(app):
    own = person("pat", "practice", practices={"A81001"})
    assert service.update_plan(app, principal=own, plan_id=1, expected_version=1, reason="update", note="done") == 2
    with pytest.raises(ForbiddenError):
        service.update_plan(app, principal=own, plan_id=1, expected_version=2, reason="x", status="closed")
    other = person("oli", "practice", practices={"A81002"})
    with pytest.raises(NotFoundError, match="no plan 1"):
        service.show_plan(app, principal=other, plan_id=1)
    with pytest.raises(NotFoundError, match="no plan 1"):
        service.update_plan(app, principal=other, plan_id=1, expected_version=2, reason="x", note="y")


def test_another_icb_or_a_national_role_never_sees_the_plan(app):
    with pytest.raises(NotFoundError, match="no plan 1"):
        service.show_plan(app, principal=person("bob", "icb_analyst", icbs={"QXX"}), plan_id=1)
    with pytest.raises((NotFoundError, ForbiddenError)):
        service.show_plan(app, principal=person("nat", "national"), plan_id=1)
    with pytest.raises(NotFoundError, match="no plan for A81001"):
        service.find_plan(
            app, principal=person("bob", "icb_analyst", icbs={"QXX"}), practice_code="a81001", cycle="winter 2025/26"
        )


def test_reads_and_writes_are_audited_with_the_principal(app):
    view = service.show_plan(app, principal=ANALYST, plan_id=1)
    assert view.plan.version == 1 and [v.reason for v in view.versions] == ["plan drawn up with the practice"]
    service.update_plan(
        app,
        principal=ANALYST,
        plan_id=1,
        expected_version=1,
        reason="agreed",
        status="agreed",
        action_status={1: "in_progress"},
        add=["peer_support"],
    )
    with app.plan_session() as db:
        events = db.execute(select(AuditEvent.action, AuditEvent.actor).where(AuditEvent.object_type == "plan")).all()
    assert ("plan.read", "ann") in events and ("plan.updated", "ann") in events


def test_next_cycle_carries_open_actions_and_no_lessons_without_outcome_data(app):
    # a supported action on record but no GPAD month in the store: too little to estimate, so no lesson
    assert service.evaluation_lessons(app, principal=ANALYST, cycle="winter 2025/26") == []
    started = service.new_cycle(
        app, principal=ANALYST, name="winter 2026/27", start="2026-11", end="2027-04", from_cycle="winter 2025/26"
    )
    assert (started.plans, started.actions, started.lessons) == (1, 1, 0)
    cycles = service.list_cycles(app, principal=ANALYST)
    assert [(c.name, n) for c, n in cycles] == [("winter 2026/27", 1), ("winter 2025/26", 1)]
    assert cycles[0][0].ends == date(2027, 4, 30)
    history = service.support_history(app, principal=ANALYST, icb_code="QWE", before="winter 2026/27")
    assert history.by_practice == {"A81001": ["winter 2025/26: Cloud-based telephony with call-back"]}


def test_progress_after_an_ingest_never_raises_and_never_creates_a_plan_store(app, tmp_path):
    from gpaccess.services.progress import recompute_after_ingest

    notes: list[str] = []
    assert recompute_after_ingest(app, principal=ANALYST, warn=notes.append) == 0  # an open plan, no GPAD stored
    assert len(notes) == 1 and "run `gpaccess progress`" in notes[0] and "NotFoundError" in notes[0]
    bare = App.from_settings(Settings(home=tmp_path / "bare"))
    assert recompute_after_ingest(bare, principal=ANALYST) == 0
    assert not (tmp_path / "bare" / "plans.sqlite3").exists()
    bare.close()
