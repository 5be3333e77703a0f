"""What each role may see and do: redaction for viewers, exports and changes gated."""

from __future__ import annotations

import pytest

from tests.staff.conftest import Staff

PHONE_IN_TEXT = "+44 20 7946 0958"
EMAIL_IN_TEXT = "jane.doe@example.org"
HANDOFF_PHONE = "+44 7700 900123"
WHATSAPP_SENDER = "447700900123"


def test_viewer_sees_no_contact_details_in_list(viewer: Staff, sample) -> None:
    page = viewer.client.get("/conversations").text
    assert "web-fallback" in page
    assert EMAIL_IN_TEXT not in page and PHONE_IN_TEXT not in page
    assert WHATSAPP_SENDER not in page  # a WhatsApp sender id is a phone number
    assert "[email hidden]" in page


def test_viewer_transcript_is_redacted(viewer: Staff, sample) -> None:
    page = viewer.client.get("/conversations/web-fallback").text
    assert "blorf wuzzle" in page
    assert EMAIL_IN_TEXT not in page and PHONE_IN_TEXT not in page
    assert "[phone hidden]" in page and "[email hidden]" in page


def test_viewer_reaches_whatsapp_conversations_by_opaque_link(viewer: Staff, sample) -> None:
    listing = viewer.client.get("/conversations?channel=whatsapp").text
    assert 'href="/conversations/~' in listing
    link = listing.split('href="/conversations/~', 1)[1].split('"', 1)[0]
    page = viewer.client.get("/conversations/~" + link)
    assert page.status_code == 200
    assert "bleeding" in page.text and WHATSAPP_SENDER not in page.text


def test_viewer_cannot_find_conversations_by_hidden_phone_number(viewer: Staff, sample) -> None:
    page = viewer.client.get("/conversations", params={"q": "7946 0958"}).text
    assert "web-fallback" not in page


def test_viewer_handoff_queue_hides_contacts(viewer: Staff, sample) -> None:
    page = viewer.client.get("/handoffs").text
    assert sample["urgent_request"].reference in page
    assert HANDOFF_PHONE not in page and "Jane" not in page


def test_reviewer_sees_contacts(reviewer: Staff, sample) -> None:
    assert EMAIL_IN_TEXT in reviewer.client.get("/conversations/web-fallback").text
    queue = reviewer.client.get("/handoffs").text
    assert HANDOFF_PHONE in queue
    assert WHATSAPP_SENDER in reviewer.client.get("/conversations").text


@pytest.mark.parametrize(
    "path",
    [
        "/conversations.csv",
        "/conversations.json",
        "/conversations/web-good.json",
        "/handoffs.csv",
        "/handoffs.json",
        "/nlu/export.yml",
    ],
)
def test_viewer_cannot_export(viewer: Staff, sample, path: str) -> None:
    assert viewer.client.get(path).status_code == 403


def test_viewer_cannot_change_anything(viewer: Staff, sample) -> None:
    request_id = sample["normal_request"].id
    for path, data in [
        ("/conversations/web-good/review", {"reviewed": "1"}),
        ("/conversations/web-good/tags", {"tag": "x"}),
        ("/conversations/web-good/notes", {"body": "x"}),
        ("/conversations/web-good/flags", {"event_id": "1"}),
        ("/nlu/decide", {"sender_id": "web-good", "event_id": "1", "intent": "greet"}),
        (f"/handoffs/{request_id}/status", {"status": "contacted"}),
        ("/admin/users/reviewer/active", {"active": "0"}),
    ]:
        assert viewer.post(path, data).status_code == 403, path
    page = viewer.client.get("/conversations/web-good").text
    assert "Mark reviewed" not in page and "Add tag" not in page


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/users", "/admin/audit.csv"])
def test_only_admins_see_audit_and_users(
    viewer: Staff, reviewer: Staff, admin: Staff, path
) -> None:
    assert viewer.client.get(path).status_code == 403
    assert reviewer.client.get(path).status_code == 403
    assert admin.client.get(path).status_code == 200


def test_admin_can_disable_a_user(admin: Staff, users) -> None:
    response = admin.post("/admin/users/viewer/active", {"active": "0"})
    assert response.status_code == 303
    assert users.get("viewer").active is False
    assert (
        admin.post("/admin/users/admin/active", {"active": "0"})
        .headers["location"]
        .endswith("error=self")
    )
    assert users.get("admin").active is True
