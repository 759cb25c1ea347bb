"""A server's shared measures: the first generation computed by the first request, a later one in the background
while requests keep reading the previous one, a failed one never blocking anyone."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest

from gpaccess.config import Settings
from gpaccess.measures.memo import Memo
from gpaccess.services.app import RETRY_AFTER, App


@dataclass(frozen=True)
class Snap:
    generation: int
    gpad: int  # the release of the GPAD aggregate the measures read
    local: int = 0  # the release of the ICB's local indicators (no measure reads them)

    def versions(self) -> dict[str, dict[str, str]]:
        return {"gpad_aggregate": {"2025-10": f"r{self.gpad}"}, "local_indicators": {"QAA": f"r{self.local}"}}


@dataclass(frozen=True)
class Config:
    grace_seconds: float = 600.0


@dataclass
class Store:
    generation: int = 1
    local: int = 0
    config: Config = field(default_factory=Config)
    forgotten: int = 0  # background threads that let go of their engine connection

    def forget_thread_connection(self) -> None:
        self.forgotten += 1

    def snapshot(self) -> Snap:
        return Snap(self.generation, self.generation - self.local, self.local)

    def ingest(self) -> None:
        self.generation += 1

    def upload_local(self) -> None:
        self.generation += 1
        self.local += 1


@dataclass
class FakeSession:
    snapshot: Snap
    warmed: bool = False
    shared_with: FakeSession | None = None

    def warm(self, series) -> None:
        self.warmed = True

    def sharing(self, other: FakeSession) -> FakeSession:
        self.shared_with = other
        return self


@dataclass
class Builder:
    gate: dict[int, threading.Event] = field(default_factory=dict)
    fail: set[int] = field(default_factory=set)
    built: list[int] = field(default_factory=list)

    def __call__(self, snapshot: Snap) -> FakeSession:
        self.built.append(snapshot.generation)
        if snapshot.generation in self.gate:
            self.gate[snapshot.generation].wait(10)
        if snapshot.generation in self.fail:
            raise RuntimeError("the engine failed")
        return FakeSession(snapshot)


@pytest.fixture
def app(tmp_path):
    made = App.from_settings(Settings(home=tmp_path))
    made.__dict__["warehouse"] = Store()
    return made


def _wait_until_idle(app: App) -> None:
    with app._lock:
        while app._computing:
            app._lock.wait(10)


def test_first_request_computes_later_ones_share(app):
    build = Builder()
    first = app.reused_session(build)
    assert first.shared_with is not None and first.shared_with.warmed
    second = app.reused_session(build)
    assert second.shared_with is first.shared_with  # computed once, shared by every later request
    assert build.built == [1, 1, 1]  # the shared session, then one light session per request


def test_a_new_generation_is_computed_in_the_background_meanwhile_the_old_one_serves(app):
    build = Builder(gate={2: threading.Event()})
    app.reused_session(build)
    app.warehouse.ingest()  # an ingest landed: generation 2
    during = app.reused_session(build)
    assert during.snapshot.generation == 1  # not kept waiting for generation 2
    assert app._computing
    build.gate[2].set()
    _wait_until_idle(app)
    after = app.reused_session(build)
    assert after.snapshot.generation == 2 and after.shared_with.warmed


def test_a_failed_generation_keeps_the_previous_one_and_is_retried_only_later(app, caplog, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("gpaccess.services.app.time.monotonic", lambda: clock[0])
    build = Builder(fail={2})
    app.reused_session(build)
    app.warehouse.ingest()
    app.reused_session(build)
    _wait_until_idle(app)
    assert "generation 2 failed" in caplog.text
    again = app.reused_session(build)
    assert again.snapshot.generation == 1
    assert build.built.count(2) == 1  # tried once, not on every request
    clock[0] += RETRY_AFTER + 1
    app.reused_session(build)
    _wait_until_idle(app)
    assert build.built.count(2) == 2  # a minute on, tried again in the background
    assert app.warehouse.forgotten == 2  # each background thread let go of its connection


def test_measures_missing_for_half_the_grace_are_computed_in_the_request(app, monkeypatch):
    """A superseded generation's files are swept a grace period after they were replaced: a server must not
    keep reading them for long. Past half the grace, the request computes (and waits for) the new measures."""
    clock = [1000.0]
    monkeypatch.setattr("gpaccess.services.app.time.monotonic", lambda: clock[0])
    build = Builder(fail={2})
    app.reused_session(build)
    app.warehouse.ingest()
    app.reused_session(build)  # the refresh fails in the background; generation 1 keeps serving
    _wait_until_idle(app)
    build.fail.clear()  # whatever failed is mended
    clock[0] += app.warehouse.config.grace_seconds / 2 + 1
    now = app.reused_session(build)
    assert now.snapshot.generation == 2 and now.shared_with.warmed


def test_the_shared_measures_never_go_back_to_an_older_generation(app):
    build = Builder()
    app.reused_session(build)
    app.warehouse.ingest()
    app.warehouse.ingest()  # generation 3
    newest = app.warehouse.snapshot()
    app._refresh(build, newest)
    app._refresh(build, Snap(2, 2))  # a refresh started from an older snapshot ends last
    assert app._shared.snapshot.generation == 3
    later = app.reused_session(build)
    assert later.snapshot.generation == 3


def test_a_local_upload_keeps_the_measures_and_serves_the_new_snapshot_at_once(app):
    build = Builder()
    first = app.reused_session(build)
    app.warehouse.upload_local()  # generation 2: only the local indicators changed
    after = app.reused_session(build)
    assert after.snapshot.generation == 2  # the uploader reads their upload on the next page
    assert after.shared_with is first.shared_with and not app._computing  # nothing recomputed
    assert build.built.count(2) == 1  # the request's own light session only


def test_with_nothing_to_serve_a_failure_is_the_requests_error(app):
    with pytest.raises(RuntimeError, match="engine failed"):
        app.reused_session(Builder(fail={1}))


def test_memo_keeps_the_most_recently_used():
    memo = Memo(2)
    calls: list[str] = []

    def make(key: str):
        return lambda: calls.append(key) or key.upper()

    assert memo.get("a", make("a")) == "A"
    memo.get("b", make("b"))
    memo.get("a", make("a"))  # a used again: b is now the least recently used
    memo.get("c", make("c"))  # over the size: b goes
    memo.get("a", make("a"))
    memo.get("b", make("b"))
    assert calls == ["a", "b", "c", "b"]
