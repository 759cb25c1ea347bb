"""A stored run's members read back as met / not met / not assessed, and never guessed when not recorded."""

from __future__ import annotations

from gpaccess.cohort.criteria import TITLES
from gpaccess.services.cohort_runs import stored_status


def test_a_stored_member_reads_back_met_not_met_or_not_assessed() -> None:
    f2f, local = TITLES["f2f_gp_low"], TITLES["high_111_use"]
    reasons = [f"{f2f}: GP face-to-face share 41% ...: within the 95% funnel limits", f"{local}: not assessed: no data"]
    assert stored_status("f2f_gp_low", ["f2f_gp_low"], reasons) == "met"
    assert stored_status("f2f_gp_low", [], reasons) == "not met"
    assert stored_status("high_111_use", [], reasons) == "not assessed"
    no_mode = [f"{f2f}: no GP appointments with a known mode in the window"]
    assert stored_status("f2f_gp_low", [], no_mode) == "not assessed"
    assert stored_status("high_ae_use", [], reasons) == "not recorded"  # no reason stored: never "not met"
