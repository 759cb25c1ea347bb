"""The ICB's pseudonym key: made once, mode 0600 in a 0700 folder, refused when unsafe, rotated with a record."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from gpaccess.access.pseudonym import (
    KEY_BYTES,
    KeyFileError,
    key_path,
    load_or_create_key,
    pseudonymise,
    retired_keys,
    rotate_key,
)
from gpaccess.errors import UserError


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_key_path_is_under_home_keys(tmp_path: Path) -> None:
    assert key_path(tmp_path, " qwe ") == tmp_path / "keys" / "pseudonym-QWE.key"


@pytest.mark.parametrize("icb", ["", "Q", "../etc", "QW E", "Q/W"])
def test_key_path_refuses_a_bad_icb_code(tmp_path: Path, icb: str) -> None:
    with pytest.raises(KeyFileError, match="not an ICB code"):
        key_path(tmp_path, icb)


def test_key_is_made_once_with_mode_0600_in_a_0700_folder(tmp_path: Path) -> None:
    old = os.umask(0)  # the most permissive umask must not loosen the key
    try:
        key = load_or_create_key(tmp_path / "home", "QWE")
    finally:
        os.umask(old)
    path = key_path(tmp_path / "home", "QWE")
    assert len(key) == KEY_BYTES
    assert path.read_bytes() == key
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert load_or_create_key(tmp_path / "home", "QWE") == key  # read back, not remade
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_each_icb_has_its_own_key(tmp_path: Path) -> None:
    assert load_or_create_key(tmp_path, "QWE") != load_or_create_key(tmp_path, "QKK")


def test_keys_made_at_once_by_many_threads_agree(tmp_path: Path) -> None:
    barrier = threading.Barrier(8)
    keys: list[bytes] = []

    def make() -> None:
        barrier.wait()
        keys.append(load_or_create_key(tmp_path, "QWE"))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert key_path(tmp_path, "QWE").read_bytes() == keys[0]


@pytest.mark.parametrize("loose", [0o644, 0o640, 0o604, 0o660])
def test_a_key_readable_by_others_is_refused(tmp_path: Path, loose: int) -> None:
    load_or_create_key(tmp_path, "QWE")
    path = key_path(tmp_path, "QWE")
    os.chmod(path, loose)
    with pytest.raises(KeyFileError, match="chmod 600") as info:
        load_or_create_key(tmp_path, "QWE")
    assert isinstance(info.value, UserError)
    assert str(path) in str(info.value)


def test_a_key_folder_open_to_others_is_refused(tmp_path: Path) -> None:
    load_or_create_key(tmp_path, "QWE")
    os.chmod(tmp_path / "keys", 0o755)
    with pytest.raises(KeyFileError, match="chmod 700"):
        load_or_create_key(tmp_path, "QWE")


def test_a_damaged_key_is_refused_not_replaced(tmp_path: Path) -> None:
    path = key_path(tmp_path, "QWE")
    load_or_create_key(tmp_path, "QWE")
    path.write_bytes(b"short")
    with pytest.raises(KeyFileError, match="damaged"):
        load_or_create_key(tmp_path, "QWE")
    assert path.read_bytes() == b"short"


def test_a_linked_key_is_refused(tmp_path: Path) -> None:
    load_or_create_key(tmp_path, "QWE")
    elsewhere = tmp_path / "elsewhere.key"
    elsewhere.write_bytes(os.urandom(KEY_BYTES))
    os.chmod(elsewhere, 0o600)
    os.symlink(elsewhere, key_path(tmp_path, "QKK"))
    with pytest.raises(KeyFileError, match="plain file"):
        load_or_create_key(tmp_path, "QKK")


def test_a_keys_path_that_is_not_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keys").write_text("not a folder")
    with pytest.raises(KeyFileError, match="folder"):
        load_or_create_key(tmp_path, "QWE")


def test_rotation_makes_a_new_key_and_keeps_the_old_one_retired(tmp_path: Path) -> None:
    old = load_or_create_key(tmp_path, "QWE")
    rotation = rotate_key(tmp_path, "qwe", user="analyst1")
    new = load_or_create_key(tmp_path, "QWE")
    assert new != old and len(new) == KEY_BYTES
    assert rotation.icb_code == "QWE" and rotation.rotated_by == "analyst1"
    assert rotation.key_file == key_path(tmp_path, "QWE")
    assert rotation.retired_file is not None
    assert rotation.retired_file.name.startswith("pseudonym-QWE.key.retired-")
    assert rotation.retired_file.read_bytes() == old
    assert mode(rotation.retired_file) == 0o600 and mode(rotation.key_file) == 0o600
    assert retired_keys(tmp_path, "QWE") == [(rotation.rotated_at, old)]
    log = (tmp_path / "keys" / "rotations.log").read_text()
    assert "QWE" in log and "analyst1" in log and rotation.retired_file.name in log
    assert mode(tmp_path / "keys" / "rotations.log") == 0o600


def test_rotation_changes_every_pseudonym_and_old_ones_still_match_locally(tmp_path: Path) -> None:
    codes = [f"A8{i:04d}" for i in range(50)]
    before = {c: pseudonymise(load_or_create_key(tmp_path, "QWE"), c, icb_code="QWE") for c in codes}
    rotate_key(tmp_path, "QWE", user="analyst1")
    after = {c: pseudonymise(load_or_create_key(tmp_path, "QWE"), c, icb_code="QWE") for c in codes}
    assert all(before[c] != after[c] for c in codes)
    assert not set(before.values()) & set(after.values())
    (_, old_key), *_ = retired_keys(tmp_path, "QWE")
    assert {c: pseudonymise(old_key, c, icb_code="QWE") for c in codes} == before


def test_rotating_twice_keeps_both_retired_keys_oldest_first(tmp_path: Path) -> None:
    first = load_or_create_key(tmp_path, "QWE")
    rotate_key(tmp_path, "QWE", user="a")
    second = load_or_create_key(tmp_path, "QWE")
    rotate_key(tmp_path, "QWE", user="b")
    assert [k for _, k in retired_keys(tmp_path, "QWE")] == [first, second]
    assert len((tmp_path / "keys" / "rotations.log").read_text().splitlines()) == 2


def test_rotating_before_any_key_exists_just_makes_one(tmp_path: Path) -> None:
    rotation = rotate_key(tmp_path, "QWE", user="analyst1")
    assert rotation.retired_file is None
    assert len(load_or_create_key(tmp_path, "QWE")) == KEY_BYTES
    assert retired_keys(tmp_path, "QWE") == []


def test_rotation_needs_a_user_and_a_safe_key(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="acting user"):
        rotate_key(tmp_path, "QWE", user=" ")
    load_or_create_key(tmp_path, "QWE")
    os.chmod(key_path(tmp_path, "QWE"), 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        rotate_key(tmp_path, "QWE", user="analyst1")


def test_no_retired_keys_without_a_keys_folder(tmp_path: Path) -> None:
    assert retired_keys(tmp_path, "QWE") == []


def test_a_retired_key_with_an_unreadable_stamp_is_ignored(tmp_path: Path) -> None:
    load_or_create_key(tmp_path, "QWE")
    stray = key_path(tmp_path, "QWE").with_name("pseudonym-QWE.key.retired-yesterday")
    stray.write_bytes(os.urandom(KEY_BYTES))
    assert retired_keys(tmp_path, "QWE") == []


def test_a_key_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    load_or_create_key(tmp_path, "QWE")
    key_path(tmp_path, "QKK").mkdir()
    with pytest.raises(KeyFileError, match="not a plain file"):
        load_or_create_key(tmp_path, "QKK")
