"""Base class for actions that answer from the fact base."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod

from rasa_sdk import Action

from actions.composer import AnswerComposer
from bot.facts.query import FactBase


class FactBaseAction(Action, metaclass=ABCMeta):
    """An action with the shared fact base and an answer composer.

    The fact base is loaded on first use, so the action server starts even before
    `python -m bot facts build` has run; tests pass their own instance. Abstract, so
    rasa_sdk's executor doesn't try to register it as an action of its own.
    """

    @abstractmethod
    def name(self) -> str: ...

    def __init__(
        self, fact_base: FactBase | None = None, composer: AnswerComposer | None = None
    ) -> None:
        self._fact_base = fact_base
        self.composer = composer or AnswerComposer()

    @property
    def fact_base(self) -> FactBase:
        if self._fact_base is None:
            self._fact_base = FactBase.from_settings()
        return self._fact_base
