"""Tables of the fact base.

The fact base has its own declarative Base and database (``MESO_FACTS_DB_URL``): it is
rebuilt from YAML by ``python -m bot facts build`` and never holds conversation data,
so it can be replaced wholesale without touching the app database (``bot.db``).
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


class SourceRow(Base):
    __tablename__ = "sources"

    id = Column(String(100), primary_key=True)
    title = Column(Text, nullable=False)
    publisher = Column(Text)
    date = Column(String(40))
    file = Column(Text)  # article file name in the shared sources directory
    position = Column(Integer, nullable=False)


class TopicRow(Base):
    __tablename__ = "topics"

    id = Column(String(60), primary_key=True)
    label = Column(Text, nullable=False)
    keywords = Column(JSON, nullable=False)  # list[str], used by ingest and about()
    position = Column(Integer, nullable=False)


class FactRow(Base):
    __tablename__ = "facts"

    id = Column(String(120), primary_key=True)
    topic = Column(String(60), ForeignKey("topics.id"), nullable=False, index=True)
    text = Column(Text, nullable=False)
    phase = Column(String(10))
    span_min = Column(Float)
    span_max = Column(Float)
    span_unit = Column(String(20))
    priority = Column(Integer, nullable=False)
    position = Column(Integer, nullable=False)  # order in the YAML, the last tie-breaker
    origin = Column(Text, nullable=False)  # "data/facts/file.yml:line" for staff
    hedges = Column(JSON, nullable=False, default=list)  # list[str]: words the text keeps
    claim = Column(String(10))  # "benefit", "risk" or NULL

    citations = relationship(
        "FactSourceRow", order_by="FactSourceRow.position", cascade="all, delete-orphan"
    )
    qualifiers = relationship("FactQualifierRow", cascade="all, delete-orphan")


class FactSourceRow(Base):
    """One citation: a fact, a source, and the evidence terms found in one sentence.

    A fact may cite the same source more than once (two sentences that each support
    it), so the key is a surrogate id.
    """

    __tablename__ = "fact_sources"

    id = Column(Integer, primary_key=True, autoincrement=True)
    fact_id = Column(String(120), ForeignKey("facts.id"), nullable=False, index=True)
    source_id = Column(String(100), ForeignKey("sources.id"), nullable=False, index=True)
    position = Column(Integer, nullable=False)
    evidence = Column(JSON, nullable=False)  # list[str]
    says = Column(Text)  # this source's own claim when sources differ
    span_min = Column(Float)
    span_max = Column(Float)
    span_unit = Column(String(20))


class FactQualifierRow(Base):
    __tablename__ = "fact_qualifiers"

    fact_id = Column(String(120), ForeignKey("facts.id"), primary_key=True)
    kind = Column(String(30), primary_key=True)
    value = Column(String(60), primary_key=True)

    __table_args__ = (Index("ix_fact_qualifiers_kind_value", "kind", "value"),)


class VocabularyRow(Base):
    __tablename__ = "vocabulary"

    kind = Column(String(30), primary_key=True)
    value = Column(String(60), primary_key=True)
    label = Column(Text, nullable=False)
    related = Column(JSON, nullable=False)  # list of "kind:value"
    related_topics = Column(JSON, nullable=False)  # list of topic ids
    position = Column(Integer, nullable=False)


class SynonymRow(Base):
    __tablename__ = "synonyms"

    id = Column(Integer, primary_key=True, autoincrement=True)
    kind = Column(String(30), nullable=False)
    value = Column(String(60), nullable=False)
    text = Column(Text, nullable=False)
    norm = Column(Text, nullable=False, index=True)  # normalised with word_forms


class WordFormRow(Base):
    """Inflected word -> lemma, precomputed with spaCy's lookup tables at build time.

    The query layer runs inside the action server on every message; importing spaCy
    there would cost seconds, so it normalises words with this small table instead.
    """

    __tablename__ = "word_forms"

    form = Column(String(80), primary_key=True)
    lemma = Column(String(80), nullable=False)


class BuildInfoRow(Base):
    __tablename__ = "build_info"

    key = Column(String(40), primary_key=True)
    value = Column(Text, nullable=False)


TABLES_IN_DELETE_ORDER = (
    FactQualifierRow,
    FactSourceRow,
    FactRow,
    SynonymRow,
    VocabularyRow,
    WordFormRow,
    TopicRow,
    SourceRow,
    BuildInfoRow,
)
