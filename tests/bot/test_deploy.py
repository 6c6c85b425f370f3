"""The deployment files users run without us: docker-compose.yml, Dockerfile, Makefile, .ci/run.

There is no Docker engine here, so these are validated as data against the code they drive.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml
from compose_spec import PyCompose

from bot.cli import app as cli_app
from bot.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
_VAR = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::-(?P<default>[^}]*))?\}")


def _substitute(value: str) -> str:
    """Compose's `${VAR:-default}` with nothing set in the environment."""
    return _VAR.sub(lambda m: m.group("default") or "", value)


def test_compose_is_a_valid_compose_file() -> None:
    """Checked by a parser of the Compose specification (no Docker engine runs here)."""
    compose = PyCompose.from_yaml((ROOT / "docker-compose.yml").read_text())
    assert set(compose.service_names()) >= {"app", "db", "redis", "proxy", "migrate"}


def test_compose_runs_two_replicas_on_postgres_and_redis_after_one_migration() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    app, db, redis, migrate = services["app"], services["db"], services["redis"], services["migrate"]
    assert app["build"] == "." and app["deploy"]["replicas"] >= 2
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert app["depends_on"]["redis"]["condition"] == "service_healthy"
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert migrate["command"] == ["supportbot", "db", "upgrade"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert "healthcheck" in db and db["image"].startswith("postgres:")
    assert "healthcheck" in redis and redis["image"].startswith("redis:")
    assert "ports" not in app, "replicas are reached through the proxy only"
    env = {k: _substitute(str(v)) for k, v in app["environment"].items()}
    assert migrate["environment"] == app["environment"]
    url = env["DATABASE_URL"]
    assert url.startswith("postgresql+asyncpg://supportbot:") and url.endswith("@db:5432/supportbot")
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    # The database named in the URL is the one the db service creates.
    assert db["environment"]["POSTGRES_DB"] == "supportbot"
    assert db["environment"]["POSTGRES_USER"] == "supportbot"
    # Several replicas cannot all poll Telegram.
    assert env["TELEGRAM_MODE"] == "webhook"


def test_compose_proxy_balances_every_replica_with_sticky_sessions() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    proxy = compose["services"]["proxy"]
    assert proxy["image"].startswith("caddy:")
    assert "8000:8000" in proxy["ports"]
    mounts = {v.split(":")[0]: v.split(":")[1] for v in proxy["volumes"]}
    assert mounts["./deploy/Caddyfile"] == "/etc/caddy/Caddyfile"
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert re.search(r"^:8000 \{", caddyfile, re.M)
    # Every replica of the `app` service on its port, found again as replicas come and go.
    assert re.search(r"dynamic a app 8000\b", caddyfile)
    # socket.io's long-polling requests of one session must reach one replica.
    assert re.search(r"lb_policy cookie\b", caddyfile)


KUBERNETES = ROOT / "deploy" / "kubernetes"


def _manifests() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


def test_kubernetes_manifests_validate_against_the_api_schema() -> None:
    manifests = _manifests()
    assert {m["kind"] for m in manifests} >= {"Deployment", "Service", "HorizontalPodAutoscaler", "Job"}
    for manifest in manifests:
        kubernetes_validate.validate(manifest, desired_version="1.30", strict=True)
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert all((KUBERNETES / name).exists() for name in kustomization["resources"])


def test_kubernetes_runs_the_app_command_migrates_in_a_job_and_scales() -> None:
    by_kind = {m["kind"]: m for m in _manifests()}
    job = by_kind["Job"]["spec"]["template"]["spec"]["containers"][0]
    assert job["command"] == ["supportbot", "db", "upgrade"]
    deployment = by_kind["Deployment"]
    assert deployment["spec"]["replicas"] >= 2
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["ports"][0]["containerPort"] == 8000
    hpa = by_kind["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == deployment["metadata"]["name"] and hpa["minReplicas"] >= 2
    service = by_kind["Service"]["spec"]
    assert service["selector"] == deployment["spec"]["selector"]["matchLabels"]
    secret = by_kind["Secret"]["stringData"]
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert set(secret) <= aliases, f"unknown settings in the example secret: {set(secret) - aliases}"


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
