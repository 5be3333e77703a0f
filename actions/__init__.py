"""Custom actions for the Meso Assistant action server (``rasa run actions``).

One module per concern:

- ``session``: session start with the disclaimer greeting;
- ``answering`` (+ ``composer``, ``qualifiers``, ``next_questions``): answers from the
  fact base, with citations, buttons and the ``answer_meta`` payload;
- ``personal_medical``: general facts next to a personal medical question;
- ``handoff`` (+ ``forms``, ``contact``): urgent alerts, the handoff form and its
  stored request.
"""
