"""`gpaccess store upgrade` builds the practice-month aggregate a store from an earlier gpaccess lacks: one state
for every state of the appointments' stack, in the same release, so it rolls back with the rows it sums."""

from __future__ import annotations

import json

from gpaccess.ingest import aggregate
from gpaccess.ingest.load import ingest_files
from gpaccess.ingest.rollback import rollback
from gpaccess.ingest.upgrade import build_missing_aggregates, missing_aggregate_periods
from gpaccess.storage import manifest as mf

CROSSTAB = "Practice_Level_Crosstab_Jul_24.csv"


def as_before_the_aggregate(warehouse) -> None:
    """Rewrite the manifest as the previous gpaccess left it: no aggregate publication, format 1."""
    raw = json.loads(warehouse.manifest_path.read_text())
    raw["format"] = 1
    raw["publications"].pop(aggregate.PUBLICATION)
    raw.pop("retired")
    for release in raw["releases"]:
        release["touched"].pop(aggregate.PUBLICATION, None)
    warehouse.manifest_path.write_text(json.dumps(raw))


def aggregate_rows(warehouse) -> list[tuple]:
    t = warehouse.snapshot().table(aggregate.PUBLICATION).to_pandas()
    cols = ["practice_code", "hcp_type", "national_category", "time_band", "appointments", "mode_face_to_face"]
    return sorted(tuple(r) for r in t[cols].itertuples(index=False))


def test_upgrade_rebuilds_the_aggregate_state_by_state(warehouse, gpad_fixtures, tmp_path):
    ingest_files(warehouse, [gpad_fixtures / CROSSTAB], user="t")
    revised = tmp_path / "rev" / CROSSTAB
    revised.parent.mkdir()
    revised.write_text((gpad_fixtures / CROSSTAB).read_text().replace(",120,", ",150,"))
    ingest_files(warehouse, [revised], user="t")
    written_at_ingest = aggregate_rows(warehouse)
    as_before_the_aggregate(warehouse)
    assert missing_aggregate_periods(warehouse.manifest()) == ["2024-07"]

    seen: list[str] = []
    result = build_missing_aggregates(warehouse, user="t", progress=lambda done, total, what: seen.append(what))
    assert len(result.built) == 2 and seen[-1] == "done"  # both states of July's stack
    assert aggregate_rows(warehouse) == written_at_ingest
    m = warehouse.manifest()
    stack = m.publications[aggregate.PUBLICATION].periods["2024-07"]
    assert [s.release for s in stack] == [s.release for s in m.publications["gpad_appointments"].periods["2024-07"]]
    assert [s.total for s in stack] == [s.total for s in m.publications["gpad_appointments"].periods["2024-07"]]
    assert all(aggregate.PUBLICATION in r.touched for r in m.releases)
    assert missing_aggregate_periods(m) == []
    assert build_missing_aggregates(warehouse, user="t").built == []  # a second upgrade does nothing

    rollback(warehouse, "2024-07", user="t")  # the republication goes, its aggregate with it
    original = warehouse.snapshot().table(aggregate.PUBLICATION).to_pandas()
    assert int(original.appointments.sum()) == 255
    assert mf.FORMAT == 2 and json.loads(warehouse.manifest_path.read_text())["format"] == 2
