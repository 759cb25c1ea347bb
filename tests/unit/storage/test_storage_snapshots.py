"""Snapshots: a reader sees one manifest for its whole life, whatever ingest, rollback and sweep do meanwhile;
`as_of` reads the store as a recorded run saw it; retired rows stay for the grace period, pinned ones for good."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpaccess.ingest.load import ingest_files
from gpaccess.ingest.rollback import rollback
from gpaccess.storage import manifest as mf
from gpaccess.storage import retention
from gpaccess.storage.snapshot import StateGoneError
from gpaccess.storage.warehouse import GRACE_SECONDS, StoreConfig, Warehouse

CROSSTAB = "Practice_Level_Crosstab_Jul_24.csv"


class Clock:
    """The store's clock, moved by the test (the real grace mechanism, never a zero grace)."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Warehouse:
    wh = Warehouse(StoreConfig(home=tmp_path / "home", threads=2, memory_limit="1GB", clock=clock))
    yield wh
    wh.close()


def revised(tmp_path: Path, gpad_fixtures: Path) -> Path:
    """The month republished: A81001's 120 appointments revised to 150 (A81002 not in this file)."""
    lines = (gpad_fixtures / CROSSTAB).read_text().splitlines(keepends=True)
    rows = [lines[0]] + [r.replace(",120,", ",150,") for r in lines[1:] if ",A81001," in r]
    path = tmp_path / "republished" / CROSSTAB
    path.parent.mkdir(exist_ok=True)
    path.write_text("".join(rows))
    return path


def total(snapshot) -> int:
    t = snapshot.table("gpad_appointments")
    return int(t["count"].sum().to_pyarrow().as_py())


def test_a_snapshot_never_sees_a_later_ingest(store, gpad_fixtures, tmp_path):
    ingest_files(store, [gpad_fixtures / CROSSTAB], user="t")
    before = store.snapshot()
    expr = before.table("gpad_appointments")  # built before the ingest, executed after it
    ingest_files(store, [revised(tmp_path, gpad_fixtures)], user="t")
    after = store.snapshot()
    assert total(before) == int(expr["count"].sum().to_pyarrow().as_py()) == 255
    assert total(after) == 285
    assert before.generation < after.generation
    assert before.versions()["gpad_appointments"] != after.versions()["gpad_appointments"]


def test_as_of_reads_the_store_as_a_run_saw_it_after_republication_and_rollbacks(store, gpad_fixtures, tmp_path):
    ingest_files(store, [gpad_fixtures / CROSSTAB], user="t")
    seen = store.snapshot()
    store.pin("run-1", seen)
    ingest_files(store, [revised(tmp_path, gpad_fixtures)], user="t")
    rollback(store, "2024-07", user="t")  # the republication
    rollback(store, "2024-07", user="t")  # and the run's own release
    assert store.snapshot().periods("gpad_appointments") == []
    again = store.snapshot(as_of=seen.versions())
    assert again.as_of and again.versions() == seen.versions()
    assert total(again) == total(seen) == 255
    assert again.table("gpad_appointments", periods=["2024-07"]).count().to_pyarrow().as_py() == 6  # six published rows
    # the same through table(..., as_of=...) on any snapshot
    assert (
        int(store.snapshot().table("gpad_appointments", as_of=seen.versions())["count"].sum().to_pyarrow().as_py())
        == 255
    )


def test_a_reader_survives_a_rollback_and_a_sweep_within_the_grace_period(store, gpad_fixtures, clock):
    ingest_files(store, [gpad_fixtures / CROSSTAB], user="t")
    reader = store.snapshot()
    rollback(store, "2024-07", user="t")
    retired = [r for r in store.manifest().retired if r.publication == "gpad_appointments"]
    assert [r.state.release for r in retired] == [reader.versions()["gpad_appointments"]["2024-07"]]
    assert retired[0].retired_at == clock.now  # the time recorded in the manifest
    clock.now += GRACE_SECONDS - 1
    plan = store.sweep()
    assert plan.delete == [] and plan.dropped == []
    assert total(reader) == 255  # still reading the retired rows


def test_the_sweep_deletes_retired_rows_after_the_grace_period(store, gpad_fixtures, clock):
    ingest_files(store, [gpad_fixtures / CROSSTAB], user="t")
    reader = store.snapshot()
    files = {Path(f) for f in reader.files("gpad_appointments")}
    rollback(store, "2024-07", user="t")
    clock.now += GRACE_SECONDS + 1
    plan = store.sweep()
    assert files <= set(plan.delete)
    assert not any(f.exists() for f in files)
    assert store.manifest().retired == []
    assert not any(store.data_dir.rglob("*.parquet"))  # nothing else was left behind
    with pytest.raises(StateGoneError):
        store.snapshot(as_of=reader.versions())


def test_pinned_rows_outlive_the_grace_period(store, gpad_fixtures, clock):
    ingest_files(store, [gpad_fixtures / CROSSTAB], user="t")
    run = store.snapshot()
    store.pin("run-7", run)
    rollback(store, "2024-07", user="t")
    clock.now += 10 * GRACE_SECONDS
    plan = store.sweep()
    assert plan.dropped == [] and plan.delete == []
    assert total(store.snapshot(as_of=run.versions())) == 255
    assert retention.remove_pin(store.root, "run-7")
    store.sweep()
    with pytest.raises(StateGoneError):
        store.snapshot(as_of=run.versions())


def test_an_unreadable_pin_keeps_every_retired_state(store, gpad_fixtures, clock):
    ingest_files(store, [gpad_fixtures / CROSSTAB], user="t")
    rollback(store, "2024-07", user="t")
    retention.pins_dir(store.root).mkdir(parents=True, exist_ok=True)
    (retention.pins_dir(store.root) / "broken.json").write_text("{not json")
    clock.now += 10 * GRACE_SECONDS
    assert store.sweep().delete == []
    assert {r.publication for r in store.manifest().retired} == {
        "gpad_appointments",
        "gpad_practices",
        "gpad_practice_month",
    }


def test_files_no_manifest_ever_named_are_swept_at_once(store, gpad_fixtures):
    ingest_files(store, [gpad_fixtures / CROSSTAB], user="t")
    orphan = store.data_dir / "gpad_appointments" / "2024-07" / "r99999-killed" / "part-001.parquet"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"left by a killed write")
    kept = {Path(f) for f in store.snapshot().files("gpad_appointments")}
    assert orphan in store.sweep().delete
    assert not orphan.parent.exists()
    assert all(f.exists() for f in kept)


def test_staged_files_and_their_folders_are_flushed_before_the_swap(store, gpad_fixtures, monkeypatch):
    events: list[tuple[str, Path]] = []
    real_fsync, real_save = mf.fsync_path, mf.save_atomically
    monkeypatch.setattr(mf, "fsync_path", lambda p: (events.append(("fsync", Path(p))), real_fsync(p)))
    monkeypatch.setattr(mf, "save_atomically", lambda m, p: (events.append(("swap", Path(p))), real_save(m, p)))
    ingest_files(store, [gpad_fixtures / CROSSTAB], user="t")
    swap = next(i for i, (kind, _) in enumerate(events) if kind == "swap")
    flushed = {p for kind, p in events[:swap] if kind == "fsync"}
    staged = {Path(f) for f in store.snapshot().files("gpad_appointments")}
    assert staged <= flushed
    assert {f.parent for f in staged} <= flushed  # the release folder
    assert {f.parent.parent for f in staged} <= flushed  # the period folder, new too


def test_a_publication_emptied_by_a_rollback_reads_as_an_empty_table(store):
    fixtures = Path(__file__).resolve().parents[2] / "fixtures" / "gpad"
    ingest_files(store, [fixtures / CROSSTAB], user="t")
    ingest_files(store, [fixtures / "Mapping_Jul_24.csv"], user="t")
    rollback(store, "2024-07", user="t", publication="gpad_mapping")
    snapshot = store.snapshot()
    assert not snapshot.has("gpad_mapping")
    empty = snapshot.table("gpad_mapping")
    assert empty.count().to_pyarrow().as_py() == 0
    assert str(empty.schema()["month"]) == "date"  # the stored types, not whatever empty lists would guess
