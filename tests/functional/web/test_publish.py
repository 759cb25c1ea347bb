"""`gpaccess publish`: the public practice-level publication, as written and as the guard sees it."""

from __future__ import annotations

import pandas as pd

from gpaccess.access.accounts import anonymous
from gpaccess.publication import disclosure
from gpaccess.publication.guard import check_outward
from gpaccess.services import publish
from gpaccess.services.app import App
from gpaccess.services.measures import measure_session


def test_publication_lists_every_practice_in_code_order_with_intervals(web_world, tmp_path):
    app = App.from_settings(web_world.settings)
    written = publish.publish(app, principal=anonymous(), folder=tmp_path)
    assert sorted(p.name for p in written) == [
        "gp_access_by_practice.csv", "gp_access_by_practice.html", "gp_access_by_practice.xlsx",
    ]  # fmt: skip
    table = pd.read_csv(tmp_path / "gp_access_by_practice.csv", dtype={"practice_code": str})
    directory = measure_session(app).directory()
    assert list(table.practice_code) == sorted(directory.practice_code)
    check_outward(tmp_path / "gp_access_by_practice.csv", kind="public", known_codes=set(directory.practice_code))
    shown = table[pd.to_numeric(table.f2f_gp, errors="coerce").notna()]
    share = pd.to_numeric(shown.f2f_gp)
    assert ((shown.f2f_gp_ci_lower <= share) & (share <= shown.f2f_gp_ci_upper)).all()
    withheld = table[table.appointments < disclosure.MIN_APPOINTMENTS]
    assert (withheld.f2f_gp == disclosure.TOO_FEW_APPOINTMENTS).all()
    assert not any(c for c in table.columns if "cohort" in c or "rank" in c)
    xlsx = pd.read_excel(tmp_path / "gp_access_by_practice.xlsx", dtype={"practice_code": str})
    assert list(xlsx.practice_code) == list(table.practice_code)
    app.close()


def test_a_practice_with_few_appointments_shows_too_few_instead_of_a_share(web_world):
    app = App.from_settings(web_world.settings)
    found = publish.public_table(app, principal=anonymous())
    few = found.table.appointments.fillna(0) < disclosure.MIN_APPOINTMENTS
    if few.any():
        assert (found.table.loc[few, "dna_rate"] == disclosure.TOO_FEW_APPOINTMENTS).all()
    assert found.table.loc[~few, "dna_rate"].map(lambda v: isinstance(v, float) or v is None).all()
    app.close()
