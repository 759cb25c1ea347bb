"""Derived frames kept on disk (storage/derived.py): a changed input never reads a stale frame, a damaged or
vanished file is a miss rather than an error, and the least recently used go first."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from gpaccess.storage.derived import DerivedFrames, digest


def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"practice_code": [f"A{i:05d}" for i in range(n)], "value": [i / 7 for i in range(n)]})


def test_a_kept_frame_reads_back_equal_and_is_not_derived_again(tmp_path):
    derived = DerivedFrames(tmp_path)
    calls = []
    key = {"kind": "values", "inputs": {"gpad": {"2025-01": "r1"}}}
    first = derived.get(key, lambda: calls.append(1) or frame(5))
    again = derived.get(dict(reversed(key.items())), lambda: calls.append(1) or frame(0))  # same key, any order
    assert calls == [1]
    assert_frame_equal(again, first)


def test_a_changed_input_is_a_different_key():
    a = digest({"inputs": {"gpad": {"2025-01": "r1"}}})
    assert a != digest({"inputs": {"gpad": {"2025-01": "r2"}}})  # a republication
    assert a != digest({"inputs": {"gpad": {"2025-01": "r1", "2025-02": "r3"}}})  # a new month


def test_a_damaged_file_is_derived_again_and_replaced(tmp_path):
    derived = DerivedFrames(tmp_path)
    key = {"kind": "values"}
    derived.write(key, frame(3))
    derived.path(key).write_bytes(b"not parquet")
    assert derived.read(key) is None
    assert_frame_equal(derived.get(key, lambda: frame(4)), frame(4))
    assert_frame_equal(derived.read(key), frame(4))


def test_the_least_recently_used_go_past_the_limit(tmp_path):
    derived = DerivedFrames(tmp_path, entries=2)
    keys = [{"n": i} for i in range(3)]
    for i, key in enumerate(keys[:2]):
        derived.write(key, frame(i + 1))
        os.utime(derived.path(key), (1_000 + i, 1_000 + i))
    derived.read(keys[0])  # used again: now the most recent
    derived.write(keys[2], frame(3))
    assert derived.read(keys[1]) is None
    assert derived.read(keys[0]) is not None and derived.read(keys[2]) is not None


def test_a_store_that_cannot_be_written_still_answers(tmp_path):
    folder = tmp_path / "derived"
    folder.write_text("a file where the folder should be")
    derived = DerivedFrames(folder)
    assert_frame_equal(derived.get({"k": 1}, lambda: frame(2)), frame(2))
    assert derived.read({"k": 1}) is None


@pytest.mark.parametrize("missing", ["never written", "removed by another process"])
def test_a_missing_file_is_a_miss(tmp_path, missing):
    derived = DerivedFrames(tmp_path)
    if missing != "never written":
        derived.write({"k": 1}, frame(2))
        derived.path({"k": 1}).unlink()
    assert derived.read({"k": 1}) is None
