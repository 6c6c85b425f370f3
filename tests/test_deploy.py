"""The deployment files users run without us: docker-compose.yml, Dockerfile, Makefile, .ci/run.

There is no Docker engine here, so these are validated as data against the code they drive.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from supportbot.bot.cli import app as cli_app
from supportbot.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
_VAR = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::-(?P<default>[^}]*))?\}")


def _substitute(value: str) -> str:
    """Compose's `${VAR:-default}` with nothing set in the environment."""
    return _VAR.sub(lambda m: m.group("default") or "", value)


def test_compose_runs_the_app_on_postgres_after_the_database_is_healthy() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"app", "db"}
    app, db = services["app"], services["db"]
    assert app["build"] == "."
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert "healthcheck" in db and db["image"].startswith("postgres:")
    assert "8000:8000" in app["ports"]
    env = {k: _substitute(str(v)) for k, v in app["environment"].items()}
    url = env["DATABASE_URL"]
    assert url.startswith("postgresql+asyncpg://supportbot:") and url.endswith("@db:5432/supportbot")
    # The database named in the URL is the one the db service creates.
    assert db["environment"]["POSTGRES_DB"] == "supportbot"
    assert db["environment"]["POSTGRES_USER"] == "supportbot"


def test_compose_environment_is_accepted_by_the_settings() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = {k: _substitute(str(v)) for k, v in compose["services"]["app"]["environment"].items()}
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert set(env) <= aliases, f"unknown settings in compose: {set(env) - aliases}"
    settings = load_settings(**env)
    assert settings.database_url == env["DATABASE_URL"]
    assert settings.api_token is None  # an empty variable means unset, not an invalid token


def test_dockerfile_copies_what_exists_and_runs_real_commands() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            *sources, _dest = line.split()[1:]
            for source in sources:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    commands = {c.name or c.callback.__name__ for c in cli_app.registered_commands if c.callback}
    commands |= {g.name for g in cli_app.registered_groups if g.name}
    for used in re.findall(r"supportbot (\w+)", dockerfile):
        assert used in commands, f"Dockerfile runs unknown command supportbot {used}"
    assert "EXPOSE 8000" in dockerfile and "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile


def test_ci_runs_make_test_with_ci_true() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert "export CI=true" in script and "make test" in script
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
