"""The `supportbot` command (docs/reference.md section 1)."""

from __future__ import annotations

import asyncio
import csv
import getpass
import json
import os
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import structlog
import typer
from rich.console import Console
from rich.markup import escape

from bot.customers_cli import customers_export_command, customers_forget_command
from bot.kb_cli import kb_search_command
from bot.lifecycle_cli import tickets_assign_command, tickets_wait_command
from bot.outbox_cli import outbox_list_command, outbox_retry_command
from bot.replies_cli import replies_app
from bot.settings import SettingsError, load_settings
from bot.tickets_cli import tickets_app
from desk.knowledge import KnowledgeError
from desk.policy import PRIORITIES, PolicyError, load_policy

app = typer.Typer(
    help="supportbot: a support desk that lives in chat.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
nlu_app = typer.Typer(help="The NLU: train, parse, benchmark.", no_args_is_help=True)
sla_app = typer.Typer(help="SLA clock.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(nlu_app, name="nlu")
kb_app = typer.Typer(help="Self-service knowledge articles.", no_args_is_help=True)
app.add_typer(sla_app, name="sla")
app.add_typer(kb_app, name="kb")
app.add_typer(replies_app, name="replies")
kb_app.command("search")(kb_search_command)
app.add_typer(tickets_app, name="tickets")
tickets_app.command("wait")(tickets_wait_command)
tickets_app.command("assign")(tickets_assign_command)
outbox_app = typer.Typer(help="Notifications not delivered yet: list, send again.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")

err = Console(stderr=True, soft_wrap=True)  # one line per error, also in logs and CI
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> None:
    """Print one error line (the message is text, never rich markup)."""
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)


def clear_errors(func: F) -> F:
    """A bad setting or policy ends the command with one line naming it, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (SettingsError, PolicyError, KnowledgeError) as exc:
            fail(str(exc))
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


outbox_app.command("list")(clear_errors(outbox_list_command))
outbox_app.command("retry")(clear_errors(outbox_retry_command))
customers_app = typer.Typer(help="One customer's data: export it, or forget it.", no_args_is_help=True)
app.add_typer(customers_app, name="customers")
customers_app.command("export")(clear_errors(customers_export_command))
customers_app.command("forget")(clear_errors(customers_forget_command))


@app.command()
@clear_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=32, help="Worker processes (PostgreSQL only; SQLite takes one writer).")
    ] = 1,
) -> None:
    """Serve the app: web chat, API, metrics and the scheduler."""
    import uvicorn

    from bot.app import create_app
    from bot.logs import configure_logging

    settings = load_settings()
    load_policy(settings.policy_path)  # fail before binding the port when the policy is wrong
    configure_logging(settings.log_level)
    if workers > 1 and settings.database_url.startswith("sqlite"):
        fail("--workers above 1 needs PostgreSQL (DATABASE_URL=postgresql+asyncpg://...)")
        raise typer.Exit(2)
    if workers > 1 and settings.telegram_bot_token and settings.telegram_mode == "polling":
        # Telegram answers a second concurrent getUpdates with 409 Conflict.
        fail("--workers above 1 needs TELEGRAM_MODE=webhook (only one process may poll Telegram)")
        raise typer.Exit(2)
    if workers > 1:
        _share_metrics_between_workers()
        if not settings.redis_url:
            structlog.get_logger(__name__).warning(
                "workers_without_redis",
                workers=workers,
                slow="a reply or notice for a web chat customer whose socket is on another worker waits "
                "for a delivery retry (up to 30 s); abuse limits are counted per worker",
                fix="set REDIS_URL",
            )
    # Several workers each build the app from the environment; the jobs are replica-safe.
    uvicorn.run(
        create_app(settings) if workers == 1 else "bot.cli:worker_app",
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        log_config=None,  # bot.logs formats uvicorn's records with the app's own
        proxy_headers=True,
        lifespan="on",
    )


def _share_metrics_between_workers() -> None:
    """prometheus-client's multiprocess mode for the workers (they start after this, as new
    processes, and read the variable before creating their metrics): /metrics sums them all."""
    import tempfile

    from desk.metrics import MULTIPROCESS_DIR

    if os.environ.get(MULTIPROCESS_DIR):
        folder = Path(os.environ[MULTIPROCESS_DIR])
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):  # a previous run's values would be summed in
            stale.unlink()
    else:
        os.environ[MULTIPROCESS_DIR] = tempfile.mkdtemp(prefix="supportbot-metrics-")


def worker_app() -> Any:
    """The app of one `serve --workers N` process, logging as the parent set up (a fresh process)."""
    from bot.app import create_app
    from bot.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings)


@db_app.command("upgrade")
@clear_errors
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply the database migrations up to REVISION."""
    from storage.migrate import upgrade

    settings = load_settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")


@nlu_app.command("train")
@clear_errors
def nlu_train() -> None:
    """Train the embedded NLU on the training data and save the model."""
    import time

    from nlu import NLU_DIR
    from nlu.embedded import EmbeddedNlu
    from nlu.training_data import load_training_data

    settings = load_settings()
    data_dir = settings.nlu_data_path or NLU_DIR
    started = time.perf_counter()
    model = EmbeddedNlu.train(load_training_data(Path(data_dir)))
    settings.nlu_model_path.parent.mkdir(parents=True, exist_ok=True)
    model.save(settings.nlu_model_path)
    typer.echo(f"trained on {data_dir} in {time.perf_counter() - started:.1f}s → {settings.nlu_model_path}")


@nlu_app.command("parse")
@clear_errors
def nlu_parse(text: Annotated[str, typer.Argument(help="The message to understand.")]) -> None:
    """Print the parse JSON of TEXT (Rasa's format), from the active backend."""
    from bot.services import load_nlu

    settings = load_settings()
    model = asyncio.run(load_nlu(settings))
    typer.echo(json.dumps(asyncio.run(model.parse(text)), ensure_ascii=False, indent=2))


@nlu_app.command("benchmark")
@clear_errors
def nlu_benchmark(
    train: Annotated[Path, typer.Option(help="Training CSV (text,intent).", exists=True, dir_okay=False)],
    test: Annotated[Path, typer.Option(help="Test CSV (text,intent).", exists=True, dir_okay=False)],
    val: Annotated[Path | None, typer.Option(help="Validation CSV for the out-of-scope threshold.")] = None,
    engine: Annotated[
        str, typer.Option(help="embedded (in process) or rasa (a Rasa 3.6 model with nlu/config.yml).")
    ] = "embedded",
    rasa_bin: Annotated[
        Path | None, typer.Option(help="The rasa executable (default: .venv-rasa/bin/rasa, then PATH).")
    ] = None,
    rasa_url: Annotated[
        str | None,
        typer.Option(
            help="Train and measure through this running Rasa server instead of starting one "
            "(it replaces the model that server serves)."
        ),
    ] = None,
) -> None:
    """Train on TRAIN, report accuracy, macro-F1, oos recall and parse latency on TEST as JSON.

    With --engine rasa the CSV is written as Rasa YAML, trained with the shipped nlu/config.yml and parsed through a Rasa server (one it starts on a free port, or --rasa-url), so both engines are measured on the same data. --val only tunes the embedded engine's threshold.
    """
    from nlu.benchmark import run_benchmark

    if engine not in ("embedded", "rasa"):
        fail(f"--engine must be embedded or rasa (got {engine!r})")
        raise typer.Exit(2)
    try:
        if engine == "rasa":
            from nlu import NLU_DIR
            from nlu.rasa_server import find_rasa, run_rasa_benchmark

            result = run_rasa_benchmark(
                train,
                test,
                config=NLU_DIR / "config.yml",
                rasa=find_rasa(rasa_bin),
                rasa_url=rasa_url,
            )
        else:
            result = run_benchmark(train, test, val)
    except (ValueError, UnicodeDecodeError, csv.Error, RuntimeError) as exc:
        fail(str(exc))
        raise typer.Exit(2) from None
    typer.echo(json.dumps(result, indent=2))


@sla_app.command("deadline")
@clear_errors
def sla_deadline(
    priority: Annotated[str, typer.Option(help="critical, high, medium or low.")],
    created: Annotated[str, typer.Option(help="Creation time, ISO 8601 with offset.")],
) -> None:
    """Print the response deadline of a ticket created at CREATED, under the active policy."""
    from desk.sla import SlaClock

    if priority not in PRIORITIES:
        fail(f"--priority must be one of {', '.join(PRIORITIES)}")
        raise typer.Exit(2)
    try:
        when = datetime.fromisoformat(created)
    except ValueError:
        fail(f"--created {created!r} is not ISO 8601")
        raise typer.Exit(2) from None
    if when.tzinfo is None:
        fail("--created needs an offset, e.g. 2026-11-27T16:30:00+07:00")
        raise typer.Exit(2)
    policy = load_policy(load_settings().policy_path)
    due = SlaClock(policy).deadline(priority=priority, created=when)
    typer.echo(due.astimezone(policy.tz).isoformat())


@app.command()
@clear_errors
def chat(
    as_id: Annotated[
        str | None,
        typer.Option(
            "--as",
            "--sender",
            help="Continue as this customer id (default: a new customer each run, as a new web chat is).",
        ),
    ] = None,
) -> None:
    """Talk to the bot in the terminal; type a number to press a button, Ctrl-D to leave."""
    asyncio.run(_chat(as_id or new_chat_id()))


def new_chat_id() -> str:
    """A customer of their own for each terminal session: one login's runs never share tickets."""
    return f"cli-{getpass.getuser()}-{uuid.uuid4().hex[:8]}"


async def _chat(sender: str) -> None:
    from actions.messages import Incoming
    from bot.services import build_services

    out = Console(highlight=False)
    services = await build_services(load_settings())
    buttons: list[str] = []
    out.print(
        f"[dim]Talking to supportbot as {escape(sender)} (--as {escape(sender)} continues this customer). "
        "Type a message; a number presses a button; Ctrl-D leaves.[/dim]"
    )
    try:
        while True:
            try:
                line = await asyncio.to_thread(input, "you> ")
            except EOFError:
                break
            if line.strip().isdigit() and 0 < int(line) <= len(buttons):
                line = buttons[int(line) - 1]
            replies = await services.engine.handle(Incoming(channel="cli", sender=sender, text=line))
            buttons = []
            for reply in replies:
                out.print("bot> " + reply.text, markup=False)
                for button in reply.buttons:
                    buttons.append(button.payload)
                    out.print(f"   [{len(buttons)}] {button.title}", markup=False)
    finally:
        await services.close()


def main() -> None:
    # Logs go to stderr from the start, so `nlu parse` and `sla deadline` print clean stdout.
    from bot.logs import configure_logging

    configure_logging(os.environ.get("SUPPORTBOT_LOG_LEVEL", "INFO"), stdlib=False)
    app(prog_name="supportbot")


if __name__ == "__main__":
    main()
