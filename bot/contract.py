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
