"""`supportbot replies list|show NAME`: the saved replies agents can send (replies/ folder).

Registered by bot/cli.py as the `replies` group (`replies_app`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from desk.saved_replies import DEFAULT_ROOT, LANGUAGES, PLACEHOLDERS, SavedReplies, SavedReplyError

replies_app = typer.Typer(help="Saved replies agents send from a ticket.", no_args_is_help=True)

RootOption = Annotated[Path, typer.Option(help="The replies folder.")]


def _load(root: Path) -> SavedReplies:
    try:
        return SavedReplies.load(root)
    except SavedReplyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@replies_app.command("list")
def list_command(root: RootOption = DEFAULT_ROOT) -> None:
    """Every saved reply: its name and its title in each language."""
    replies = _load(root)
    for name in replies.names():
        titles = " · ".join(f"{lang}: {replies.get(name, lang).title}" for lang in LANGUAGES)
        typer.echo(f"{name}\t{titles}")


@replies_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="The reply's name (see `supportbot replies list`).")],
    language: Annotated[str | None, typer.Option(help="en or km; default: every language.")] = None,
    root: RootOption = DEFAULT_ROOT,
) -> None:
    """One saved reply's text with its placeholders, as JSON."""
    if language is not None and language not in LANGUAGES:
        typer.echo(f"error: --language must be one of {', '.join(LANGUAGES)}, not {language!r}", err=True)
        raise typer.Exit(2)
    replies = _load(root)
    try:
        chosen = [replies.get(name, lang) for lang in ([language] if language else LANGUAGES)]
    except SavedReplyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    result = {
        "name": name,
        "placeholders": list(PLACEHOLDERS),
        "texts": {r.language: {"title": r.title, "text": r.text} for r in chosen},
    }
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
