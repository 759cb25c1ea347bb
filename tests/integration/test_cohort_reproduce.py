"""A stored cohort run reproduces exactly: after a republication is ingested and rolled back, and the run's own
release is rolled back too, `reproduce_run` recomputes it from the store as of the run (its pinned versions)
with the overrides in force when it ran; on SQLite and on PostgreSQL. A run that no longer matches, or one
stored by another version, is reported, never a crash."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from gpaccess.access.principal import cli_principal
from gpaccess.cohort import queries
from gpaccess.cohort.run import METHOD_VERSION, default_cycle
from gpaccess.config import Settings
from gpaccess.services import cohort as cohort_service
from gpaccess.services import ingest as ingest_service
from gpaccess.services.app import App
from gpaccess.storage.warehouse import GRACE_SECONDS, StoreConfig, Warehouse

pytestmark = pytest.mark.slow
MONTHS = ["2025-06", "2025-07", "2025-08", "2025-09", "2025-10"]


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Two synthetic ICBs' months as published, and October as republished a month later."""
    from gpaccess.synth import generate

    return generate(tmp_path_factory.mktemp("published"), MONTHS, seed=11, icbs=2, republish=["2025-10"])


@pytest.fixture
def app(tmp_path, empty_db, published):
    settings = Settings(home=tmp_path / "home", database_url=empty_db.url)
    application = App.from_settings(settings)
    first = [f for f in published.files() if f.name != "truth.csv" and "republished" not in f.parts]
    ingest_service.ingest(application, principal=cli_principal("loader"), paths=first)
    yield application
    application.close()


def icb_of(app: App) -> str:
    from gpaccess.services.measures import measure_session

    return sorted(measure_session(app).directory().icb_code.dropna().unique())[0]


def test_a_run_reproduces_after_a_republication_and_both_rollbacks(app, published):
    analyst = cli_principal("analyst")
    icb = icb_of(app)
    run = cohort_service.run_cohort(app, principal=analyst, icb_code=icb)
    assert run.run_id is not None and run.cohort.selected.shape[0] > 0
    ingest_service.ingest(app, principal=analyst, paths=published.months["2025-10"].republished)
    shown = ingest_service.plan_rollback(app, principal=analyst, month="2025-10")
    assert [s.name for s in shown.release.sources] == [p.name for p in published.months["2025-10"].republished]
    ingest_service.rollback(app, principal=analyst, month="2025-10")  # the republication
    ingest_service.rollback(app, principal=analyst, month="2025-10")  # and the run's own release
    assert app.warehouse.snapshot().periods("gpad_appointments") == []
    # Long after the grace period the sweep still keeps what the run pinned.
    later = Warehouse(StoreConfig(home=app.home, clock=lambda: 10**10 + 100 * GRACE_SECONDS))
    later.sweep()
    later.close()

    result = cohort_service.reproduce_run(app, principal=analyst, run_id=run.run_id)
    assert result.identical, result.differences
    assert not any("method changed" in n for n in result.notes)
    with app.plan_session() as db:
        stored = queries.run_by_id(db, run.run_id)
        events = queries.audit_events(db, object_type="cohort_run", object_id=run.run_id)
    assert stored.method_version == METHOD_VERSION and stored.gpaccess_version and stored.pin
    assert stored.data_versions == run.session.snapshot.versions()
    assert [e.action for e in events] == ["cohort_run.recorded", "cohort_run.reproduced"]


def test_a_changed_stored_run_is_reported_with_its_differences(app):
    analyst = cli_principal("analyst")
    run = cohort_service.run_cohort(app, principal=analyst, icb_code=icb_of(app))
    member = run.cohort.members.practice_code.iloc[0]
    with app.engine.begin() as conn:
        conn.execute(
            text("UPDATE cohort_members SET reasons = :r WHERE run_id = :id AND practice_code = :p"),
            {"r": json.dumps(["edited by hand"]), "id": run.run_id, "p": member},
        )
        conn.execute(text("UPDATE cohort_runs SET method_version = '1' WHERE id = :id"), {"id": run.run_id})
    result = cohort_service.reproduce_run(app, principal=analyst, run_id=run.run_id)
    assert not result.identical
    assert any(d.startswith(f"{member} reasons: stored ['edited by hand']") for d in result.differences)
    assert "method changed since the run (method version 1 then" in result.notes[0]


def test_a_run_stored_by_an_older_version_is_read_back_with_notes(app):
    analyst = cli_principal("analyst")
    run = cohort_service.run_cohort(app, principal=analyst, icb_code=icb_of(app))
    with app.plan_session() as db:
        stored = queries.run_by_id(db, run.run_id)
    old = dict(stored.parameters)
    old.pop("measures")  # not recorded by the first version
    old.pop("imd_weight")
    old["a_setting_from_elsewhere"] = 3
    with app.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE cohort_runs SET parameters = :p, method_version = NULL, gpaccess_version = NULL WHERE id = :id"
            ),
            {"p": json.dumps(old), "id": run.run_id},
        )
    result = cohort_service.reproduce_run(app, principal=analyst, run_id=run.run_id)
    assert result.identical, result.differences  # defaults equal what the run used
    notes = " | ".join(result.notes)
    assert "did not record its method version" in notes
    assert "imd_weight not recorded" in notes
    assert "a_setting_from_elsewhere=3 is not one this version knows" in notes
    assert "did not record its measure settings" in notes


def test_an_override_in_force_when_the_run_was_made_is_applied_again(app):
    analyst = cli_principal("analyst")
    icb = icb_of(app)
    base = cohort_service.run_cohort(app, principal=analyst, icb_code=icb, save=False)
    outsider = base.cohort.members[~base.cohort.members.selected & ~base.cohort.members.excluded].practice_code.iloc[0]
    oid, cycle = cohort_service.add_override(
        app, principal=analyst, icb_code=icb, practice_code=outsider, action="add", reason="asked for help"
    )
    run = cohort_service.run_cohort(app, principal=analyst, icb_code=icb)
    members = run.cohort.members.set_index("practice_code")
    assert members.loc[outsider, "selected"] and members.loc[outsider, "overridden"] == "added"
    cohort_service.revoke_override(app, principal=analyst, icb_code=icb, override_id=oid, reason="done")
    assert cycle == default_cycle(run.session.months)
    assert cohort_service.reproduce_run(app, principal=analyst, run_id=run.run_id).identical


def test_a_run_of_an_icb_outside_the_scope_answers_as_a_missing_one(app):
    run = cohort_service.run_cohort(app, principal=cli_principal("analyst"), icb_code=icb_of(app))
    outsider = cli_principal("someone", scope_icbs=["QZZ"])
    from gpaccess.errors import NotFoundError

    with pytest.raises(NotFoundError) as hidden:
        cohort_service.reproduce_run(app, principal=outsider, run_id=run.run_id)
    with pytest.raises(NotFoundError) as missing:
        cohort_service.reproduce_run(app, principal=outsider, run_id=run.run_id + 1000)
    assert str(hidden.value) == f"no cohort run {run.run_id}"  # exactly what a missing run says
    assert str(missing.value) == f"no cohort run {run.run_id + 1000}"


def test_default_cycle_is_the_winter_after_the_window():
    assert default_cycle([date(2025, 8, 1), date(2025, 10, 1)]) == "winter 2025/26"
    assert default_cycle([date(2026, 1, 1)]) == "winter 2025/26"


def test_published_fixture_has_a_republished_october(published):
    assert [Path(p).parent.name for p in published.months["2025-10"].republished] == ["republished"]
