"""Reads audited together: one transaction for a page's reads, still an event for each, even when the page fails."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gpaccess.access.audit import AuditEvent
from gpaccess.access.principal import cli_principal
from gpaccess.config import Settings
from gpaccess.services.app import App
from gpaccess.services.audit import audit_read, audit_together


@pytest.fixture
def app(tmp_path):
    made = App.from_settings(Settings(home=tmp_path))
    made.ensure_plan_store()
    yield made
    made.close()


def _events(app: App) -> list[tuple[str, str | None]]:
    with app.plan_session() as db:
        return [(e.action, e.object_id) for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_each_read_is_its_own_event_written_when_the_block_ends(app):
    who = cli_principal("reader")
    with audit_together(app):
        audit_read(app, principal=who, action="practice.read", icb_code="QAA", object_id="A1")
        audit_read(app, principal=who, action="spc.read", icb_code="QAA", object_id="A1")
        assert _events(app) == []  # nothing written until the block ends: one transaction for the page
    assert _events(app) == [("practice.read", "A1"), ("spc.read", "A1")]


def test_reads_before_a_failure_are_still_written(app):
    who = cli_principal("reader")

    def page() -> None:
        with audit_together(app):
            audit_read(app, principal=who, action="practice.read", icb_code="QAA", object_id="B2")
            raise RuntimeError("the page failed after reading")

    with pytest.raises(RuntimeError):
        page()
    assert _events(app) == [("practice.read", "B2")]


def test_outside_a_block_each_read_commits_at_once(app):
    audit_read(app, principal=cli_principal("reader"), action="measures.read", icb_code="QAA")
    assert _events(app) == [("measures.read", None)]


def test_a_failed_audit_write_never_hides_the_requests_own_error(app, monkeypatch, caplog):
    import gpaccess.services.audit as audit

    def broken(_app, _events):
        raise OSError("the plan store is full")

    monkeypatch.setattr(audit, "_write", broken)

    def page() -> None:
        with audit_together(app):
            audit_read(app, principal=cli_principal("reader"), action="practice.read", icb_code="QAA")
            raise KeyError("the page's own error")

    with pytest.raises(KeyError, match="the page's own error"):
        page()
    assert "could not write 1 audit event(s)" in caplog.text
