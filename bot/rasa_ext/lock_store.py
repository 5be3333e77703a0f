"""Make Rasa's Redis lock store atomic across replicas.

Rasa's RedisLockStore changes a conversation's ticket lock with a GET, a change in
Python and a SET. Two replicas doing that at the same moment overwrite each other:
both can draw the same ticket number and process two messages of one conversation at
once (interleaved events), a finished ticket can be written back and stall the queue
until it expires, and a lock can be deleted under a waiter that just queued (a lost
message). Here every change runs in a Redis transaction (WATCH/MULTI, retried when
another replica changed the lock in between), so the ticket queue stays consistent.

Installed at Rasa startup with the other patches (bot.rasa_ext.nlg).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

T = TypeVar("T")
Change = Callable[[TicketLock | None], tuple[TicketLock | None, T]]

_installed = False


def _transact(store: RedisLockStore, conversation_id: str, change: Change[T]) -> T:
    """Apply ``change`` to the stored lock atomically; None deletes the lock."""
    key = store.key_prefix + conversation_id

    def attempt(pipe: Any) -> T:
        raw = pipe.get(key)
        lock = TicketLock.from_dict(json.loads(raw)) if raw else None
        new_lock, result = change(lock)
        pipe.multi()
        if new_lock is None:
            pipe.delete(key)
        else:
            pipe.set(key, new_lock.dumps())
        return result

    return store.red.transaction(attempt, key, value_from_callable=True)


def issue_ticket(
    self: RedisLockStore, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME
) -> int:
    def change(lock: TicketLock | None) -> tuple[TicketLock, int]:
        lock = lock or TicketLock(conversation_id)
        return lock, lock.issue_ticket(lock_lifetime)

    try:
        return _transact(self, conversation_id, change)
    except Exception as error:  # Rasa's own contract: any failure is a LockError
        raise LockError(f"Error while acquiring lock. Error:\n{error}") from error


def update_lock(self: RedisLockStore, conversation_id: str) -> None:
    def change(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
        if lock is not None:
            lock.remove_expired_tickets()
        return lock, None

    _transact(self, conversation_id, change)


def finish_serving(self: RedisLockStore, conversation_id: str, ticket_number: int) -> None:
    def change(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
        if lock is not None:
            lock.remove_ticket_for(ticket_number)
        return lock, None

    _transact(self, conversation_id, change)


def cleanup(self: RedisLockStore, conversation_id: str, ticket_number: int) -> None:
    """Finish the ticket and delete the lock if nobody waits, in one step: a message
    queued in between keeps its lock."""

    def change(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
        if lock is None:
            return None, None
        lock.remove_ticket_for(ticket_number)
        return (lock if lock.is_someone_waiting() else None), None

    _transact(self, conversation_id, change)


def install() -> None:
    global _installed
    if not _installed:
        RedisLockStore.issue_ticket = issue_ticket  # type: ignore[method-assign]
        RedisLockStore.update_lock = update_lock  # type: ignore[method-assign]
        RedisLockStore.finish_serving = finish_serving  # type: ignore[method-assign]
        RedisLockStore.cleanup = cleanup  # type: ignore[method-assign]
        _installed = True
