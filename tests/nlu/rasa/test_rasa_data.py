"""nlu/ as Rasa sees it: the domain declares every contract intent and `rasa data validate` accepts it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from nlu.intents import CONTRACT_INTENTS
from nlu.rasa_server import rasa_environment
from nlu.training_data import load_training_data
from tests.helpers import need
from tests.nlu.rasa.conftest import RASA_BIN, ROOT, rasa_installed

NLU = ROOT / "nlu"


def _domain() -> dict[str, list[str]]:
    domain = yaml.safe_load((NLU / "domain.yml").read_text())
    return {
        key: [str(x) if not isinstance(x, dict) else next(iter(x)) for x in domain.get(key, [])]
        for key in ("intents", "entities")
    }


def test_every_contract_intent_is_in_the_rasa_domain() -> None:
    intents = set(_domain()["intents"])
    missing = set(CONTRACT_INTENTS) - intents
    assert not missing, f"nlu/domain.yml lacks contract intents {sorted(missing)}"


def test_the_domain_declares_every_intent_and_entity_the_data_uses() -> None:
    data = load_training_data(NLU)
    domain = _domain()
    assert {intent for _, intent in data.examples} <= set(domain["intents"])
    used = {span.entity for example in data.entity_examples for span in example.entities}
    used |= set(data.regexes) | set(data.lookups)
    assert used <= set(domain["entities"]), f"undeclared entities: {sorted(used - set(domain['entities']))}"


def test_the_config_is_a_rasa_nlu_pipeline_with_a_fallback() -> None:
    config = yaml.safe_load((NLU / "config.yml").read_text())
    names = [step["name"] for step in config["pipeline"]]
    assert "DIETClassifier" in names and "FallbackClassifier" in names
    assert config["language"] == "en"


def test_rasa_data_validate_accepts_nlu(tmp_path: Path) -> None:
    need(rasa_installed(), "Rasa 3.6 in .venv-rasa (make rasa-venv)")
    done = subprocess.run(
        [
            str(RASA_BIN),
            "data",
            "validate",
            "--data",
            "nlu/data",
            "--domain",
            "nlu/domain.yml",
            "--config",
            "nlu/config.yml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=rasa_environment(),
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "ERROR" not in output, output[-3000:]
