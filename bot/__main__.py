"""Command line: ``python -m bot <group> <command>``.

Each group lives beside the code it drives and exposes ``register(subparsers)``;
this module only wires them together so `--help` lists everything.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# group name -> module that defines register(subparsers); the group registers its own name
COMMAND_GROUPS = {
    "facts": "bot.facts.cli",
    "spacy": "bot.nlp_cli",
    "staff": "bot.staff.cli",
    "nlu": "bot.staff.nlu_cli",
    "logs": "bot.staff.logs_cli",
    "serve": "bot.serve",
    "train": "bot.training",
    "db": "bot.appdb.cli",
}


def build_parser(groups: dict[str, str] = COMMAND_GROUPS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    subparsers = parser.add_subparsers(dest="group", metavar="GROUP")
    for module_path in groups.values():
        try:
            module = importlib.import_module(module_path)
        except ModuleNotFoundError as exc:
            if exc.name != module_path:
                raise
            continue  # group not built yet in this checkout
        module.register(subparsers)
    return parser


def groups_for(argv: list[str]) -> dict[str, str]:
    """Only the named group's module, so `python -m bot serve staff` doesn't import the
    training group's Rasa and TensorFlow; every group for --help or no group."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    if first in COMMAND_GROUPS:
        return {first: COMMAND_GROUPS[first]}
    return COMMAND_GROUPS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(groups_for(argv))
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    return int(handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
