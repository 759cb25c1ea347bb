"""Releases: re-ingest is a no-op, a republished month replaces the practices it holds and keeps the old rows,
rollback undoes one release as a whole at a time, and a rolled-back file can be applied again."""

from __future__ import annotations

import pytest

from gpaccess.errors import ConflictError, NotFoundError
from gpaccess.ingest.load import ingest_files
from gpaccess.ingest.rollback import rollback
from ingest_helpers import answers

CROSSTAB = "Practice_Level_Crosstab_Jul_24.csv"


def republished(tmp_path, gpad_fixtures, name="republished"):
    """The month as republished: A81001's counts revised, A81002 absent (not in this part)."""
    lines = (gpad_fixtures / CROSSTAB).read_text().splitlines(keepends=True)
    rows = [lines[0]] + [r.replace(",120,", ",150,") for r in lines[1:] if ",A81001," in r]
    folder = tmp_path / name
    folder.mkdir()
    path = folder / CROSSTAB
    path.write_text("".join(rows))
    return path


def per_practice(wh):
    t = wh.snapshot().table("gpad_appointments")
    df = t.group_by("practice_code").aggregate(n=t["count"].sum()).to_pandas()
    return dict(zip(df.practice_code, df.n.astype(int), strict=True))


def test_reingesting_the_same_file_is_a_no_op(warehouse, gpad_fixtures):
    first = ingest_files(warehouse, [gpad_fixtures / CROSSTAB], user="tester")
    before = answers(warehouse)
    again = ingest_files(warehouse, [gpad_fixtures / CROSSTAB], user="tester")
    assert again.release is None
    assert [f.status for f in again.files] == ["already ingested"]
    assert first.release in again.files[0].detail
    assert answers(warehouse) == before


def test_republished_month_replaces_its_practices_and_rolls_back(warehouse, gpad_fixtures, tmp_path):
    ingest_files(warehouse, [gpad_fixtures / CROSSTAB], user="tester")
    original = answers(warehouse)
    assert per_practice(warehouse) == {"A81001": 240, "A81002": 15}
    ingest_files(warehouse, [republished(tmp_path, gpad_fixtures)], user="tester")
    # A81001 replaced (120 -> 150); A81002, not in the new release, keeps its rows.
    assert per_practice(warehouse) == {"A81001": 270, "A81002": 15}
    state = warehouse.manifest().publications["gpad_appointments"].periods["2024-07"]
    assert len(state) == 2  # the replaced rows are kept below the new state
    plan = rollback(warehouse, "2024-07", user="tester")
    assert "gpad_appointments" in plan.publications
    assert answers(warehouse)["gpad_appointments"] == original["gpad_appointments"]


def test_rollback_is_one_release_a_step_and_reapply_works(warehouse, gpad_fixtures, tmp_path):
    ingest_files(warehouse, [gpad_fixtures / CROSSTAB], user="tester")
    path = republished(tmp_path, gpad_fixtures)
    ingest_files(warehouse, [path], user="tester")
    rollback(warehouse, "2024-07", user="tester")
    rollback(warehouse, "2024-07", user="tester")
    assert warehouse.snapshot().periods("gpad_appointments") == []
    with pytest.raises(NotFoundError):
        rollback(warehouse, "2024-07", user="tester")
    ingest_files(warehouse, [gpad_fixtures / CROSSTAB], user="tester")
    again = ingest_files(warehouse, [path], user="tester")  # rolled back earlier: applied again, not skipped
    assert again.release is not None
    assert per_practice(warehouse) == {"A81001": 270, "A81002": 15}
    statuses = [r.status for r in warehouse.manifest().releases]
    assert statuses[:2] == ["rolled back", "rolled back"]


def test_rollback_undoes_the_whole_release_the_publication_picks(warehouse, gpad_fixtures):
    ingest_files(warehouse, [gpad_fixtures / CROSSTAB, gpad_fixtures / "Mapping_Jul_24.csv"], user="tester")
    lists = ingest_files(warehouse, [gpad_fixtures / "gp-reg-pat-prac-all_2024-07-01.csv"], user="tester")
    shown = rollback(warehouse, "2024-07", user="tester", publication="gpad_mapping", dry_run=True)
    assert shown.publications == ["gpad_appointments", "gpad_mapping", "gpad_practice_month", "gpad_practices"]
    assert shown.release.id != lists.release
    assert any("Mapping_Jul_24.csv" in line for line in shown.describe())
    assert warehouse.snapshot().periods("gpad_mapping") == ["2024-07"]  # a dry run changes nothing
    done = rollback(warehouse, "2024-07", user="tester", publication="gpad_mapping", expected=shown.release.id)
    assert done.release.id == shown.release.id
    snap = warehouse.snapshot()
    assert snap.periods("gpad_mapping") == snap.periods("gpad_appointments") == []
    assert snap.periods("registrations") == ["2024-07"]  # another release: untouched


def test_rollback_refuses_when_a_later_release_sits_on_top(warehouse, gpad_fixtures, tmp_path):
    both = [gpad_fixtures / CROSSTAB, gpad_fixtures / "Practice_Level_Crosstab_Aug_24_historic.csv"]
    first = ingest_files(warehouse, both, user="tester")
    second = ingest_files(warehouse, [republished(tmp_path, gpad_fixtures)], user="tester")
    with pytest.raises(ConflictError, match=second.release or "?"):
        rollback(warehouse, "2024-08", user="tester")  # picks the first release, whose July is under the second
    assert rollback(warehouse, "2024-07", user="tester").release.id == second.release
    assert rollback(warehouse, "2024-08", user="tester").release.id == first.release
    assert warehouse.snapshot().periods("gpad_appointments") == []


def test_rollback_refuses_when_the_store_changed_since_it_was_shown(warehouse, gpad_fixtures, tmp_path):
    ingest_files(warehouse, [gpad_fixtures / CROSSTAB], user="tester")
    shown = rollback(warehouse, "2024-07", user="tester", dry_run=True)
    ingest_files(warehouse, [republished(tmp_path, gpad_fixtures)], user="tester")
    with pytest.raises(ConflictError, match="nothing was undone"):
        rollback(warehouse, "2024-07", user="tester", expected=shown.release.id)
    assert len(warehouse.manifest().publications["gpad_appointments"].periods["2024-07"]) == 2


def test_status_names_release_and_sources(warehouse, gpad_fixtures):
    from gpaccess.ingest.status import store_status
    from gpaccess.storage.warehouse import sha256_file

    result = ingest_files(warehouse, [gpad_fixtures / CROSSTAB], user="tester")
    info = store_status(warehouse.snapshot())
    pub = next(p for p in info["publications"] if p["name"] == "gpad_appointments")
    assert pub["periods"][0]["release"] == result.release
    assert pub["periods"][0]["total"] == 255.0
    release = info["releases"][0]
    assert release["sources"][0]["sha256"] == sha256_file(gpad_fixtures / CROSSTAB)
    check = next(v for k, v in release["checks"].items() if k.endswith("gpad_appointments"))
    assert check == {"file_rows": 6, "stored_rows": 6, "file_total": 255, "stored_total": 255, "ok": True}


def test_second_writer_is_refused_while_one_writes(warehouse, gpad_fixtures):
    from gpaccess.errors import StoreBusyError

    with warehouse.transaction(user="a"), pytest.raises(StoreBusyError):
        ingest_files(warehouse, [gpad_fixtures / CROSSTAB], user="b")


def test_ingests_table_logs_every_file_with_its_checks(warehouse, gpad_fixtures):
    from gpaccess.ingest.status import ingests_table
    from gpaccess.storage.warehouse import sha256_file

    assert ingests_table(warehouse.snapshot()).count().to_pyarrow().as_py() == 0
    ingest_files(warehouse, [gpad_fixtures / CROSSTAB, gpad_fixtures / "Mapping_Jul_24.csv"], user="tester")
    rows = ingests_table(warehouse.snapshot()).to_pandas().set_index("file_name")
    assert rows.loc[CROSSTAB, "file_sha256"] == sha256_file(gpad_fixtures / CROSSTAB)
    assert rows.loc[CROSSTAB, "months"] == "2024-07"
    assert rows.loc[CROSSTAB, "ingested_by"] == "tester"
    assert rows.checks_passed.all()
    assert rows.loc[CROSSTAB, "release"] == rows.loc["Mapping_Jul_24.csv", "release"]  # one call, one release


def test_partial_replacement_of_a_month_is_pointed_out(warehouse, gpad_fixtures, tmp_path):
    ingest_files(warehouse, [gpad_fixtures / CROSSTAB], user="tester")
    result = ingest_files(warehouse, [republished(tmp_path, gpad_fixtures)], user="tester")
    [note] = result.notes
    assert note.startswith("2024-07: this release holds 1 practices; 1 other practices keep their rows")
    assert "--rollback 2024-07" in note
    whole = ingest_files(warehouse, [gpad_fixtures / "Practice_Level_Crosstab_Aug_24_historic.csv"], user="tester")
    assert whole.notes == []  # a new month replaces nothing


def test_rollback_of_one_month_undoes_every_month_of_its_release_and_it_can_be_applied_again(warehouse, gpad_fixtures):
    both = [gpad_fixtures / CROSSTAB, gpad_fixtures / "Practice_Level_Crosstab_Aug_24_historic.csv"]
    ingest_files(warehouse, both, user="tester")
    plan = rollback(warehouse, "2024-07", user="tester")
    assert plan.periods == ["2024-07", "2024-08"]
    assert warehouse.snapshot().periods("gpad_appointments") == []
    again = ingest_files(warehouse, both, user="tester")
    assert again.release is not None  # not "already ingested": it was rolled back
    assert warehouse.snapshot().periods("gpad_appointments") == ["2024-07", "2024-08"]


def test_default_window_is_the_latest_consecutive_months(warehouse, gpad_fixtures, tmp_path):
    from gpaccess.measures.service import MeasureSession, MeasureSettings

    july, august = gpad_fixtures / CROSSTAB, gpad_fixtures / "Practice_Level_Crosstab_Aug_24_historic.csv"
    ingest_files(warehouse, [july, august], user="t")
    window = MeasureSession(warehouse.snapshot(), MeasureSettings(window_months=3)).months
    assert [f"{m:%Y-%m}" for m in window] == ["2024-07", "2024-08"]  # only two months stored
    october = tmp_path / "Practice_Level_Crosstab_Oct_24.csv"
    october.write_text(july.read_text().replace("01JUL2024", "01OCT2024"))
    ingest_files(warehouse, [october], user="t")
    window = MeasureSession(warehouse.snapshot(), MeasureSettings(window_months=3)).months
    assert [f"{m:%Y-%m}" for m in window] == ["2024-10"]  # September is missing: the window does not jump it
