"""The fact base: curated, cited facts from the source articles (see docs/facts.md).

Read it through ``bot.facts.query.FactBase``; rebuild it with ``python -m bot facts build``.
"""
