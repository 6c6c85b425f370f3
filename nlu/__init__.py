"""Understanding customer messages: Rasa-format training data and the embedded engine.

Modules, imported directly so that importing the package stays cheap:
`training_data` (read nlu/*.yml), `embedded` (EmbeddedNlu, load_or_train), `entities` and
`patterns` (entity extraction), `normalize` (text clean-up), `intents` (names the flows rely on),
`benchmark` (run_benchmark for `supportbot nlu benchmark`). The Rasa training data sits beside
them: `data/*.yml`, `config.yml` (the Rasa pipeline) and `domain.yml`.
"""

from pathlib import Path

NLU_DIR = Path(__file__).resolve().parent
"""The folder of the training data (`nlu/`): `data/`, `config.yml`, `domain.yml`."""
