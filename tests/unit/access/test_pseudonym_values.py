"""Pseudonyms: stable, fixed length, different per key and ICB, and not found by hashing codes without the key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess
import sys
from pathlib import Path

import pytest

from gpaccess.access.pseudonym import PSEUDONYM_PATTERN, load_or_create_key, pseudonymise

KEY = bytes(range(32))
CODES = [f"{letter}{n:05d}" for letter in "ABCDEFGHJKLMNPY" for n in range(81000, 81040)]


def test_pseudonym_is_fixed_length_base32_with_no_fragment_of_the_code() -> None:
    for code in CODES:
        p = pseudonymise(KEY, code, icb_code="QWE")
        assert PSEUDONYM_PATTERN.match(p) and len(p) == 20
        assert code not in p and code[1:] not in p and code[:3] not in p


def test_pseudonym_is_stable_and_ignores_case_and_spaces() -> None:
    first = pseudonymise(KEY, "A81001", icb_code="QWE")
    assert pseudonymise(KEY, "A81001", icb_code="QWE") == first
    assert pseudonymise(KEY, " a81001\n", icb_code=" qwe") == first
    assert pseudonymise(bytearray(KEY), "A81001", icb_code="QWE") == first


def test_pseudonyms_are_distinct_across_practices() -> None:
    assert len({pseudonymise(KEY, c, icb_code="QWE") for c in CODES}) == len(CODES)


def test_pseudonym_is_stable_across_processes(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path, "QWE")
    script = (
        "import sys; from gpaccess.access.pseudonym import load_or_create_key, pseudonymise;"
        "k = load_or_create_key(sys.argv[1], 'QWE');"
        "print(','.join(pseudonymise(k, c, icb_code='QWE') for c in sys.argv[2:]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), *CODES[:20]], check=True, capture_output=True, text=True
    )
    assert out.stdout.strip().split(",") == [pseudonymise(key, c, icb_code="QWE") for c in CODES[:20]]


def test_pseudonyms_differ_between_icb_keys(tmp_path: Path) -> None:
    qwe = load_or_create_key(tmp_path, "QWE")
    qkk = load_or_create_key(tmp_path, "QKK")
    a = {pseudonymise(qwe, c, icb_code="QWE") for c in CODES}
    b = {pseudonymise(qkk, c, icb_code="QKK") for c in CODES}
    assert not a & b


def test_the_icb_code_separates_domains_even_under_one_key() -> None:
    assert pseudonymise(KEY, "A81001", icb_code="QWE") != pseudonymise(KEY, "A81001", icb_code="QKK")


def _unkeyed_guesses(code: str) -> set[str]:
    """What someone without the key might try: plain hashes, HMAC with guessed keys, with and without the prefix."""
    guesses = set()
    messages = [code.encode(), b"gpaccess:practice-pseudonym:v1:QWE:" + code.encode()]
    for message in messages:
        digests = [hashlib.sha256(message).digest(), hashlib.md5(message).digest(), hashlib.sha1(message).digest()]
        for guessed_key in (b"", b"QWE", b"gpaccess", bytes(32)):
            digests.append(hmac.new(guessed_key, message, hashlib.sha256).digest())
        for d in digests:
            guesses.add("GPA-" + base64.b32encode(d[:10]).decode())
            guesses.add(d.hex()[:16].upper())
    return guesses


def test_pseudonyms_cannot_be_matched_by_hashing_codes_without_the_key(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path, "QWE")
    sent = {pseudonymise(key, c, icb_code="QWE") for c in CODES}
    guessed = set().union(*(_unkeyed_guesses(c) for c in CODES))
    assert not sent & guessed
    wrong_key = {pseudonymise(bytes(32), c, icb_code="QWE") for c in CODES}
    assert not sent & wrong_key


@pytest.mark.parametrize(
    ("key", "code", "message"),
    [(b"short", "A81001", "at least 16 bytes"), (KEY, "  ", "empty practice code"), ("text", "A81001", "16 bytes")],
)
def test_pseudonymise_refuses_a_bad_key_or_code(key: object, code: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pseudonymise(key, code, icb_code="QWE")  # type: ignore[arg-type]
