"""NLU inbox, staff decisions, and the Rasa NLU YAML export (web button and CLI)."""

from __future__ import annotations

import sqlalchemy as sa
import yaml
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bot import PROJECT_ROOT
from bot.db import engine_for, session_scope
from bot.staff.domain import load_domain
from bot.staff.models import AuditEntry, NluCorrection
from bot.staff.nlu_export import annotate, export_corrections, project_examples
from tests.staff.conftest import Staff
from tests.staff.rasa_validate import assert_rasa_validate_accepts


def inbox_texts(staff: Staff, query: str = "") -> str:
    return staff.client.get("/nlu" + query).text


def test_inbox_lists_low_confidence_and_fallback_messages(reviewer: Staff, sample) -> None:
    page = inbox_texts(reviewer)
    assert "blorf wuzzle" in page  # nlu_fallback
    assert "can I go to the sauna after?" in page  # 0.45 < the default 0.5
    assert "how many sessions do I need?" not in page  # 0.97
    assert "07700 900123" not in page  # a form answer, however unsure


def test_threshold_is_configurable(reviewer: Staff, sample, app_factory) -> None:
    assert "sauna after" not in inbox_texts(reviewer, "?threshold=0.4")
    assert "how many sessions" in inbox_texts(reviewer, "?threshold=0.98")
    strict = app_factory(nlu_threshold=0.4)
    strict.login("reviewer")
    assert "sauna after" not in strict.client.get("/nlu").text


def test_fallback_suggests_the_classifier_guess(reviewer: Staff, sample) -> None:
    page = inbox_texts(reviewer)
    item = page.split("blorf wuzzle", 1)[1].split("</article>", 1)[0]
    assert "<option selected>ask_price</option>" in item  # ranking past nlu_fallback


def decide(staff: Staff, sender: str, event_id: int, intent: str | None, decision: str = "save"):  # type: ignore[no-untyped-def]
    data = {"sender_id": sender, "event_id": str(event_id), "decision": decision, "back": "/nlu"}
    if intent:
        data["intent"] = intent
    return staff.post("/nlu/decide", data)


def corrections(config) -> list[NluCorrection]:  # type: ignore[no-untyped-def]
    with session_scope(engine_for(config.app_db_url)) as session:
        return list(session.execute(sa.select(NluCorrection)).scalars())


def test_correct_confirm_dismiss_and_undo(reviewer: Staff, sample, config) -> None:
    response = decide(reviewer, "web-fallback", sample["fallback_id"], "ask_price")
    assert response.headers["location"] == "/nlu?notice=decided"
    [row] = corrections(config)
    assert (row.intent, row.status, row.predicted_intent) == ("ask_price", "confirmed", "ask_price")
    assert "blorf wuzzle" not in inbox_texts(reviewer)  # handled
    assert "blorf wuzzle" in inbox_texts(reviewer, "?status=handled")

    decide(reviewer, "web-fallback", sample["fallback_id"], "greet")
    [row] = corrections(config)
    assert (row.intent, row.status) == ("greet", "corrected")

    decide(reviewer, "web-fallback", sample["fallback_id"], None, decision="dismiss")
    [row] = corrections(config)
    assert (row.intent, row.status) == (None, "dismissed")

    reviewer.post("/nlu/undo", {"correction_id": str(row.id), "back": "/nlu"})
    assert corrections(config) == []
    with session_scope(engine_for(config.app_db_url)) as session:
        actions = list(session.execute(sa.select(AuditEntry.action)).scalars())
    assert {"nlu_confirmed", "nlu_corrected", "nlu_dismissed", "nlu_undo"} <= set(actions)


def test_only_domain_intents_are_accepted(reviewer: Staff, sample, config) -> None:
    response = decide(reviewer, "web-fallback", sample["fallback_id"], "made_up_intent")
    assert "error=bad_intent" in response.headers["location"]
    response = decide(reviewer, "web-fallback", sample["fallback_id"], "nlu_fallback")
    assert "error=bad_intent" in response.headers["location"]
    response = decide(reviewer, "web-good", sample["fallback_id"], "greet")  # wrong sender
    assert "error=gone" in response.headers["location"]
    assert corrections(config) == []


def test_back_links_stay_on_the_site(reviewer: Staff, sample) -> None:
    data = {
        "sender_id": "web-fallback",
        "event_id": str(sample["fallback_id"]),
        "intent": "greet",
        "back": "https://evil.example/",
    }
    assert reviewer.post("/nlu/decide", data).headers["location"].startswith("/nlu?")


def parse(text: str):  # type: ignore[no-untyped-def]
    return RasaYAMLReader().reads(text)


def test_export_download_is_valid_rasa_nlu(reviewer: Staff, sample, config) -> None:
    decide(reviewer, "web-fallback", sample["fallback_id"], "ask_price")
    decide(reviewer, "web-good", sample["sauna_id"], "ask_aftercare")
    response = reviewer.client.get("/nlu/export.yml")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    text = response.text
    assert text.startswith('version: "3.1"')
    data = parse(text)
    examples = {m.get("text"): m.get("intent") for m in data.intent_examples}
    # Contact details are replaced before they become training data.
    assert examples == {
        "blorf wuzzle? mail me at someone@example.com or call 0123 456 789": "ask_price",
        "can I go to the sauna after?": "ask_aftercare",
    }
    [sauna] = [m for m in data.intent_examples if "sauna" in m.get("text")]
    assert sauna.get("entities")[0]["entity"] == "activity"
    with session_scope(engine_for(config.app_db_url)) as session:
        assert session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "export_nlu")
        ).first()


def test_nasty_texts_survive_the_export(config, tracker, tmp_path) -> None:
    """Whatever a patient types, the export parses back to the same words, and
    `rasa data validate --fail-on-warnings` accepts it in data/nlu."""
    domain = load_domain(PROJECT_ROOT)
    nasty = [
        'she said "it\'s fine": really? #1 {not json}',
        "[sauna](activity) is fake markup",
        "line one\nline two\twith tab\u2028and separator",
        "  - leading dash and spaces  ",
        "emoji 👩‍⚕️ and accents: é à ü ß 中文",
        "key: value | pipe > more & <b>tags</b> % @user `code` \\ backslash",
        "null",
        "'single quoted'",
        "\x07bell\x00nul control chars",
    ]
    conversation = tracker.conversation("nasty")
    ids = [conversation.user(text, "nlu_fallback", 0.2) for text in nasty]
    engine = engine_for(config.app_db_url)
    with session_scope(engine) as session:
        for text, event_id in zip(nasty, ids, strict=True):
            session.add(
                NluCorrection(
                    sender_id="nasty",
                    event_id=event_id,
                    text=text,
                    intent="out_of_scope",
                    status="corrected",
                    created_by="t",
                )
            )
    result = export_corrections(engine, PROJECT_ROOT, domain)
    yaml.safe_load(result.text)  # plain YAML too
    parsed = [m.get("text") for m in parse(result.text).intent_examples]
    assert len(parsed) == len(nasty)
    assert "(sauna)(activity) is fake markup" in parsed
    assert "line one line two with tab and separator" in parsed
    assert "emoji 👩⚕️ and accents: é à ü ß 中文" in parsed or any("中文" in p for p in parsed)
    assert "bellnul control chars" in parsed
    assert all(not m.get("entities") for m in parse(result.text).intent_examples)
    assert_rasa_validate_accepts(result.text, tmp_path)


def test_entities_with_synonyms_are_annotated() -> None:
    entities = [{"entity": "activity", "start": 13, "end": 20, "value": "exercise"}]
    line = annotate("after that a workout session?", entities, {"activity"})
    assert line == 'after that a [workout]{"entity": "activity", "value": "exercise"} session?'
    [example] = parse(
        f'version: "3.1"\nnlu:\n- intent: ask_aftercare\n  examples: |\n    - {line}\n'
    ).intent_examples
    assert example.get("text") == "after that a workout session?"
    assert example.get("entities")[0]["value"] == "exercise"
    entities = [{"entity": "activity", "start": 10, "end": 15, "value": "sauna"}]
    assert annotate("go to the sauna", entities, {"activity"}) == "go to the [sauna](activity)"
    assert annotate("go to the sauna", entities, set()) == "go to the sauna"
    overlapping = [*entities, {"entity": "activity", "start": 12, "end": 15, "value": "x"}]
    assert annotate("go to the sauna", overlapping, {"activity"}) == "go to the [sauna](activity)"


def test_export_skips_examples_already_in_data_nlu(config, tracker) -> None:
    existing = project_examples(PROJECT_ROOT / "data" / "nlu")
    text, intent = next(iter(existing.items()))
    other = "greet" if intent != "greet" else "goodbye"
    conversation = tracker.conversation("dupes")
    same_id = conversation.user(text, "nlu_fallback", 0.2)
    engine = engine_for(config.app_db_url)
    with session_scope(engine) as session:
        session.add(
            NluCorrection(
                sender_id="dupes",
                event_id=same_id,
                text=text,
                intent=intent,
                status="confirmed",
                created_by="t",
            )
        )
        session.add(
            NluCorrection(
                sender_id="dupes",
                event_id=same_id + 1000,
                text=text,
                intent=other,
                status="corrected",
                created_by="t",
            )
        )
    result = export_corrections(engine, PROJECT_ROOT, load_domain(PROJECT_ROOT))
    assert result.examples == 0 and result.already_present == 1 and result.conflicts == [intent]
    assert "nlu: []" in result.text
    assert parse(result.text).intent_examples == []
