"""Names shared by the NLU pipeline, the action server and the staff app.

Kept free of Rasa imports so the action server and the staff app can use it cheaply.
"""

from __future__ import annotations

# Parse-data keys added by bot.rasa_ext.fact_ranker.FactRanker.
FACT_RANKING_KEY = "fact_ranking"
QUESTION_PARTS_KEY = "question_parts"
# Parse-data key, entity and intent of bot.rasa_ext.language.LanguageDetector.
LANGUAGE_KEY = "meso_language"
LANGUAGE_ENTITY = "language"
OTHER_LANGUAGE_INTENT = "other_language"

# The red-flag guard's intent (bot.rasa_ext.components) and the domain response that
# answers it; a paused conversation still gets it (bot.channels.takeover).
URGENT_INTENT = "report_urgent"
URGENT_CARE_RESPONSE = "utter_urgent_care"

# Live staff takeover (bot.channels.takeover on the Rasa side, bot.staff.takeover in the
# staff app). The staff app calls Rasa's HTTP API with this token; Rasa sends staff
# messages through the output channel of this name.
RASA_API_TOKEN_ENV = "MESO_RASA_API_TOKEN"
TAKEOVER_OUTPUT_CHANNEL = "takeover"
# socket.io event the widget shows as "staff typing…".
STAFF_TYPING_EVENT = "staff_typing"
# `kind` of the custom payloads that follow takeover messages (widget states), and the
# bot-event metadata key that names the staff account behind a message.
TAKEOVER_KIND = "takeover"
STAFF_MESSAGE_KIND = "staff_message"
STAFF_METADATA_KEY = "staff"
