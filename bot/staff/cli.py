"""``python -m bot staff ...``: manage staff accounts of the staff app.

Passwords are read from a prompt (or from stdin when it is not a terminal, for
scripts), never from the command line, where `ps` and shell history would keep them.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.appdb import migrated_engine
from bot.config import get_settings
from bot.staff import audit
from bot.staff.auth import AccountError, UserStore
from bot.staff.models import ROLES

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


def _add(args: argparse.Namespace) -> int:
    store = _store()
    try:
        password = read_password()
        user = store.add(args.username, password, args.role)
    except AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    audit.record(store.engine, CLI_ACTOR, "add_user", f"user:{user.username}", {"role": user.role})
    print(f"added {user.role} {user.username!r}")
    return 0


def _passwd(args: argparse.Namespace) -> int:
    store = _store()
    try:
        store.set_password(args.username, read_password())
    except AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    audit.record(store.engine, CLI_ACTOR, "set_password", f"user:{args.username.lower()}")
    print(f"password changed for {args.username!r}; their sessions have ended")
    return 0


def _role(args: argparse.Namespace) -> int:
    store = _store()
    try:
        user = store.set_role(args.username, args.role)
    except AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    audit.record(store.engine, CLI_ACTOR, "set_role", f"user:{user.username}", {"role": args.role})
    print(f"{user.username!r} is now {args.role}")
    return 0


def _set_active(args: argparse.Namespace) -> int:
    store = _store()
    try:
        user = store.set_active(args.username, args.active)
    except AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    action = "enable_user" if args.active else "disable_user"
    audit.record(store.engine, CLI_ACTOR, action, f"user:{user.username}")
    print(f"{user.username!r} {'enabled' if args.active else 'disabled'}")
    return 0


def _list(_args: argparse.Namespace) -> int:
    for user in _store().all():
        state = "active" if user.active else "disabled"
        last = user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else "never"
        print(f"{user.username:<24} {user.role:<9} {state:<9} last login {last}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("staff", help="staff app accounts")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True)

    add = commands.add_parser(
        "add", help="create an account (password from a prompt, or stdin when piped)"
    )
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, required=True)
    add.set_defaults(handler=_add)

    passwd = commands.add_parser("passwd", help="set a new password (ends their sessions)")
    passwd.add_argument("username")
    passwd.set_defaults(handler=_passwd)

    role = commands.add_parser("role", help="change an account's role")
    role.add_argument("username")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(handler=_role)

    disable = commands.add_parser("disable", help="block an account and end its sessions")
    disable.add_argument("username")
    disable.set_defaults(handler=_set_active, active=False)

    enable = commands.add_parser("enable", help="unblock an account")
    enable.add_argument("username")
    enable.set_defaults(handler=_set_active, active=True)

    commands.add_parser("list", help="list accounts").set_defaults(handler=_list)
