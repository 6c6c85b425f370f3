"""`supportbot kb search "TEXT"`: the knowledge articles a customer's words would get, as JSON.

The body of the command only; bot/cli.py registers it (`kb_app.command("search")(kb_search_command)`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from desk.knowledge import DEFAULT_ROOT, LANGUAGES, KnowledgeBase, KnowledgeError


def kb_search_command(
    text: Annotated[str, typer.Argument(help="The customer's words.")],
    language: Annotated[str, typer.Option(help="Language of the articles: en or km.")] = "en",
    limit: Annotated[int, typer.Option(min=1, max=5, help="At most this many articles.")] = 2,
    all_scores: Annotated[
        bool, typer.Option("--all", help="Every article with its score, ignoring the threshold.")
    ] = False,
    root: Annotated[Path, typer.Option(help="The knowledge folder.")] = DEFAULT_ROOT,
) -> None:
    """Search the self-service articles; print the matches (none below the threshold) as JSON."""
    if language not in LANGUAGES:
        typer.echo(f"error: --language must be one of {', '.join(LANGUAGES)}, not {language!r}", err=True)
        raise typer.Exit(2)
    try:
        kb = KnowledgeBase.load(root)
    except KnowledgeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    found = kb.scores(text, language) if all_scores else kb.search(text, language, limit=limit)
    result = {
        "language": language,
        "threshold": kb.thresholds[language],
        "matches": [
            {"slug": m.article.slug, "title": m.article.title, "url": m.article.url, "score": m.score}
            for m in found
        ],
    }
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
