"""The republication guard on the real South West October 2025 rows (515 practices, 109,190 rows).

`../shared` holds that month only as first published; the republished copy the issue describes (101 of 2,101
practices changed, by -0.05% to +7%) is not there. So the republication here is built from the real rows the
same way: a twentieth of the practices revised upwards by up to 7% and one down by a row's worth, everything
else byte for byte. It must pass the guard and be reported exactly; a hand-cut copy that keeps a third of one
practice's rows (as the hand-cut file of the issue did: 94 of 297) must be refused, naming it."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from gpaccess.errors import InputFileError
from gpaccess.ingest.load import ingest_files
from ingest_helpers import answers

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

COUNT = 12  # COUNT_OF_APPOINTMENTS


@pytest.fixture(scope="module")
def published(real_data: Path):
    path = real_data / "gpad" / "practice_level_south_west" / "Practice_Level_Crosstab_Oct_25.zip"
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if "Crosstab" in n)
        rows = list(csv.reader(io.StringIO(zf.read(name).decode(), newline="")))
        mapping = zf.read("Mapping.csv")
    return path, name, rows[0], rows[1:], mapping


def rezip(path: Path, name: str, header, rows, mapping: bytes) -> Path:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, buf.getvalue())
        zf.writestr("Mapping.csv", mapping)
    return path


def totals(rows) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for r in rows:
        n, k = out.get(r[1], (0, 0))
        out[r[1]] = (n + int(r[COUNT]), k + 1)
    return out


def test_the_real_months_republication_passes_and_is_reported(warehouse, published, tmp_path):
    path, name, header, rows, mapping = published
    ingest_files(warehouse, [path], user="t")
    codes = sorted({r[1] for r in rows})
    up = {code: 1 + (i % 7 + 1) / 100 for i, code in enumerate(codes[::20])}  # +1% .. +7%
    down = codes[7]  # one practice loses one appointment (a -0.05%-sized revision)
    revised_rows, lowered = [], False
    for r in rows:
        count = int(r[COUNT])
        if r[1] in up:
            count = round(count * up[r[1]])
        elif r[1] == down and not lowered and count > 1:
            count, lowered = count - 1, True
        revised_rows.append([*r[:COUNT], str(count), *r[COUNT + 1 :]])
    again = rezip(tmp_path / "republished" / path.name, name, header, revised_rows, mapping)
    result = ingest_files(warehouse, [again], user="t")
    [change] = result.republished
    old, new = totals(rows), totals(revised_rows)
    expected = sorted(c for c in codes if old[c] != new[c])
    assert expected == sorted({*[c for c in up if old[c] != new[c]], down})
    assert [c.practice_code for c in change.revised] == expected
    assert all(not c.shrinks for c in change.revised)
    assert (len(change.added), change.unchanged, change.kept) == (0, len(codes) - len(expected), 0)
    assert change.appointments_before == sum(n for n, _ in old.values()) == 4_417_868  # PROVENANCE.md
    assert change.appointments_after == sum(n for n, _ in new.values())
    assert change.rows_before == change.rows_after == 109_190
    first = next(c for c in change.revised if c.practice_code == down)
    assert (first.appointments_before - first.appointments_after, first.rows_after) == (1, old[down][1])
    [m] = result.mappings
    assert (m.rows_before, m.rows_after) == (6_194, 6_194)


def test_a_hand_cut_copy_of_the_real_month_is_refused(warehouse, published, tmp_path):
    path, name, header, rows, mapping = published
    ingest_files(warehouse, [path], user="t")
    before = answers(warehouse)
    old = totals(rows)
    victim = max(sorted(old), key=lambda c: old[c][1])  # the practice with the most rows
    mine = [r for r in rows if r[1] == victim]
    kept = mine[: len(mine) // 3]
    cut = [r for r in rows if r[1] != victim] + kept
    hand_cut = rezip(tmp_path / "cut" / path.name, name, header, cut, mapping)
    with pytest.raises(InputFileError) as err:
        ingest_files(warehouse, [hand_cut], user="t")
    [problem] = err.value.problems
    after = sum(int(r[COUNT]) for r in kept)
    assert problem.file == f"{hand_cut.name}:{name}"
    assert f"practice {victim} " in problem.expected
    assert problem.found == f"{old[victim][0]:,} → {after:,} appointments, {old[victim][1]:,} → {len(kept):,} rows"
    assert answers(warehouse) == before  # refused as a whole: nothing was stored
