"""The Rasa processes' one startup hook: ``install()`` changes Rasa at run time.

`python -m bot serve rasa` starts Rasa through bot.rasa_ext.server, which calls it
before Rasa loads the model and endpoints.yml (`make shell` and `python -m bot train`
do the same). Nothing else patches Rasa: loading a component or the NLG has no side
effects.

To change Rasa at run time, write an ``install_*(settings)`` function beside the code
it belongs to, idempotent, and add it to INSTALLERS.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.config import Settings, get_settings

logger = logging.getLogger(__name__)


def install_action_fallback(settings: Settings) -> None:
    """Short action timeout, the circuit breaker and a reply instead of silence when
    the action server fails; the action-response validator built once (resilience)."""
    from bot.rasa_ext import resilience

    resilience.install(settings.action_timeout_seconds)


def install_tracker_store_health(settings: Settings) -> None:
    """The tracker store's failures logged without patient data, and reported (health)."""
    from bot.rasa_ext import health

    health.install()


def install_redis_lock_store(settings: Settings) -> None:
    """Redis lock-store tickets changed in transactions, so replicas never clash
    (lock_store)."""
    from bot.rasa_ext import lock_store

    lock_store.install()


def install_paused_urgent_guard(settings: Settings) -> None:
    """An urgent message gets the urgent-care reply even while staff hold the
    conversation (bot.channels.takeover)."""
    from bot.channels import takeover

    takeover.install_paused_urgent_guard()


def install_diet_load_for_prediction(settings: Settings) -> None:
    """DIET's weights restored without Rasa's one-example training step (diet_load):
    half the cold start and about 460 MB less."""
    from bot.rasa_ext import diet_load

    diet_load.install()


def install_fast_feature_fingerprints(settings: Settings) -> None:
    """Training fingerprints sparse features from their bytes instead of printing
    every entry (fingerprints): `python -m bot train` runs this hook too."""
    from bot.rasa_ext import fingerprints

    fingerprints.install()


INSTALLERS: list[Callable[[Settings], None]] = [
    install_action_fallback,
    install_tracker_store_health,
    install_redis_lock_store,
    install_paused_urgent_guard,
    install_diet_load_for_prediction,
    install_fast_feature_fingerprints,
]
_installed = False


def install(settings: Settings | None = None) -> None:
    """Run every installer once per process."""
    global _installed
    if _installed:
        return
    settings = settings or get_settings()
    for installer in INSTALLERS:
        installer(settings)
    _installed = True


def installed() -> bool:
    return _installed
