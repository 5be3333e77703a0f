"""``python -m bot facts build | ingest | coverage | show``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli import CommandGroup
from bot.config import get_settings


def _default_facts_dir() -> Path:
    return get_settings().project_root / "data" / "facts"


def _build(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from bot.facts.build import build
    from bot.facts.loader import CurationError

    db_url = args.db_url or get_settings().facts_db_url
    try:
        build(args.facts_dir, db_url, sources_yml=args.sources_yml)
    except CurationError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        shown = make_url(db_url).render_as_string()
        print(
            f"Build failed with {len(exc.problems)} problem(s); "
            f"the fact base at {shown} was left unchanged.",
            file=sys.stderr,
        )
        return 1
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from bot.facts.ingest import review_document, write_review
    from bot.facts.loader import CurationError, load_curation

    if not args.article.is_file():
        print(f"{args.article}: article not found", file=sys.stderr)
        return 2
    try:
        curation = load_curation(args.facts_dir)
    except CurationError as exc:
        print(exc, file=sys.stderr)
        print("Fix data/facts/ first: ingest tags sentences with its vocabulary.", file=sys.stderr)
        return 1
    out = args.out or get_settings().var_dir / "ingest" / f"{args.source_id}.review.yml"
    print(f"Reading {args.article} with the project's spaCy pipeline")
    document = review_document(args.article, args.source_id, args.title, curation)
    write_review(document, out)
    summary = document["summary"]
    print(
        f"{summary['sentences']} sentences, {summary['fact_bearing']} fact-bearing, "
        f"{summary['with_topic']} with a candidate topic, "
        f"{summary['already_covered']} already cited by facts"
    )
    print(f"Review file written to {out}")
    return 0


def _coverage(args: argparse.Namespace) -> int:
    from bot.facts.coverage import ArticlesMissing, check_coverage, format_report, load_articles
    from bot.facts.loader import CurationError, load_curation

    try:
        curation = load_curation(args.facts_dir)
    except CurationError as exc:
        print(exc, file=sys.stderr)
        return 1
    sources_dir = args.sources or get_settings().sources_dir
    try:
        articles = load_articles(sources_dir, list(curation.sources))
    except ArticlesMissing as exc:
        print(exc, file=sys.stderr)
        return 2
    report = check_coverage(curation, articles)
    print(format_report(report, show_facts=not args.problems_only))
    return 0 if report.ok else 1


def _show(args: argparse.Namespace) -> int:
    from bot.facts.query import FactBase, FactBaseMissing

    try:
        fact_base = FactBase.from_settings()
    except FactBaseMissing as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.about:
        facts = fact_base.about(args.about)
    else:
        if args.topic not in fact_base.topics():
            print(f"unknown topic {args.topic!r}; topics: {', '.join(fact_base.topics())}")
            return 2
        qualifiers = dict(item.split("=", 1) for item in args.qualifier)
        facts = fact_base.facts_for(args.topic, qualifiers, limit=args.limit)
    for fact in facts[: args.limit]:
        print(f"{fact.id}  [{fact.topic}, priority {fact.priority}]  {fact.origin}")
        print(f"  {fact.text}")
        for source, says in fact.who_says():
            print(f"  - {source.label}: {says}")
        print(f"  Sources: {', '.join(source.label for source in fact.sources)}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    group = CommandGroup(subparsers, "facts", "the fact base: build, ingest, coverage")

    build = group.add("build", _build, "validate data/facts/ and rebuild the fact base")
    build.add_argument("--facts-dir", type=Path, default=_default_facts_dir())
    build.add_argument(
        "--sources-yml",
        type=Path,
        default=None,
        help="source metadata (default: FACTS_DIR/sources.yml)",
    )
    build.add_argument("--db-url", default=None, help="default: MESO_FACTS_DB_URL")

    ingest = group.add("ingest", _ingest, "tag a new article; write a review file")
    ingest.add_argument("article", type=Path, metavar="ARTICLE.txt")
    ingest.add_argument("--source-id", required=True, help="id for data/facts/sources.yml")
    ingest.add_argument("--title", required=True)
    ingest.add_argument(
        "--out", type=Path, default=None, help="default: var/ingest/SOURCE_ID.review.yml"
    )
    ingest.add_argument("--facts-dir", type=Path, default=_default_facts_dir())

    coverage = group.add(
        "coverage", _coverage, "check evidence and list article sentences no fact covers"
    )
    coverage.add_argument(
        "--sources",
        type=Path,
        default=None,
        help="articles + sources.yml (default: MESO_SOURCES_DIR)",
    )
    coverage.add_argument("--facts-dir", type=Path, default=_default_facts_dir())
    coverage.add_argument(
        "--problems-only", action="store_true", help="skip the per-fact support listing"
    )

    show = group.add("show", _show, "print facts as the bot would rank them")
    show.add_argument("topic", nargs="?", default="what_is")
    show.add_argument(
        "--qualifier", action="append", default=[], metavar="KIND=VALUE", help="e.g. activity=sauna"
    )
    show.add_argument("--about", default=None, help="everything about a term instead")
    show.add_argument("--limit", type=int, default=5)
