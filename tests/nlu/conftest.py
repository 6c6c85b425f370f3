"""Shared NLU fixtures: the project's training data and one model trained on it per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from supportbot.nlu.embedded import EmbeddedNlu
from supportbot.nlu.training_data import TrainingData, load_training_data

ROOT = Path(__file__).resolve().parents[2]
NLU_DIR = ROOT / "nlu"


@pytest.fixture(scope="session")
def nlu_dir() -> Path:
    """The Rasa project folder shipped with supportbot."""
    return NLU_DIR


@pytest.fixture(scope="session")
def training_data() -> TrainingData:
    """The project's training data, read once."""
    return load_training_data(NLU_DIR)


@pytest.fixture(scope="session")
def model(training_data: TrainingData) -> EmbeddedNlu:
    """The embedded engine trained on the project's data, shared because training takes a second."""
    return EmbeddedNlu.train(training_data)
