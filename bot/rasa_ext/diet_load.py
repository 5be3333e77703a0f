"""DIET loaded for prediction without Rasa's one-example training step.

Rasa 3.6's ``RasaModel.load`` builds a model's weights by compiling it and fitting it on
one example, which traces the whole training graph with its gradients, then loads the
saved weights over them. For a model that only predicts, that step was half of the
Rasa server's cold start (15 of 30 s of CPU) and about 460 MB of its memory
(docs/performance.md). Here the saved weights are restored as the first inference
creates the variables (TensorFlow's deferred restoration), and the load checks that
every variable the model created was matched in the checkpoint; if not, it falls back
to Rasa's own load. Fine-tuning, and models without a prediction example, always use
Rasa's load.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

_original_load: Any = None


def load_for_prediction(
    cls: type,
    model_file_name: str,
    model_data_example: Any,
    predict_data_example: Any = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> Any:
    def rasa_load() -> Any:
        return _original_load(
            cls, model_file_name, model_data_example, predict_data_example, finetune_mode,
            *args, **kwargs,
        )  # fmt: skip

    if finetune_mode or not predict_data_example:
        return rasa_load()
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE

    config = kwargs.get("config", {})
    model = cls(*args, **kwargs)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)),
        run_eagerly=config.get("run_eagerly"),
    )
    status = model.load_weights(model_file_name)
    model.run_inference(predict_data_example)  # creates the variables, restoring them
    try:
        status.assert_existing_objects_matched()
    except AssertionError as error:
        logger.warning("%s: not every weight restored (%s); using Rasa's load", cls, error)
        return rasa_load()
    status.expect_partial()  # the optimizer's slots exist only in training
    return model


def install() -> None:
    """Replace ``RasaModel.load`` (idempotent)."""
    global _original_load
    from rasa.utils.tensorflow.models import RasaModel

    if _original_load is not None:
        return
    _original_load = RasaModel.load.__func__  # type: ignore[attr-defined]
    RasaModel.load = classmethod(load_for_prediction)  # type: ignore[method-assign,assignment]
