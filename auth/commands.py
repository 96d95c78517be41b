"""`perispiegel users add|list|disable|reset-password|grant|token`: account administration from the console.

Passwords are generated and printed once, or typed at a hidden prompt (`--prompt`); they never appear in the
arguments (which other users of the machine could read) and never in the audit log.
"""

from __future__ import annotations

import argparse
import getpass

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from auth.tokens import DEFAULT_TOKEN_DAYS, TOKEN_LIFETIME_DAYS
from auth.users import (
    ACCOUNT_ROLES,
    SENDER_ROLE,
    UserError,
    add_user,
    grant,
    list_users,
    reset_password,
    sender_token,
    set_active,
)


def add_users_parser(commands: argparse._SubParsersAction) -> None:
    """Add the `users` sub-command (with its own sub-commands) to the `perispiegel` parser."""
    users = commands.add_parser("users", help="user accounts: add, list, disable, reset-password, grant, token")
    actions = users.add_subparsers(dest="users_command", required=True)

    add = actions.add_parser("add", help="create an account (password generated and shown once, or --prompt)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ACCOUNT_ROLES)
    add.add_argument("--org", help="organisation code: a practice/hospital for provider and sender, a VSV for vsv")
    add.add_argument("--name", help="display name (default: the username)")
    add.add_argument("--prompt", action="store_true", help="type the password instead of generating one")

    actions.add_parser("list", help="every account with role, organisations and status")

    disable = actions.add_parser("disable", help="disable an account (or --enable it again)")
    disable.add_argument("username")
    disable.add_argument("--enable", action="store_true")

    reset = actions.add_parser("reset-password", help="set a new password (generated, or --prompt)")
    reset.add_argument("username")
    reset.add_argument("--prompt", action="store_true")

    grant_parser = actions.add_parser("grant", help="let a user also see an organisation by name (or --revoke)")
    grant_parser.add_argument("username")
    grant_parser.add_argument("org")
    grant_parser.add_argument("--revoke", action="store_true")

    token = actions.add_parser("token", help="make an API token for a sender account (shown once)")
    token.add_argument("username")
    token.add_argument("--days", type=int, default=DEFAULT_TOKEN_DAYS, choices=TOKEN_LIFETIME_DAYS)
    token.add_argument("--label", default="deliveries")


def _prompted_password() -> str:
    first = getpass.getpass("New password: ")
    if first != getpass.getpass("Repeat it: "):
        raise UserError("the two passwords differ")
    return first


def users_command(arguments: argparse.Namespace, engine: Engine, console: Console) -> int:
    """Run `perispiegel users ...`; 0 on success, 1 when the request cannot be carried out."""
    try:
        action = arguments.users_command
        if action == "add":
            password = _prompted_password() if arguments.prompt else None
            # A generated password is one-time: whoever reads it here passes it on, and the user replaces it at the
            # first login. A typed one (--prompt) was chosen by the person at the terminal.
            user, password = add_user(engine, arguments.username, arguments.role, org_code=arguments.org,
                                      display_name=arguments.name, password=password, one_time=not arguments.prompt)
            console.print(f"User [bold]{user.username}[/bold] ({user.role}) created.")
            if user.role == SENDER_ROLE:
                console.print(f"A sender logs in only with an API token: `perispiegel users token {user.username}`.")
            elif not arguments.prompt:
                console.print(f"Password (shown once, to be changed at the first login): [bold]{password}[/bold]",
                              highlight=False)
        elif action == "list":
            table = Table("username", "name", "role", "organisations", "status", "last login")
            for user in list_users(engine):
                table.add_row(user.username, user.display_name, user.role, ", ".join(user.organisations) or "-",
                              "active" if user.active else "disabled",
                              user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "never")
            console.print(table)
        elif action == "disable":
            user = set_active(engine, arguments.username, arguments.enable)
            console.print(f"User {user.username} is now {'active' if user.active else 'disabled'}.")
        elif action == "reset-password":
            password = reset_password(engine, arguments.username,
                                      _prompted_password() if arguments.prompt else None, one_time=not arguments.prompt)
            console.print(f"New password set for {arguments.username.strip().lower()}: their sessions ended and their "
                          "API tokens were revoked.")
            if not arguments.prompt:
                console.print(f"Password (shown once, to be changed at the first login): [bold]{password}[/bold]",
                              highlight=False)
        elif action == "token":
            token = sender_token(engine, arguments.username, label=arguments.label, days=arguments.days)
            console.print(f"API token for sender {arguments.username.strip().lower()} (valid {arguments.days} days, "
                          f"shown once): [bold]{token}[/bold]", highlight=False)
        elif action == "grant":
            user = grant(engine, arguments.username, arguments.org, revoke=arguments.revoke)
            console.print(f"{user.username} now sees: {', '.join(user.organisations) or 'no organisation by name'}.")
    except UserError as error:
        console.print(f"[red]{error}[/red]")
        return 1
    return 0


def print_demo_users(created: list[dict], console: Console) -> None:
    """The demo accounts and their passwords, printed once when they are created."""
    if not created:
        return
    table = Table("username", "password", "role", "organisation", title="Demo accounts (passwords shown once)")
    for account in created:
        table.add_row(account["username"], account["password"], account["role"], account["org_code"] or "-")
    console.print(table)
