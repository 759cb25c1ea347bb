"""The evaluation's service functions: scope and permissions, plans' records adapted, national pooling by a
national role (aggregates only)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest

from gpaccess.access.principal import Principal
from gpaccess.access.roles import role
from gpaccess.config import Settings
from gpaccess.errors import ForbiddenError, NotFoundError
from gpaccess.evaluation.evaluate import RETURN_COLUMNS
from gpaccess.evaluation.records import SupportRecord
from gpaccess.services.app import App
from gpaccess.services.evaluation import evaluate, pool_national, records_from_plans


@dataclass(frozen=True)
class PlansRow:  # the shape of plans' `SupportedAction` (wt/plans)
    practice_code: str
    icb_code: str
    action_type: str
    start_month: str
    cycle: str


def test_plans_records_are_adapted():
    rows = [PlansRow("a00001", "QAA", "extra_sessions_locums", "2025-03", "winter 2025/26")]
    assert records_from_plans(rows) == [SupportRecord("A00001", "extra_sessions_locums", "2025-03")]


@pytest.fixture
def app(tmp_path):
    a = App.from_settings(Settings(home=tmp_path / "home"))
    yield a
    a.close()


def test_a_national_role_cannot_evaluate_an_icb(app):
    national = Principal("nat", role("national"))
    with pytest.raises(ForbiddenError):
        evaluate(app, principal=national, icb_code="QAA", support=[])


def test_an_icb_outside_scope_reads_as_missing(app):
    analyst = Principal("ana", role("icb_analyst"), icb_codes=frozenset({"QBB"}))
    with pytest.raises(NotFoundError, match="no ICB 'QAA'"):
        evaluate(app, principal=analyst, icb_code="QAA", support=[])


def test_a_national_role_pools_returns(app, tmp_path):
    rows = [
        ["QAA", "appts_per_1000", "% change", "extra_sessions_locums", 10, 10.5, 0, 0, 0.1, 0.1, "2024-10", "2025-06"],
        ["QBB", "appts_per_1000", "% change", "extra_sessions_locums", 15, 35.0, 0, 0, 0.3, 0.2, "2024-10", "2025-06"],
    ]
    path = tmp_path / "returns.csv"
    pd.DataFrame(rows, columns=RETURN_COLUMNS).to_csv(path, index=False)
    run = pool_national(app, principal=Principal("nat", role("national")), returns=[path], folder=tmp_path / "out")
    assert run.icbs == ["QAA", "QBB"] and run.pooled.coefficient.iloc[0] == pytest.approx(0.14)
    assert run.report_html is not None and run.report_html.exists()
    with pytest.raises(ForbiddenError):
        pool_national(app, principal=Principal("p", role("practice")), returns=[path])
