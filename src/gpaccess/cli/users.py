"""`gpaccess users add|remove|list|set-role|set-password|token`: the web application's accounts."""

from __future__ import annotations

import getpass
import os
from typing import Annotated

import typer
from rich.table import Table

from gpaccess.cli import commands
from gpaccess.errors import UserError

out = commands.console()
users_app = typer.Typer(help="Web accounts: who may sign in, in which role, over which ICB or practice.")
PASSWORD_ENV = "GPACCESS_NEW_PASSWORD"


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


def _password(given_by_env: bool) -> str:
    """The new password: from GPACCESS_NEW_PASSWORD (scripts), else asked twice without echo."""
    if given_by_env:
        return os.environ[PASSWORD_ENV]
    first = getpass.getpass("New password: ")
    if first != getpass.getpass("Again: "):
        raise UserError("the two passwords differ: nothing was changed")
    return first


@users_app.command("add")
def add_command(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[str, typer.Option(help="national, regional, icb_admin, icb_analyst or practice.")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the user name).")] = None,
    icb: Annotated[str | None, typer.Option(help="The ICB whose practices an ICB role sees.")] = None,
    practice: Annotated[str | None, typer.Option(help="The practice role's own practice (ODS code).")] = None,
) -> None:
    """Add a web user. The password is asked for (or read from GPACCESS_NEW_PASSWORD) and stored as an argon2
    hash."""
    from gpaccess.services import accounts

    c = commands.get(ctx)
    made = accounts.add_user(
        c.app,
        principal=c.principal,
        username=username,
        display_name=name or username,
        role=role,
        password=_password(PASSWORD_ENV in os.environ),
        icb_code=icb,
        practice_code=practice,
    )
    out.print(f"added {made.username} ({made.role}{_scope(made)})")


@users_app.command("remove")
def remove_command(ctx: typer.Context, username: Annotated[str, typer.Argument()]) -> None:
    """Remove a web user and end their sessions and API tokens (the audit log keeps their name)."""
    from gpaccess.services import accounts

    c = commands.get(ctx)
    accounts.remove_user(c.app, principal=c.principal, username=username)
    out.print(f"removed {username}")


@users_app.command("set-role")
def set_role_command(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Option(help="national, regional, icb_admin, icb_analyst or practice.")],
    icb: Annotated[str | None, typer.Option(help="The ICB for an ICB role (default: the user's current one).")] = None,
    practice: Annotated[str | None, typer.Option(help="The practice for the practice role.")] = None,
) -> None:
    """Change a user's role and scope; their sessions end, so it applies from their next sign-in."""
    from gpaccess.services import accounts

    c = commands.get(ctx)
    made = accounts.set_role(
        c.app, principal=c.principal, username=username, role=role, icb_code=icb, practice_code=practice
    )
    out.print(f"{made.username} is now {made.role}{_scope(made)}")


@users_app.command("set-password")
def set_password_command(ctx: typer.Context, username: Annotated[str, typer.Argument()]) -> None:
    """Set a user's password (asked for, or GPACCESS_NEW_PASSWORD); their sessions end."""
    from gpaccess.services import accounts

    c = commands.get(ctx)
    accounts.set_password(
        c.app, principal=c.principal, username=username, password=_password(PASSWORD_ENV in os.environ)
    )
    out.print(f"password set for {username}")


@users_app.command("token")
def token_command(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    label: Annotated[str, typer.Option(help="What the token is for.")] = "api",
) -> None:
    """Make an API token for the user (printed once; send it as `Authorization: Bearer TOKEN`)."""
    from gpaccess.services import accounts

    c = commands.get(ctx)
    typer.echo(accounts.create_api_token(c.app, principal=c.principal, username=username, label=label))


@users_app.command("list")
def list_command(ctx: typer.Context) -> None:
    """Every web user you may manage, by user name."""
    from gpaccess.services import accounts

    c = commands.get(ctx)
    t = Table("user", "name", "role", "ICB", "practice", title="Web users")
    for u in accounts.list_users(c.app, principal=c.principal):
        t.add_row(u.username, u.display_name, u.role, u.icb_code or "", u.practice_code or "")
    out.print(t)


def _scope(u) -> str:
    if u.practice_code:
        return f", practice {u.practice_code}"
    if u.icb_code:
        return f", ICB {u.icb_code}"
    return ", aggregates only"
