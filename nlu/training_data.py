"""Read Rasa 3.x NLU YAML so the embedded engine trains on the very files a Rasa model would."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Files in nlu/ that are Rasa configuration, never training data.
_NOT_TRAINING_DATA = frozenset({"config.yml", "config.yaml", "domain.yml", "domain.yaml", "endpoints.yml"})

# `[text](entity)`, `[text](entity:value)` or `[text]{"entity": "...", "value": "..."}` as Rasa writes them.
ANNOTATION = re.compile(
    r"\[(?P<text>[^\[\]]+?)\](?:\((?P<entity>[^():]+?)(?::(?P<value>[^()]+))?\)|(?P<json>\{[^{}]+?\}))"
)


@dataclass(frozen=True)
class EntitySpan:
    """One annotated entity inside a plain training example."""

    start: int
    end: int
    entity: str
    value: str


@dataclass(frozen=True)
class EntityExample:
    """A training example that carries entity annotations, kept for extractors and data checks."""

    text: str
    intent: str
    entities: tuple[EntitySpan, ...]


@dataclass(frozen=True)
class TrainingData:
    """Everything the `nlu:` sections hold, with annotation markup already removed from the texts."""

    examples: list[tuple[str, str]]
    entity_examples: list[EntityExample] = field(default_factory=list)
    regexes: dict[str, list[str]] = field(default_factory=dict)
    lookups: dict[str, list[str]] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)

    @property
    def intents(self) -> list[str]:
        """Intent names in first-seen order, for domain checks and reports."""
        return list(dict.fromkeys(intent for _, intent in self.examples))

    def fingerprint(self, *extra: object) -> str:
        """Hash of the content (plus engine settings) so a saved model can tell it is stale."""
        payload = {
            "examples": self.examples,
            "entities": [
                [ex.text, ex.intent, [[s.start, s.end, s.entity, s.value] for s in ex.entities]]
                for ex in self.entity_examples
            ],
            "regexes": self.regexes,
            "lookups": self.lookups,
            "synonyms": self.synonyms,
            "extra": [repr(item) for item in extra],
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()


def parse_annotated(raw: str) -> tuple[str, tuple[EntitySpan, ...]]:
    """Strip Rasa entity markup from one example, keeping where each entity sits in the plain text."""
    parts: list[str] = []
    spans: list[EntitySpan] = []
    position = 0
    length = 0
    for match in ANNOTATION.finditer(raw):
        before = raw[position : match.start()]
        parts.append(before)
        length += len(before)
        text = match.group("text")
        entity, value = _entity_and_value(match)
        spans.append(EntitySpan(length, length + len(text), entity, value if value is not None else text))
        parts.append(text)
        length += len(text)
        position = match.end()
    parts.append(raw[position:])
    return "".join(parts), tuple(spans)


def _entity_and_value(match: re.Match[str]) -> tuple[str, str | None]:
    """Entity name and optional synonym value from either annotation form."""
    if match.group("json"):
        try:
            spec = json.loads(match.group("json"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"bad entity annotation {match.group(0)!r}: {exc}") from exc
        if not isinstance(spec, dict) or not isinstance(spec.get("entity"), str):
            raise ValueError(f"bad entity annotation {match.group(0)!r}: needs an 'entity' key")
        value = spec.get("value")
        return spec["entity"].strip(), str(value) if value is not None else None
    value = match.group("value")
    return match.group("entity").strip(), value.strip() if value else None


def annotation_problems(raw: str) -> list[str]:
    """Why an example's markup would confuse Rasa (empty when it is well-formed)."""
    problems = []
    plain, spans = parse_annotated(raw)
    if re.search(r"\]\(|\]\{|\[[^\]]*$", plain):
        problems.append(f"unbalanced or malformed annotation in {raw!r}")
    for span in spans:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", span.entity):
            problems.append(f"odd entity name {span.entity!r} in {raw!r}")
        if plain[span.start : span.end] != plain[span.start : span.end].strip():
            problems.append(f"entity text with surrounding spaces in {raw!r}")
    return problems


def _example_lines(block: Any, source: Path) -> list[str]:
    """Example strings from a Rasa `examples:` value (a `- ` list in a string, or text mappings)."""
    if isinstance(block, str):
        lines = []
        for line in block.splitlines():
            stripped = line.strip()
            if stripped.startswith("- "):
                lines.append(stripped[2:].strip())
            elif stripped == "-":
                continue
            elif stripped:
                raise ValueError(f"{source}: example line does not start with '- ': {stripped!r}")
        return [line for line in lines if line]
    if isinstance(block, list):
        return [str(item["text"]).strip() for item in block if isinstance(item, dict) and "text" in item]
    raise ValueError(f"{source}: 'examples' must be a '- ' list in a string, got {type(block).__name__}")


def _read_yaml(path: Path) -> Any:
    """Load one YAML file, naming it when it is broken."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: malformed YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text: {exc}") from exc


def _training_files(path: Path) -> list[Path]:
    """The YAML files to read: one file, or every data file in a folder tree."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ValueError(f"{path}: no such NLU data file or folder")
    files = [p for p in sorted(path.rglob("*")) if p.suffix in {".yml", ".yaml"} and p.is_file()]
    return [p for p in files if p.name not in _NOT_TRAINING_DATA]


def load_training_data(path: Path) -> TrainingData:
    """Merge all Rasa NLU YAML under `path` (a folder or a single file) into one TrainingData."""
    examples: list[tuple[str, str]] = []
    entity_examples: list[EntityExample] = []
    regexes: dict[str, list[str]] = {}
    lookups: dict[str, list[str]] = {}
    synonyms: dict[str, str] = {}
    path = Path(path)
    for file in _training_files(path):
        document = _read_yaml(file)
        if not isinstance(document, dict) or "nlu" not in document:
            if path.is_file():
                raise ValueError(f"{file}: no 'nlu:' key, so not Rasa NLU training data")
            continue
        sections = document["nlu"] or []
        if not isinstance(sections, list):
            raise ValueError(f"{file}: 'nlu' must be a list of intent/regex/lookup/synonym blocks")
        for section in sections:
            if not isinstance(section, dict):
                raise ValueError(f"{file}: every 'nlu' item must be a mapping, got {section!r}")
            lines = _example_lines(section.get("examples", ""), file)
            if "intent" in section:
                intent = str(section["intent"])
                for raw in lines:
                    try:
                        text, spans = parse_annotated(raw)
                    except ValueError as exc:
                        raise ValueError(f"{file}: {exc}") from exc
                    examples.append((text, intent))
                    if spans:
                        entity_examples.append(EntityExample(text, intent, spans))
                        for span in spans:
                            if span.value != text[span.start : span.end]:
                                synonyms[text[span.start : span.end].lower()] = span.value
            elif "regex" in section:
                regexes.setdefault(str(section["regex"]), []).extend(lines)
            elif "lookup" in section:
                lookups.setdefault(str(section["lookup"]), []).extend(lines)
            elif "synonym" in section:
                canonical = str(section["synonym"])
                for variant in lines:
                    synonyms[variant.lower()] = canonical
            else:
                raise ValueError(f"{file}: unknown 'nlu' block with keys {sorted(section)}")
    return TrainingData(examples, entity_examples, regexes, lookups, synonyms)
