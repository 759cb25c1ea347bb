"""Web accounts: passwords, sessions, API tokens and login attempts, and the principal a signed-in user acts as.

- Passwords are stored as argon2id hashes (argon2-cffi, in the `[web]` extra: loaded only when a password is
  set or checked).
- Sessions and API tokens: the browser or client holds a random secret; the plan store keeps only its
  SHA-256, so a copy of the database signs nobody in. A session ends after `idle` without a request or
  `absolute` after it began, whichever comes first.
- Login attempts are recorded for rate limiting: too many failures for one user name or from one client in
  the window refuse further tries (even with the right password) until the window has passed.

Every change to an account writes its audit event in the same transaction (`record_event`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Integer, Select, String, bindparam, delete, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from gpaccess.access.audit import record_event
from gpaccess.access.principal import Principal
from gpaccess.access.roles import role as role_named
from gpaccess.access.roles import roles
from gpaccess.access.users import User, UserOut, create_user, get_user
from gpaccess.errors import NotFoundError, UserError
from gpaccess.storage.db import Base, atomic, joined, utcnow

ANONYMOUS_ROLE = "public"  # the role of a visitor who has not signed in: the public pages only
MIN_PASSWORD_LENGTH = 12
TOKEN_BYTES = 32
PRACTICE_CODE_LENGTH = 6


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(128), index=True)
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class LoginAttempt(Base):
    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(128))
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)


class AccountError(UserError):
    exit_code = 2
    http_status = 400


class LoginRefusedError(UserError):
    """Wrong name or password (one message for both: a name's existence is not given away)."""

    exit_code = 12
    http_status = 401


class TooManyAttemptsError(UserError):
    exit_code = 12
    http_status = 429


# -- passwords -----------------------------------------------------------------------------------------------
def _hasher():
    try:
        from argon2 import PasswordHasher
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise AccountError("web accounts need the web extra: pip install 'gpaccess[web]'") from exc
    return PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- accounts ------------------------------------------------------------------------------------------------
def _check_scope(role_name: str, icb_code: str | None, practice_code: str | None) -> None:
    if role_name == ANONYMOUS_ROLE or role_name not in roles():
        known = ", ".join(sorted(r for r in roles() if r != ANONYMOUS_ROLE))
        raise AccountError(f"no role {role_name!r}: roles are {known}")
    scope = role_named(role_name).scope
    if scope == "icb" and not icb_code:
        raise AccountError(f"role {role_name} needs --icb CODE: the ICB whose practices the user may see")
    if scope == "practice":
        if not practice_code:
            raise AccountError("role practice needs --practice CODE: the user's own practice (ODS code)")
        if len(practice_code) != PRACTICE_CODE_LENGTH:
            raise AccountError(f"--practice {practice_code!r}: expected a 6-character ODS practice code")
    if scope == "national" and (icb_code or practice_code):
        raise AccountError(f"role {role_name} sees aggregates only: give it no --icb or --practice")


def add_account(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    password: str,
    icb_code: str | None = None,
    practice_code: str | None = None,
    user: str,
) -> UserOut:
    icb = icb_code.strip().upper() if icb_code else None
    practice = practice_code.strip().upper() if practice_code else None
    _check_scope(role, icb, practice)
    return create_user(
        session,
        username=username,
        display_name=display_name,
        role=role,
        icb_code=icb,
        practice_code=practice,
        password_hash=hash_password(password),
        user=user,
    )


def _row(session: Session, username: str) -> User:
    row = session.scalar(select(User).where(User.username == username))
    if row is None:
        raise NotFoundError(f"no user {username!r} (see `gpaccess users list`)")
    return row


def remove_account(session: Session, *, username: str, user: str) -> None:
    """Remove a user and end their sessions and tokens (the audit log keeps their name)."""
    with atomic(session):
        row = _row(session, username)
        session.execute(delete(WebSession).where(WebSession.username == username))
        session.execute(delete(ApiToken).where(ApiToken.username == username))
        record_event(
            session,
            actor=user,
            action="user.removed",
            object_type="user",
            object_id=row.id,
            icb_code=row.icb_code,
            detail={"username": username, "role": row.role},
        )
        session.delete(row)


def set_role(
    session: Session,
    *,
    username: str,
    role: str,
    icb_code: str | None = None,
    practice_code: str | None = None,
    user: str,
) -> UserOut:
    """Change a user's role (and scope); their sessions end, so the new role applies from the next sign-in."""
    icb = icb_code.strip().upper() if icb_code else None
    practice = practice_code.strip().upper() if practice_code else None
    with atomic(session):
        row = _row(session, username)
        icb = icb if icb is not None or role_named(role).scope != "icb" else row.icb_code
        _check_scope(role, icb, practice)
        before = {"role": row.role, "icb_code": row.icb_code, "practice_code": row.practice_code}
        row.role, row.icb_code, row.practice_code = role, icb, practice
        session.execute(delete(WebSession).where(WebSession.username == username))
        record_event(
            session,
            actor=user,
            action="user.role_set",
            object_type="user",
            object_id=row.id,
            icb_code=icb,
            detail={"username": username, "before": before, "role": role, "icb_code": icb, "practice_code": practice},
        )
        session.flush()
        return UserOut.model_validate(row)


def set_password(session: Session, *, username: str, password: str, user: str) -> None:
    with atomic(session):
        row = _row(session, username)
        row.password_hash = hash_password(password)
        session.execute(delete(WebSession).where(WebSession.username == username))
        record_event(
            session, actor=user, action="user.password_set", object_type="user", object_id=row.id, icb_code=row.icb_code
        )


def list_accounts(session: Session) -> list[UserOut]:
    return [UserOut.model_validate(r) for r in session.scalars(select(User).order_by(User.username))]


def principal_for(account: UserOut) -> Principal:
    """The principal a signed-in user acts as: their role over their own ICB or practice only."""
    r = role_named(account.role)
    if r.scope == "practice":
        code = (account.practice_code or "").upper()
        return Principal(
            user=account.username,
            role=r,
            icb_codes=frozenset(),
            practice_codes=frozenset({code}) if code else frozenset(),
        )
    if r.scope == "icb":
        return Principal(user=account.username, role=r, icb_codes=frozenset({(account.icb_code or "").upper()}))
    return Principal(user=account.username, role=r, icb_codes=frozenset())


def anonymous() -> Principal:
    return Principal(user="anonymous", role=role_named(ANONYMOUS_ROLE), icb_codes=frozenset(), verified=False)


# -- signing in ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RateLimit:
    failures: int = 5  # failed attempts allowed per user name, and per client, in the window
    window: timedelta = timedelta(minutes=15)


def _failures_since(session: Session, since: datetime, **where: str) -> int:
    stmt = select(func.count(LoginAttempt.id)).where(LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False))
    for column, value in where.items():
        stmt = stmt.where(getattr(LoginAttempt, column) == value)
    return int(session.scalar(stmt) or 0)


def authenticate(
    session: Session, *, username: str, password: str, client: str, limit: RateLimit | None = None
) -> UserOut | None:
    """The account if the password is right, None if not (the caller answers `LoginRefusedError` once the
    session has committed, so the failure is counted); `TooManyAttemptsError` once the name or the client has
    failed too often lately, even with the right password."""
    limit = limit or RateLimit()
    now = utcnow()
    since = now - limit.window
    name = username.strip()[:128]
    with atomic(session):
        session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - 4 * limit.window))
        if (
            _failures_since(session, since, username=name) >= limit.failures
            or _failures_since(session, since, client=client[:64]) >= limit.failures * 4
        ):
            session.add(LoginAttempt(username=name, client=client[:64], at=now, succeeded=False))
            raise TooManyAttemptsError(
                f"too many failed sign-ins: try again in {int(limit.window.total_seconds() // 60)} minutes"
            )
        row = session.scalar(select(User).where(User.username == name))
        ok = row is not None and verify_password(row.password_hash, password)
        if row is None:
            verify_password(_DUMMY_HASH(), password)  # the same work whether or not the name exists
        session.add(LoginAttempt(username=name, client=client[:64], at=now, succeeded=ok))
    return get_user(session, name) if ok else None


_dummy: list[str] = []


def _DUMMY_HASH() -> str:  # noqa: N802 - a lazily made constant
    if not _dummy:
        _dummy.append(_hasher().hash(secrets.token_hex(8)))
    return _dummy[0]


@dataclass(frozen=True)
class SessionTimeouts:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    touch_every: timedelta = timedelta(seconds=60)  # last-seen is written at most this often


def start_session(session: Session, *, username: str) -> str:
    """A new session for the user; returns the secret the browser keeps (in an HttpOnly cookie)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    with atomic(session):
        session.add(WebSession(token_sha256=_sha(token), username=username, created_at=now, last_seen_at=now))
        record_event(session, actor=username, action="session.started", object_type="user", object_id=username)
    return token


def _session_lookup() -> Select[Any]:
    sessions, users = WebSession.__table__, User.__table__
    return (
        select(sessions.c.id.label("session_id"), sessions.c.created_at, sessions.c.last_seen_at, *users.c)
        .join_from(sessions, users, users.c.username == sessions.c.username, isouter=True)
        .where(sessions.c.token_sha256 == bindparam("token_sha256"))
    )


_SESSION_LOOKUP = _session_lookup()  # built once: building it took a fifth of the lookup


def resolve_session(session: Session, token: str, timeouts: SessionTimeouts | None = None) -> UserOut | None:
    """The account behind a live session, touching its last-seen time; None (and the session ended) once it
    has been idle or open too long. Every signed-in request asks: one query for the session and its user,
    read as plain rows (no ORM objects to build), in the caller's transaction (no savepoint), and a write only
    when the session ends or is touched."""
    t = timeouts or SessionTimeouts()
    now = utcnow()
    with joined(session):
        found = session.execute(_SESSION_LOOKUP, {"token_sha256": _sha(token)}).first()
        if found is None:
            return None
        created, seen = _aware(found.created_at), _aware(found.last_seen_at)
        if now - seen > t.idle or now - created > t.absolute:
            session.execute(delete(WebSession).where(WebSession.id == found.session_id))
            return None
        if now - seen > t.touch_every:
            session.execute(update(WebSession).where(WebSession.id == found.session_id).values(last_seen_at=now))
    if found.username is None:  # the account was removed
        return None
    return UserOut.model_validate({c.name: getattr(found, c.name) for c in User.__table__.c})


def end_session(session: Session, token: str) -> None:
    with atomic(session):
        session.execute(delete(WebSession).where(WebSession.token_sha256 == _sha(token)))


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- API tokens ----------------------------------------------------------------------------------------------
def create_token(session: Session, *, username: str, label: str, user: str) -> str:
    """A new API token for the user (shown once; only its hash is kept)."""
    token = "gpa_" + secrets.token_urlsafe(TOKEN_BYTES)
    with atomic(session):
        row = _row(session, username)
        session.add(ApiToken(token_sha256=_sha(token), username=username, label=label, created_at=utcnow()))
        record_event(
            session,
            actor=user,
            action="api_token.created",
            object_type="user",
            object_id=row.id,
            icb_code=row.icb_code,
            detail={"username": username, "label": label},
        )
    return token


def resolve_token(session: Session, token: str) -> UserOut | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _sha(token), ApiToken.revoked_at.is_(None)))
    return None if row is None else get_user(session, row.username)
