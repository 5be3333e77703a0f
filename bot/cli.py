"""The shape every ``python -m bot`` command group shares (bot/__main__.py wires them)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Handler = Callable[[argparse.Namespace], int]


class CommandGroup:
    """``python -m bot NAME COMMAND``: a command is required, and each runs its handler."""

    def __init__(self, subparsers: argparse._SubParsersAction, name: str, help: str) -> None:
        group = subparsers.add_parser(name, help=help)
        self._commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(
        self, name: str, handler: Handler, help: str, **defaults: Any
    ) -> argparse.ArgumentParser:
        """A command; the returned parser takes its arguments."""
        command = self._commands.add_parser(name, help=help)
        command.set_defaults(handler=handler, **defaults)
        return command
