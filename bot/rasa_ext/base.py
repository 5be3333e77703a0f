"""What our NLU pipeline components share: how Rasa builds them, and how the trained
ones save and load their scikit-learn text model."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, ClassVar

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

from bot.rasa_ext.question_focus import focused_probabilities, question_focus
from bot.rasa_ext.sklearn_io import LinearTextScorer, fit_text_model, load_model, save_model

logger = logging.getLogger(__name__)


class StatelessComponent(GraphComponent):
    """A pipeline component built from its config; defaults fill what the config leaves out."""

    def __init__(
        self,
        config: dict[str, Any] | None = None,
        model_storage: ModelStorage | None = None,
        resource: Resource | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **(config or {})}
        self._model_storage = model_storage
        self._resource = resource

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> StatelessComponent:
        return cls(config, model_storage=model_storage, resource=resource)


class TextModelComponent(StatelessComponent):
    """A component around one scikit-learn text model, fitted when the NLU model trains
    and saved with skops in its resource.

    A model that is missing or refused on load leaves the component inert (``scorer``
    is None) instead of failing the whole NLU model; ``UNLOADED`` says what happens then.
    """

    MODEL_FILE: ClassVar[str]
    UNLOADED: ClassVar[str]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Any | None = None,
    ) -> None:
        super().__init__(config, model_storage, resource)
        self.model = model
        self.scorer = LinearTextScorer(model) if model is not None else None

    def fit(self, texts: list[str], labels: list[str]) -> Resource:
        """Fit the TF-IDF text model on the texts and save it; fewer than two labels: no model."""
        assert self._model_storage is not None and self._resource is not None
        if len(set(labels)) < 2:
            logger.warning(
                "%s needs examples of at least two classes; not trained.", type(self).__name__
            )
            return self._resource
        self.model = fit_text_model(self.config, texts, labels)
        self.scorer = LinearTextScorer(self.model)
        self.persist()
        return self._resource

    def probabilities(self, text: str, protected: Iterable[str] = ()) -> dict[str, float]:
        """The text model's probability of each class for ``text``.

        When a story surrounds the question, the question sentences are scored too and
        averaged in with the config's ``focus_weight``; a ``protected`` class keeps its
        whole-message score (bot/rasa_ext/question_focus.py).
        """
        assert self.scorer is not None
        focus = question_focus(text)
        rows = self.scorer.predict_proba([text] if focus is None else [text, focus])
        classes = [str(name) for name in self.scorer.classes_]
        whole = dict(zip(classes, (float(value) for value in rows[0]), strict=True))
        if focus is None:
            return whole
        return focused_probabilities(
            whole,
            dict(zip(classes, (float(value) for value in rows[1]), strict=True)),
            self.config["focus_weight"],
            protected,
        )

    def saved(self) -> Any:
        """What goes into the model file."""
        return self.model

    def persist(self) -> None:
        assert self._model_storage is not None and self._resource is not None
        with self._model_storage.write_to(self._resource) as directory:
            save_model(self.saved(), directory / self.MODEL_FILE)

    @classmethod
    def from_saved(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, saved: Any
    ) -> TextModelComponent:
        """The component around what ``saved()`` wrote."""
        return cls(config, model_storage, resource, saved)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> TextModelComponent:
        try:
            with model_storage.read_from(resource) as directory:
                saved = load_model(directory / cls.MODEL_FILE)
        except ValueError as error:
            logger.warning("%s not loaded (%s); %s", cls.__name__, error, cls.UNLOADED)
            return cls(config, model_storage, resource)
        return cls.from_saved(config, model_storage, resource, saved)
