"""The pages' own template helpers: titles inside sentences, table cells, the header and footer."""

from __future__ import annotations

import pytest

from gpaccess.web.app import _midsentence, table_cell


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
    assert "not available" in table_cell(None) and "not available" in table_cell(float("nan"))
    assert table_cell(0.12345) == "0.123" and table_cell(1234.56) == "1,234.6" and table_cell(7) == "7"
    assert table_cell("<b>") == "&lt;b&gt;"


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


def test_an_spc_table_body_escapes_and_formats_each_cell():
    from gpaccess.web.routes.practice import _spc_table_body

    rows = [
        {"month": "Nov 2023", "value": 0.3125, "mean": 0.3, "lower": None, "upper": 0.5, "special_cause": ""},
        {"month": "<Dec>", "value": 1234.56, "mean": 0.3, "lower": 0.1, "upper": 0.5, "special_cause": "concern"},
    ]
    body = str(_spc_table_body(rows))
    assert body.count('<tr class="nhsuk-table__row">') == 2 and body.count("<td") == 12
    assert '<td class="nhsuk-table__cell">Nov 2023</td><td class="nhsuk-table__cell">0.312</td>' in body
    assert "not available" in body  # the missing lower limit
    assert "&lt;Dec&gt;" in body and "<Dec>" not in body
    assert "1,234.6" in body and body.endswith('<td class="nhsuk-table__cell">concern</td></tr>')
