"""People who use gpaccess. Roles are named here and defined as data elsewhere (`access.roles`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from gpaccess.access.audit import record_event
from gpaccess.errors import UserError
from gpaccess.storage.db import Base, atomic, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(64))
    # The ICB whose practices the user may see by name; None for national roles (aggregates only).
    icb_code: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    # argon2 hash of the web password (access.accounts); None: the user cannot sign in to the web application.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # The practice role's own practice (its ODS code); None for every other role.
    practice_code: Mapped[str | None] = mapped_column(String(16))


class UserIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    username: str = Field(min_length=1, max_length=128)
    display_name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=64)
    icb_code: str | None = Field(default=None, min_length=1, max_length=16)
    practice_code: str | None = Field(default=None, min_length=1, max_length=16)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    username: str
    display_name: str
    role: str
    icb_code: str | None
    created_at: datetime
    practice_code: str | None = None


class UsernameTakenError(UserError):
    exit_code = 2
    http_status = 409


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    icb_code: str | None = None,
    practice_code: str | None = None,
    password_hash: str | None = None,
    user: str,
) -> UserOut:
    """Add a user; `user` is the acting user (recorded in the audit log with the new user's details, never
    the password hash)."""
    data = UserIn(
        username=username, display_name=display_name, role=role, icb_code=icb_code, practice_code=practice_code
    )
    with atomic(session):
        if session.scalar(select(User.id).where(User.username == data.username)) is not None:
            raise UsernameTakenError(f"user {data.username!r} already exists")
        row = User(**data.model_dump(), created_at=utcnow(), password_hash=password_hash)
        session.add(row)
        session.flush()
        record_event(
            session,
            actor=user,
            action="user.created",
            object_type="user",
            object_id=row.id,
            icb_code=row.icb_code,
            detail=data.model_dump(),
        )
        return UserOut.model_validate(row)


def get_user(session: Session, username: str) -> UserOut | None:
    row = session.scalar(select(User).where(User.username == username))
    return None if row is None else UserOut.model_validate(row)
