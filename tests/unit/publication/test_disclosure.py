"""The small-number rule for public and national figures."""

from __future__ import annotations

import pytest

from gpaccess.publication import disclosure


@pytest.mark.parametrize(("count", "shown"), [(0, 0), (2, 0), (3, 5), (12, 10), (13, 15), (100, 100)])
def test_round_practices_to_nearest_five(count, shown):
    assert disclosure.round_practices(count) == shown


@pytest.mark.parametrize(
    ("count", "shown"), [(0, "fewer than 5 practices"), (4, "fewer than 5 practices"), (5, 5), (7, 5), (8, 10)]
)
def test_practices_figure_hides_fewer_than_five(count, shown):
    assert disclosure.practices_figure(count) == shown


def test_enough_appointments_needs_at_least_100_and_never_guesses():
    assert disclosure.enough_appointments(100)
    assert not disclosure.enough_appointments(99)
    assert not disclosure.enough_appointments(None)
    assert not disclosure.enough_appointments(float("nan"))
