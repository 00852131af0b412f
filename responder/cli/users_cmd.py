"""``responder users``: who may sign in to the duty board, and with which role."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from responder.cli.common import app_context, console, dump_json, local_time, new_app

app = new_app("Duty board users: add, list, disable, enable, new password, new role. Roles: viewer, officer, admin.")

PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first line of "
                                             "standard input instead of asking for it.")]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _by() -> str:
    """Who ran the command, for the audit record."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@app.command("add", help="Add a user who may sign in to the board; asks for the password (at least 10 characters).")
def add(
    name: Annotated[str, typer.Argument(help="Username: letters, digits, . _ @ - (stored in lower case).")],
    role: Annotated[str, typer.Option("--role", help="viewer (sees status, numbers masked), officer (also acts) "
                                      "or admin.")],
    password_stdin: PasswordStdin = False,
) -> None:
    from responder.app.board_users import add_user
    from responder.domain.board_users import role_of, username_of

    username, chosen = username_of(name), role_of(role)  # refuse a bad name or role before asking for a password
    info = add_user(app_context(), username, chosen, _password(password_stdin), by=_by())
    console().print(f"added board user [bold]{info.username}[/bold] as {info.role.value}")


@app.command("list", help="List the board's users: role, whether active, when they last signed in.")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    from responder.app.board_users import list_users
    from responder.cli.tables import Table

    users = list_users(app_context())
    if as_json:
        dump_json([{"username": u.username, "role": u.role.value, "active": u.active, "created_at": u.created_at,
                    "last_sign_in_at": u.last_sign_in_at} for u in users])
        return
    table = Table(title=f"{len(users)} board users")
    for column in ("username", "role", "active", "created", "last sign-in"):
        table.add_column(column)
    for u in users:
        table.add_row(u.username, u.role.value, "yes" if u.active else "[red]disabled[/red]",
                      local_time(u.created_at, "%Y-%m-%d %H:%M"), local_time(u.last_sign_in_at, "%Y-%m-%d %H:%M"))
    console().print(table)


@app.command("disable", help="Disable a user: their sessions end at their next request and they cannot sign in.")
def disable(name: Annotated[str, typer.Argument(help="Username.")]) -> None:
    from responder.app.board_users import set_active

    info = set_active(app_context(), name, False, by=_by())
    console().print(f"board user [bold]{info.username}[/bold] disabled")


@app.command("enable", help="Enable a disabled user again.")
def enable(name: Annotated[str, typer.Argument(help="Username.")]) -> None:
    from responder.app.board_users import set_active

    info = set_active(app_context(), name, True, by=_by())
    console().print(f"board user [bold]{info.username}[/bold] enabled")


@app.command("passwd", help="Give a user a new password; their other sessions end.")
def passwd(name: Annotated[str, typer.Argument(help="Username.")], password_stdin: PasswordStdin = False) -> None:
    from responder.app.board_users import set_password
    from responder.domain.board_users import username_of

    info = set_password(app_context(), username_of(name), _password(password_stdin), by=_by())
    console().print(f"board user [bold]{info.username}[/bold] has a new password")


@app.command("role", help="Give a user another role; their sessions end, so it applies from their next sign-in.")
def role(
    name: Annotated[str, typer.Argument(help="Username.")],
    new_role: Annotated[str, typer.Argument(metavar="ROLE", help="viewer, officer or admin.")],
) -> None:
    from responder.app.board_users import set_role
    from responder.domain.board_users import role_of

    info = set_role(app_context(), name, role_of(new_role, field="ROLE"), by=_by())
    console().print(f"board user [bold]{info.username}[/bold] is now {info.role.value}")
