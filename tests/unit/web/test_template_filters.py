"""The pages' own template helpers: titles inside sentences, table cells."""

from __future__ import annotations

import pytest

from gpaccess.web.app import _cell, _midsentence


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Appointments per 1,000 registered patients", "appointments per 1,000 registered patients"),
        ("GP appointments seen face to face", "GP appointments seen face to face"),  # an initialism keeps capitals
        ("DNA rate", "DNA rate"),
        ("A", "A"),
        ("", ""),
    ],
)
def test_a_title_inside_a_sentence(title, expected):
    assert _midsentence(title) == expected


def test_cells_say_not_available_for_missing_and_escape_text():
    assert "not available" in _cell(None) and "not available" in _cell(float("nan"))
    assert _cell(0.12345) == "0.123" and _cell(1234.56) == "1,234.6" and _cell(7) == "7"
    assert _cell("<b>") == "&lt;b&gt;"
