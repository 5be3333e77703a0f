"""``python -m bot logs purge|delete``: delete stored conversations.

`purge --older-than 90d` applies a retention period (the staff app also does this
daily with clinic.yml's retention_days); `delete --sender ID` (or `--whatsapp NUMBER`)
answers a patient's request to erase their conversation.
"""

from __future__ import annotations

import argparse
import sys

from bot.appdb import migrated_engine
from bot.cli import CommandGroup
from bot.config import get_settings
from bot.staff.cli import CLI_ACTOR
from bot.staff.config import StaffConfig
from bot.staff.events import tracker_engine
from bot.staff.retention import delete_sender, parse_duration, purge_older_than


def _engines() -> tuple:
    config = StaffConfig.from_settings(get_settings())
    return migrated_engine(config.app_db_url), tracker_engine(config.tracker_db_url), config


def _purge(args: argparse.Namespace) -> int:
    try:
        age = parse_duration(args.older_than)
    except ValueError as error:
        print(f"error: --older-than: {error}", file=sys.stderr)
        return 2
    app_engine, tracker, config = _engines()
    report = purge_older_than(app_engine, tracker, age, config.secret_key, CLI_ACTOR)
    print(f"purge older than {args.older_than}: {report.summary()}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    if args.whatsapp:
        # WhatsApp conversations are keyed by a hash of the number (never the number).
        from bot.channels.conversation_ids import whatsapp_conversation_id

        sender_id = whatsapp_conversation_id(args.whatsapp)
    else:
        sender_id = (args.sender or "").strip()
    if not sender_id:
        print("error: --sender needs the conversation's sender id", file=sys.stderr)
        return 2
    app_engine, tracker, config = _engines()
    report = delete_sender(app_engine, tracker, sender_id, config.secret_key, CLI_ACTOR)
    if not report.events and not report.rows:
        print(f"no stored data for sender {sender_id!r} (nothing deleted)")
    else:
        print(f"sender {sender_id!r}: {report.summary()}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    group = CommandGroup(subparsers, "logs", "delete stored conversations (privacy)")
    purge = group.add("purge", _purge, "delete conversation data older than a duration")
    purge.add_argument(
        "--older-than", required=True, metavar="AGE", help="e.g. 90d, 12h, 30m or 2w"
    )
    delete = group.add("delete", _delete, "delete everything stored for one sender id")
    who = delete.add_mutually_exclusive_group(required=True)
    who.add_argument("--sender", metavar="ID", help="the conversation's sender id")
    who.add_argument(
        "--whatsapp", metavar="NUMBER", help="a WhatsApp patient's phone number, e.g. +447700900123"
    )
