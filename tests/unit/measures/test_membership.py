"""`in_codes` answers as `Series.isin` does, for text, missing values and columns that are not text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpaccess.measures.membership import in_codes

CODES = st.sampled_from(["A81001", "A81002", "Y00001", "", "a81001"])


@given(
    column=st.lists(st.one_of(CODES, st.none()), max_size=30),
    codes=st.sets(st.one_of(CODES, st.none()), max_size=5),
    dtype=st.sampled_from(["str", "object"]),
)
def test_same_answer_as_isin_on_text(column, codes, dtype):
    series = pd.Series(column, dtype=dtype)
    expected = series.isin([c for c in codes if c is not None]).to_numpy(dtype=bool)
    got = in_codes(series, codes)
    assert got.dtype == bool and got.tolist() == expected.tolist()


def test_a_missing_value_is_never_in_the_codes_and_case_matters():
    series = pd.Series(["A81001", None, np.nan, "a81001"], dtype=object)
    assert in_codes(series, {"A81001", None}).tolist() == [True, False, False, False]


@pytest.mark.parametrize("series", [pd.Series(["A", "B"], dtype="category"), pd.Series([1, 2, 3])])
def test_columns_that_are_not_text_take_the_general_path(series):
    assert in_codes(series, {"A", 2}).tolist() == series.isin(["A"]).tolist()
