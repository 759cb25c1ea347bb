"""Pseudonyms for practices sent to NHS England: a keyed hash, stable between runs, useless without the key.

Rules (DESIGN.md, "Deployment and secrets"; docs/governance.md):
- Each ICB has its own 32-byte secret key, made from `secrets` on first use and kept in
  ``<GPACCESS_HOME>/keys/`` (folder mode 0700, file mode 0600). It never leaves that folder: nothing here
  prints, logs or returns it except to the caller that pseudonymises.
- A pseudonym is ``GPA-`` followed by the base32 of the first 10 bytes of HMAC-SHA256(key, prefix + code),
  where the prefix names gpaccess, the purpose, a version and the ICB (domain separation). Same key, same
  code, same pseudonym, in any process; no fragment of the code shows; without the key, hashing every
  practice code finds nothing.
- Rotating a key changes every pseudonym. The old key is kept beside the new one as
  ``<name>.retired-<UTC timestamp>`` so returns already sent can still be matched locally.

Imports only the standard library and `gpaccess.errors` (import-linter: access depends only on storage).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import stat
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gpaccess.errors import ConfigError

KEY_BYTES = 32
KEYS_FOLDER = "keys"
KEY_SUFFIX = ".key"
RETIRED_MARK = ".retired-"
ROTATION_LOG = "rotations.log"
FOLDER_MODE = 0o700
FILE_MODE = 0o600
PSEUDONYM_PREFIX = "GPA-"
PSEUDONYM_BYTES = 10  # 80 bits: no collision in any realistic number of practices; 16 base32 characters
PSEUDONYM_PATTERN = re.compile(r"^GPA-[A-Z2-7]{16}$")
DOMAIN = b"gpaccess:practice-pseudonym:v1:"
ICB_CODE_PATTERN = re.compile(r"^[A-Z0-9]{2,16}$")
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"


class KeyFileError(ConfigError):
    """A pseudonym key (or its folder) is unsafe or damaged: the installation's owner can fix it."""

    http_status = 500  # on a server this is the installation's fault, not the request's


@dataclass(frozen=True)
class KeyRotation:
    """What `rotate_key` did: the new key's file and where the old one was kept (None if there was none)."""

    icb_code: str
    key_file: Path
    retired_file: Path | None
    rotated_at: datetime
    rotated_by: str


def _icb(icb_code: str) -> str:
    code = icb_code.strip().upper()
    if not ICB_CODE_PATTERN.match(code):
        raise KeyFileError(f"not an ICB code: {icb_code!r} (expected 2-16 letters or digits, e.g. QWE)")
    return code


def _keys_folder(home: Path | str) -> Path:
    return Path(home) / KEYS_FOLDER


def key_path(home: Path | str, icb_code: str) -> Path:
    """Where the ICB's pseudonym key lives: ``<home>/keys/pseudonym-<ICB>.key``."""
    return _keys_folder(home) / f"pseudonym-{_icb(icb_code)}{KEY_SUFFIX}"


def _ensure_folder(home: Path | str) -> Path:
    folder = _keys_folder(home)
    if not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            pass
        else:
            os.chmod(folder, FOLDER_MODE)  # mkdir's mode is filtered by the umask
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode):
        raise KeyFileError(f"{folder} should be a folder holding pseudonym keys, and is not")
    if st.st_mode & 0o077:
        raise KeyFileError(
            f"the key folder {folder} is open to other users (mode {stat.S_IMODE(st.st_mode):o}); "
            f"run: chmod 700 {folder}"
        )
    return folder


def _read_key(path: Path) -> bytes:
    """Read a key file, refusing one that other users could read, a link, or one of the wrong length."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise  # the caller decides: make one, or nothing to retire
    except OSError as exc:
        raise KeyFileError(f"cannot read the pseudonym key {path}: {exc.strerror} (it must be a plain file)") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise KeyFileError(f"the pseudonym key {path} is not a plain file")
        if st.st_mode & 0o077:
            raise KeyFileError(
                f"the pseudonym key {path} is readable or writable by other users "
                f"(mode {stat.S_IMODE(st.st_mode):o}); run: chmod 600 {path}"
            )
        data = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) != KEY_BYTES:
        raise KeyFileError(
            f"the pseudonym key {path} is damaged ({len(data)} bytes, expected {KEY_BYTES}); restore it from "
            "a backup — making a new one changes every pseudonym (see docs/governance.md)"
        )
    return data


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_key(path: Path) -> bool:
    """Write a fresh key to `path` atomically, only if none is there. False if another process got there first."""
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        try:
            os.fchmod(fd, FILE_MODE)  # the umask cannot loosen it, only tighten
            os.write(fd, secrets.token_bytes(KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic, and fails rather than replace a key that exists
        except FileExistsError:
            return False
        _fsync_folder(path.parent)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def load_or_create_key(home: Path | str, icb_code: str) -> bytes:
    """The ICB's pseudonym key, made (32 random bytes, mode 0600) the first time it is asked for."""
    path = key_path(home, icb_code)
    _ensure_folder(home)
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    _create_key(path)
    return _read_key(path)


SESSION_KEY_FILE = "web-session.key"


def load_or_create_session_key(home: Path | str) -> bytes:
    """The web application's key for signing CSRF tokens, kept beside the pseudonym keys and made the same way
    (32 random bytes, mode 0600, on first use): no secret ever sits in the repository or the settings."""
    _ensure_folder(home)
    path = _keys_folder(home) / SESSION_KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    _create_key(path)
    return _read_key(path)


def rotate_key(home: Path | str, icb_code: str, *, user: str) -> KeyRotation:
    """Replace the ICB's key with a new one. Every pseudonym changes; the old key is kept, retired, for matching.

    The rotation is recorded (time, ICB, user, retired file) in ``<home>/keys/rotations.log``.
    """
    if not user or not user.strip():
        raise KeyFileError("rotating a pseudonym key needs the acting user")
    icb = _icb(icb_code)
    folder = _ensure_folder(home)
    path = key_path(home, icb)
    now = datetime.now(UTC)
    retired: Path | None = None
    try:
        _read_key(path)  # refuse to retire an unsafe or damaged key silently
    except FileNotFoundError:
        pass
    else:
        retired = path.with_name(f"{path.name}{RETIRED_MARK}{now.strftime(TIMESTAMP_FORMAT)}")
        os.link(path, retired)  # fails rather than overwrite an earlier retired key
        path.unlink()
    _create_key(path)
    _read_key(path)
    line = f"{now.isoformat()}\t{icb}\t{user.strip()}\t{retired.name if retired else '-'}\n"
    fd = os.open(folder / ROTATION_LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_folder(folder)
    return KeyRotation(icb_code=icb, key_file=path, retired_file=retired, rotated_at=now, rotated_by=user.strip())


def retired_keys(home: Path | str, icb_code: str) -> list[tuple[datetime, bytes]]:
    """The ICB's retired keys, oldest first, each with when it was retired: to match returns sent before."""
    path = key_path(home, icb_code)
    folder = path.parent
    if not folder.exists():
        return []
    _ensure_folder(home)
    found: list[tuple[datetime, bytes]] = []
    for candidate in folder.glob(f"{path.name}{RETIRED_MARK}*"):
        stamp = candidate.name[len(path.name) + len(RETIRED_MARK) :]
        try:
            when = datetime.strptime(stamp, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            continue
        found.append((when, _read_key(candidate)))
    return sorted(found, key=lambda item: item[0])


def pseudonymise(key: bytes, practice_code: str, *, icb_code: str) -> str:
    """The practice's pseudonym under this ICB's key: ``GPA-`` + 16 base32 characters.

    The code is stripped and upper-cased first, so ``" a81001"`` and ``"A81001"`` agree.
    """
    if not isinstance(key, bytes | bytearray) or len(key) < 16:
        raise ValueError("a pseudonym key is at least 16 bytes (load it with load_or_create_key)")
    code = practice_code.strip().upper()
    if not code:
        raise ValueError("an empty practice code has no pseudonym")
    message = DOMAIN + _icb(icb_code).encode("ascii") + b":" + code.encode("utf-8")
    digest = hmac.new(bytes(key), message, hashlib.sha256).digest()[:PSEUDONYM_BYTES]
    return PSEUDONYM_PREFIX + base64.b32encode(digest).decode("ascii")
