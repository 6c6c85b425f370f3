"""The Rasa training data under nlu/: contract intents, enough examples, markup Rasa would accept."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from nlu import patterns
from nlu.entities import EntityExtractor
from nlu.intents import CONTRACT_INTENTS, EXTRA_INTENTS, REPORT_INTENTS
from nlu.training_data import TrainingData, annotation_problems, load_training_data

# Components of Rasa 3.6 the pipeline may name (a typo would only show up when someone runs Rasa).
RASA_COMPONENTS = {
    "WhitespaceTokenizer",
    "RegexFeaturizer",
    "LexicalSyntacticFeaturizer",
    "CountVectorsFeaturizer",
    "DIETClassifier",
    "RegexEntityExtractor",
    "EntitySynonymMapper",
    "FallbackClassifier",
    "ResponseSelector",
}
RASA_POLICIES = {"MemoizationPolicy", "RulePolicy", "TEDPolicy", "UnexpecTEDIntentPolicy"}


def _yaml_files(nlu_dir: Path) -> list[Path]:
    """Every YAML file of the Rasa project."""
    return sorted(nlu_dir.rglob("*.yml"))


def _raw_examples(nlu_dir: Path) -> list[tuple[str, str]]:
    """(raw example with markup, intent) straight from the files, before any parsing of ours."""
    found = []
    for path in _yaml_files(nlu_dir / "data"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            if "intent" in block:
                for line in block["examples"].splitlines():
                    if line.strip():
                        assert line.strip().startswith("- "), f"{path}: {line!r}"
                        found.append((line.strip()[2:], block["intent"]))
    return found


def _domain(nlu_dir: Path) -> dict[str, Any]:
    """The Rasa domain as a mapping."""
    return yaml.safe_load((nlu_dir / "domain.yml").read_text(encoding="utf-8"))


def test_every_yaml_file_parses_and_is_rasa_3_1(nlu_dir: Path) -> None:
    for path in _yaml_files(nlu_dir):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(document, dict), path
        if path.name != "config.yml":
            assert document.get("version") == "3.1", path


@pytest.mark.parametrize("intent", CONTRACT_INTENTS + EXTRA_INTENTS)
def test_intent_exists_with_enough_examples(training_data: TrainingData, intent: str) -> None:
    counts = Counter(name for _, name in training_data.examples)
    assert counts[intent] >= (40 if intent in REPORT_INTENTS else 20), (intent, counts[intent])


def test_report_intents_are_the_four_categories() -> None:
    assert set(REPORT_INTENTS) == {
        "report_technical_issue",
        "report_billing_issue",
        "report_infrastructure_issue",
        "report_security_issue",
    }


def test_no_example_is_repeated_or_labelled_twice(training_data: TrainingData) -> None:
    # `rasa data validate` fails on an example that belongs to two intents.
    seen: dict[str, str] = {}
    for text, intent in training_data.examples:
        key = " ".join(text.lower().split())
        assert key not in seen, f"{text!r} is in {seen.get(key)} and {intent}"
        seen[key] = intent


def test_annotations_are_well_formed(nlu_dir: Path) -> None:
    problems = [problem for raw, _ in _raw_examples(nlu_dir) for problem in annotation_problems(raw)]
    assert not problems


def test_annotated_entities_are_declared_in_the_domain(training_data: TrainingData, nlu_dir: Path) -> None:
    used = {span.entity for example in training_data.entity_examples for span in example.entities}
    assert used <= set(_domain(nlu_dir)["entities"])
    assert {"email", "phone", "ticket_id", "name"} <= used


def test_domain_lists_exactly_the_intents_of_the_data(training_data: TrainingData, nlu_dir: Path) -> None:
    domain = _domain(nlu_dir)
    assert domain["version"] == "3.1"
    assert set(domain["intents"]) == set(training_data.intents)
    assert set(CONTRACT_INTENTS) <= set(domain["intents"])
    assert set(training_data.regexes) | set(training_data.lookups) <= set(domain["entities"])


def test_regexes_compile_and_match_the_engine_patterns(training_data: TrainingData) -> None:
    assert set(patterns.DEFAULT_REGEXES) <= set(training_data.regexes)
    for name, pattern_list in training_data.regexes.items():
        for pattern in pattern_list:
            re.compile(pattern)
        if name in patterns.DEFAULT_REGEXES:
            assert pattern_list == patterns.DEFAULT_REGEXES[name], (
                f"entities.yml and patterns.py differ on {name}"
            )


def test_entity_annotations_agree_with_the_regexes_and_lookups(training_data: TrainingData) -> None:
    # Rasa's DIET learns from annotations: a phone or product left unannotated would teach it the opposite.
    extractor = EntityExtractor(training_data.regexes, training_data.lookups, training_data.synonyms)
    annotated = {example.text: example for example in training_data.entity_examples}
    for text, intent in training_data.examples:
        found = {
            (e["start"], e["end"], e["entity"]) for e in extractor.extract(text) if e["entity"] != "name"
        }
        spans = annotated[text].entities if text in annotated else ()
        wanted = {(s.start, s.end, s.entity) for s in spans if s.entity != "name"}
        assert found == wanted, (intent, text)


def test_synonyms_point_to_lookup_values(training_data: TrainingData) -> None:
    products = {value.lower() for value in training_data.lookups["product"]}
    for variant, canonical in training_data.synonyms.items():
        assert variant in products or canonical.lower() in products, (variant, canonical)


def test_config_is_a_valid_looking_rasa_3_6_pipeline(nlu_dir: Path) -> None:
    config = yaml.safe_load((nlu_dir / "config.yml").read_text(encoding="utf-8"))
    assert isinstance(config, dict)
    assert config["language"] == "en"
    assert config["recipe"] == "default.v1"
    assert config["assistant_id"]
    names = [component["name"] for component in config["pipeline"]]
    assert set(names) <= RASA_COMPONENTS
    assert names[0] == "WhitespaceTokenizer"
    assert "DIETClassifier" in names and "FallbackClassifier" in names
    assert {policy["name"] for policy in config["policies"]} <= RASA_POLICIES


def test_loader_reads_a_single_file_and_skips_rasa_config(tmp_path: Path) -> None:
    (tmp_path / "config.yml").write_text("recipe: default.v1\nlanguage: en\npipeline: []\n")
    (tmp_path / "domain.yml").write_text('version: "3.1"\nintents: [greet]\n')
    data_file = tmp_path / "data.yml"
    data_file.write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi [Dara](name)\n'
        '    - yo [odo]{"entity": "product", "value": "Odoo"}\n'
        "- regex: ticket_id\n  examples: |\n    - \\d+\n"
        "- lookup: product\n  examples: |\n    - Odoo\n"
        "- synonym: POS\n  examples: |\n    - point of sale\n"
    )
    for source in (tmp_path, data_file):
        data = load_training_data(source)
        assert data.examples == [("hi Dara", "greet"), ("yo odo", "greet")]
        span = data.entity_examples[0].entities[0]
        assert (span.start, span.end, span.entity, span.value) == (3, 7, "name", "Dara")
        assert data.regexes == {"ticket_id": [r"\d+"]}
        assert data.lookups == {"product": ["Odoo"]}
        assert data.synonyms == {"odo": "Odoo", "point of sale": "POS"}


def test_malformed_yaml_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("nlu:\n- intent: greet\n  examples: [unclosed\n")
    with pytest.raises(ValueError, match=r"broken\.yml"):
        load_training_data(tmp_path)


def test_a_folder_without_training_data_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such"):
        load_training_data(tmp_path / "missing")


@pytest.mark.parametrize(
    ("raw", "bad"),
    [("my name is [Dara](name)", False), ("my name is [Dara(name)", True), ("it is [x](Bad Entity)", True)],
)
def test_annotation_problems_spot_broken_markup(raw: str, bad: bool) -> None:
    assert bool(annotation_problems(raw)) is bad
