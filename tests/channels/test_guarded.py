"""Validation and rate limiting of the public REST and socketio channels."""

from __future__ import annotations

import pytest

from bot.channels.guarded import InvalidMessage, clean_sender, clean_text
from bot.channels.pseudonym import pseudonym
from bot.channels.ratelimit import RateLimiter
from bot.config import ConfigError, RateLimit, load_settings


@pytest.mark.parametrize("value", [None, 123, ["hi"], {"text": "hi"}, b"hi"])
def test_non_string_messages_are_rejected(value: object) -> None:
    with pytest.raises(InvalidMessage, match="must be a string"):
        clean_text(value)


@pytest.mark.parametrize("value", ["", "   ", "\x00\x01\x02", "\n\t "])
def test_empty_messages_are_rejected(value: str) -> None:
    with pytest.raises(InvalidMessage, match="empty"):
        clean_text(value)


def test_control_characters_are_stripped_but_newlines_kept() -> None:
    assert clean_text("sau\x00na\x07?\nafter") == "sauna?\nafter"


def test_overlong_text_is_cut_to_a_few_times_the_nlu_limit() -> None:
    assert len(clean_text("a" * 100_000)) == 4000


@pytest.mark.parametrize("value", [None, "", "  ", 7, "x" * 129, "ab\x00c"])
def test_bad_senders_are_rejected(value: object) -> None:
    with pytest.raises(InvalidMessage, match="sender"):
        clean_sender(value)


def test_pseudonym_is_stable_keyed_and_not_the_id() -> None:
    assert pseudonym("+447700900123") == pseudonym("+447700900123")
    assert "447700900123" not in pseudonym("+447700900123")
    # Keyed: without the key, a phone number can't be recovered by hashing candidates.
    assert pseudonym("+447700900123", b"k1") != pseudonym("+447700900123", b"k2")


def test_rate_limiter_allows_then_blocks_then_recovers() -> None:
    limiter = RateLimiter(RateLimit(requests=3, window_seconds=10))
    assert [limiter.retry_after("a", now=t) for t in (0, 1, 2)] == [0, 0, 0]
    assert limiter.retry_after("a", now=3) == pytest.approx(7)
    assert limiter.retry_after("b", now=3) == 0  # other keys are independent
    assert limiter.retry_after("a", now=10.5) == 0  # the first hit left the window


def test_rate_limiter_forgets_least_recent_keys() -> None:
    limiter = RateLimiter(RateLimit(1, 60), max_keys=2)
    for key in ("a", "b", "c"):
        limiter.retry_after(key, now=0)
    assert limiter.retry_after("a", now=1) == 0  # "a" was evicted, so it starts fresh


def test_rate_limit_setting_explains_the_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESO_RATE_LIMIT_SENDER", "lots")
    with pytest.raises(ConfigError, match="MESO_RATE_LIMIT_SENDER must look like 20/60"):
        load_settings()
    monkeypatch.setenv("MESO_RATE_LIMIT_SENDER", "5/30")
    assert load_settings().rate_limit_sender == RateLimit(5, 30.0)
