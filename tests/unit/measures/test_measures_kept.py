"""Every practice's measures kept on disk after an ingest (`MeasureSession.keep`, storage/derived.py): a later
process reads exactly what it would have computed, and a change to what measures read is never answered from
the frames of the store before it."""

from __future__ import annotations

import shutil

import pytest
from pandas.testing import assert_frame_equal

from gpaccess.measures.service import MeasureSession, MeasureSettings
from gpaccess.storage.warehouse import StoreConfig, Warehouse

FRAMES = ["directory", "values", "quality", "_unrecorded_practices"]


@pytest.fixture
def home(own_synthetic_home):
    shutil.rmtree(own_synthetic_home / "store" / "derived", ignore_errors=True)
    return own_synthetic_home


def _session(home, settings=None) -> MeasureSession:
    return MeasureSession(Warehouse(StoreConfig(home=home)).snapshot(), settings or MeasureSettings())


def _refuse_to_compute(session: MeasureSession, monkeypatch) -> None:
    def fail(*_a, **_k):
        raise AssertionError("computed, not read from the kept frames")

    monkeypatch.setattr(session, "_pool", fail)
    monkeypatch.setattr("gpaccess.measures.service.practice_directory", fail)
    monkeypatch.setattr("gpaccess.measures.service.unrecorded_practices", fail)
    monkeypatch.setattr("gpaccess.measures.service.quality_flags", fail)


def test_a_later_session_reads_exactly_what_was_computed(home, monkeypatch):
    first = _session(home)
    first.keep()
    computed = {name: getattr(first, name)() for name in FRAMES}
    later = _session(home)
    _refuse_to_compute(later, monkeypatch)
    for name in FRAMES:
        assert_frame_equal(getattr(later, name)(), computed[name], check_dtype=True, obj=name)
    icb = str(computed["directory"].icb_code.dropna().iloc[0])
    assert_frame_equal(later.icb_table(icb), first.icb_table(icb))
    assert isinstance(later.quality().quality_flags.iloc[0], list)  # lists, as computed (not arrays)


def test_other_settings_are_not_answered_from_the_default_frames(home):
    _session(home).keep()
    other = _session(home, MeasureSettings(baseline_year=2020))
    assert other._kept("values") is None


def test_an_ingest_changes_what_is_read(home, tmp_path, gpad_fixtures):
    """A new release (here a month of list sizes) changes the inputs: the kept frames of the store
    before it are not read for the store after it."""
    from gpaccess.ingest.load import ingest_files

    before = _session(home)
    before.keep()
    wh = Warehouse(StoreConfig(home=home))
    ingest_files(wh, [gpad_fixtures / "gp-reg-pat-prac-all_2024-07-01.csv"], user="t")
    after = MeasureSession(wh.snapshot(), MeasureSettings())
    assert after._kept("values") is None
    assert before._kept("values") is not None  # the earlier state's frames stay for readers of it


def test_every_practices_series_is_kept_and_read_as_computed(home, monkeypatch):
    first = _session(home)
    first.keep(("f2f_gp", "dna_rate"))
    codes = list(first.directory().practice_code[:5])
    computed = {(c, n): first.series(c, n) for c in codes for n in ("f2f_gp", "dna_rate")}
    later = _session(home)

    def fail(*_a, **_k):
        raise AssertionError("scanned the aggregate, not read from the kept series")

    monkeypatch.setattr("gpaccess.measures.compute.monthly_series", fail)
    later.warm(("f2f_gp", "dna_rate"))
    for (code, name), series in computed.items():
        assert_frame_equal(later.series(code, name), series, check_dtype=True, obj=f"{code} {name}")
    monkeypatch.undo()  # one practice's own series, asked for alone and computed, is what the batch holds
    alone = _session(home)
    # (its counts may come back as integers: a batch's frame is float wherever any practice has a gap)
    assert_frame_equal(alone.series(codes[0], "f2f_gp"), computed[(codes[0], "f2f_gp")], check_dtype=False)
