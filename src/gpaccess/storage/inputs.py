"""What every write to the plan store checks first, whichever layer writes: the input against its schema, with
every problem in one message, and the acting user named. Each layer passes its own error class, so a refused
cohort input and a refused plan input keep their own exit codes and HTTP statuses."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gpaccess.errors import UserError

Schema = TypeVar("Schema", bound=BaseModel)


def validated(refused: type[UserError], schema: type[Schema], /, **data: Any) -> Schema:
    """`schema(**data)`, or `refused` listing every field's problem."""
    try:
        return schema(**data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors())
        raise refused(f"{schema.__name__} refused: {problems}") from exc


def acting_user(refused: type[UserError], user: str, /) -> str:
    """The user making a change, stripped; `refused` when none is given (every change names who made it)."""
    actor = (user or "").strip()
    if not actor:
        raise refused("every change names the user making it; none was given")
    return actor
