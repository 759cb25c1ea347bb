"""The pages' own template helpers: titles inside sentences, table cells, the header and footer."""

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


def _viewer(role_name: str, *, icb: str | None = None, practice: str | None = None, name: str = "Sam"):
    from types import SimpleNamespace

    from gpaccess.access.principal import Principal
    from gpaccess.access.roles import role

    account = SimpleNamespace(icb_code=icb, practice_code=practice, display_name=name)
    return SimpleNamespace(signed_in=True, account=account, principal=Principal(user=name, role=role(role_name)))


def test_the_header_is_rendered_once_per_kind_of_viewer_and_says_who_and_where():
    from gpaccess.web.app import templates

    chrome = templates().globals["chrome"]
    analyst = chrome.header(_viewer("icb_analyst", icb="QXR"))
    assert chrome.header(_viewer("icb_analyst", icb="QXR")) is analyst  # reused, not rendered again
    assert 'href="/icb/QXR/funnel"' in analyst and "/audit" not in analyst
    assert "Sam (ICB analyst or primary care lead)" in analyst
    admin = chrome.header(_viewer("icb_admin", icb="QXR"))
    assert 'href="/icb/QXR/audit"' in admin  # another role: another header
    other = chrome.header(_viewer("icb_analyst", icb="QSL", name="Alex"))
    assert 'href="/icb/QSL"' in other and "QXR" not in other and "Alex" in other
    practice = chrome.header(_viewer("practice", practice="Y00001"))
    assert 'href="/practice/Y00001"' in practice and "/icb/" not in practice
    assert chrome.footer() is chrome.footer() and "/openapi.json" in chrome.footer()
