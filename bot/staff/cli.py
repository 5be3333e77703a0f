"""``python -m bot staff ...``: manage staff accounts of the staff app.

Passwords are read from a prompt (or from stdin when it is not a terminal, for
scripts), never from the command line, where `ps` and shell history would keep them.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

from bot.appdb import migrated_engine
from bot.cli import CommandGroup
from bot.config import get_settings
from bot.staff import audit
from bot.staff.auth import AccountError, UserStore
from bot.staff.models import ROLES, StaffUser

CLI_ACTOR = "cli"


def read_password(confirm: bool = True) -> str:
    """From a hidden prompt when interactive; else the first line of stdin."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Repeat password: ") != first:
        raise AccountError("the two passwords differ")
    return first


def _store() -> UserStore:
    return UserStore(migrated_engine(get_settings().app_db_url))


def _change_account(
    change: Callable[[UserStore], StaffUser],
    action: str,
    done: str,
    detail: dict[str, Any] | None = None,
) -> int:
    """Apply ``change``, audit it as ``action`` and print ``done`` (``{name}`` and
    ``{role}`` are the account's); an AccountError is the command's error."""
    store = _store()
    try:
        user = change(store)
    except AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    audit.record(store.engine, CLI_ACTOR, action, f"user:{user.username}", detail)
    print(done.format(name=repr(user.username), role=user.role))
    return 0


def _add(args: argparse.Namespace) -> int:
    return _change_account(
        lambda store: store.add(args.username, read_password(), args.role),
        "add_user",
        "added {role} {name}",
        {"role": args.role},
    )


def _passwd(args: argparse.Namespace) -> int:
    return _change_account(
        lambda store: store.set_password(args.username, read_password()),
        "set_password",
        "password changed for {name}; their sessions have ended",
    )


def _role(args: argparse.Namespace) -> int:
    return _change_account(
        lambda store: store.set_role(args.username, args.role),
        "set_role",
        "{name} is now {role}",
        {"role": args.role},
    )


def _set_active(args: argparse.Namespace) -> int:
    return _change_account(
        lambda store: store.set_active(args.username, args.active),
        "enable_user" if args.active else "disable_user",
        "{name} enabled" if args.active else "{name} disabled",
    )


def _list(_args: argparse.Namespace) -> int:
    for user in _store().all():
        state = "active" if user.active else "disabled"
        last = user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else "never"
        print(f"{user.username:<24} {user.role:<9} {state:<9} last login {last}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    group = CommandGroup(subparsers, "staff", "staff app accounts")

    add = group.add("add", _add, "create an account (password from a prompt, or stdin when piped)")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, required=True)

    group.add("passwd", _passwd, "set a new password (ends their sessions)").add_argument(
        "username"
    )

    role = group.add("role", _role, "change an account's role")
    role.add_argument("username")
    role.add_argument("role", choices=ROLES)

    for name, help, active in (
        ("disable", "block an account and end its sessions", False),
        ("enable", "unblock an account", True),
    ):
        group.add(name, _set_active, help, active=active).add_argument("username")

    group.add("list", _list, "list accounts")
