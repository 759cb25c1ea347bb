"""Fixtures for the chart tests; the frames themselves are built in chart_frames.py."""

from __future__ import annotations

import pandas as pd
import pytest
from chart_frames import funnel_frames, spc_frame


@pytest.fixture
def funnel_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return funnel_frames()


@pytest.fixture
def spc_data() -> pd.DataFrame:
    return spc_frame()
