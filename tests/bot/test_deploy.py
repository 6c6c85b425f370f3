"""The deployment files users run without us: docker-compose.yml, Dockerfile, Makefile, .ci/run.

There is no Docker engine here, so these are validated as data against the code they drive.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from bot.cli import app as cli_app
from bot.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
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


def test_compose_runs_rasa_trained_on_the_mounted_nlu_and_wires_the_app_to_it() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    rasa, app = compose["services"]["rasa"], compose["services"]["app"]
    # The same Rasa release as .venv-rasa (rasa/constraints.txt), so both serve the same models.
    pinned = re.search(r"^rasa==([\d.]+)$", (ROOT / "rasa" / "constraints.txt").read_text(), re.M)
    assert pinned and rasa["image"] == f"rasa/rasa:{pinned.group(1)}-full"
    # ./nlu is mounted, and the command trains exactly what is mounted, then serves the API.
    mounts = {v.split(":")[0]: v.split(":")[1] for v in rasa["volumes"]}
    assert "./nlu" in mounts
    nlu_in_container = mounts["./nlu"]
    workdir = rasa.get("working_dir", "/app")
    command = " ".join(rasa["command"]) if isinstance(rasa["command"], list) else rasa["command"]
    assert rasa["entrypoint"][0].endswith("sh"), "training then serving needs a shell"
    train, _, run = command.partition("&&")
    assert "rasa train nlu" in train
    for flag, path in (("--nlu", "nlu/data"), ("--config", "nlu/config.yml"), ("--domain", "nlu/domain.yml")):
        value = re.search(rf"{flag} (\S+)", train)
        assert value, f"rasa train nlu lacks {flag}"
        absolute = value.group(1) if value.group(1).startswith("/") else f"{workdir}/{value.group(1)}"
        assert absolute == f"{nlu_in_container}/{path.removeprefix('nlu/')}", (flag, absolute)
        assert (ROOT / path).exists()
    out = re.search(r"--out (\S+)", train)
    assert out and re.search(rf"rasa run --enable-api .*-m {re.escape(out.group(1))}", run)
    assert re.search(r"-i 0\.0\.0\.0", run) and re.search(r"-p 5005\b", run)
    # The app asks that server, and starts without waiting for training (it falls back meanwhile).
    env = {k: _substitute(str(v)) for k, v in app["environment"].items()}
    assert env["NLU_BACKEND"] == "rasa" and env["RASA_URL"] == "http://rasa:5005"
    assert app["depends_on"]["rasa"]["condition"] == "service_started"
    settings = load_settings(**env)
    assert (settings.nlu_backend, settings.rasa_url) == ("rasa", "http://rasa:5005")


def test_make_rasa_and_ci_build_the_rasa_venv_from_the_pinned_constraints() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in ("rasa", "rasa-venv", "rasa-validate", "rasa-train"):
        assert re.search(rf"^{target}:", makefile, re.M), f"make {target} is missing"
    script = (ROOT / "rasa" / "rasa.sh").read_text()
    assert "rasa==$RASA_VERSION" in script and '-c "$CONSTRAINTS"' in script
    assert "RASA_VERSION=3.6.21" in script
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make rasa-train" in ci and ci.index("make rasa-train") < ci.rindex("\nmake test")


def test_the_dockerfile_extras_exist() -> None:
    """`docker build --build-arg EXTRAS=embeddings` names an extra pyproject.toml has."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    named = re.findall(r"--build-arg EXTRAS=(\w+)", dockerfile)
    assert named and all(name in extras for name in named)
    assert 'ARG EXTRAS=""' in dockerfile and '".${EXTRAS:+[$EXTRAS]}"' in dockerfile
