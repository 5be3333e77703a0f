"""bot.handoff: the HandoffRequest table and its repository (used by actions and staff app)."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.handoff import HandoffNotFound, HandoffRepository, new_reference


def test_references_are_short_and_unambiguous() -> None:
    references = {new_reference() for _ in range(200)}

    assert len(references) == 200
    for reference in references:
        assert reference.startswith("MA-") and len(reference) == 9
        assert not set(reference[3:]) & set("01OIL")


def test_set_status_records_who_and_when(repository: HandoffRepository) -> None:
    request = repository.create(sender_id="s1", reason="request_human")

    updated = repository.set_status(request.id, "contacted", by="nurse.jo")

    assert (updated.status, updated.status_changed_by) == ("contacted", "nurse.jo")
    assert isinstance(updated.status_changed_at, datetime)
    assert repository.list_queue() == []
    assert [r.id for r in repository.list_queue(statuses=("contacted",))] == [request.id]
    assert repository.find_open_for_sender("s1") is None


def test_contact_details_are_never_stored_without_consent(repository: HandoffRepository) -> None:
    with pytest.raises(ValueError, match="consent"):
        repository.create(sender_id="s1", reason="request_human", contact_value="+44 7700 900123")


@pytest.mark.parametrize(
    ("field", "value"),
    [("urgency", "soon"), ("contact_channel", "fax")],
)
def test_unknown_values_are_rejected(repository: HandoffRepository, field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        repository.create(sender_id="s1", reason="request_human", **{field: value})


def test_unknown_status_and_id_are_rejected(repository: HandoffRepository) -> None:
    request = repository.create(sender_id="s1", reason="request_human")

    with pytest.raises(ValueError, match="status"):
        repository.set_status(request.id, "done", by="x")
    with pytest.raises(HandoffNotFound):
        repository.set_status(request.id + 100, "closed", by="x")


def test_find_open_for_sender_returns_the_newest(repository: HandoffRepository) -> None:
    repository.create(sender_id="s1", reason="request_human")
    newest = repository.create(sender_id="s1", reason="fallback")
    repository.create(sender_id="someone-else", reason="fallback")

    assert repository.find_open_for_sender("s1").id == newest.id
