"""Staff web app: conversation review, NLU inbox, handoff queue, privacy tools.

`bot.staff.app.create_app()` builds the Starlette app; docs/staff-app.md explains it.
"""
