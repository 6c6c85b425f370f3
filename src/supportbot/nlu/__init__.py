"""Understanding customer messages: Rasa-format training data and the embedded engine.

Modules, imported directly so that importing the package stays cheap:
`training_data` (read nlu/*.yml), `embedded` (EmbeddedNlu, load_or_train), `entities` and
`patterns` (entity extraction), `normalize` (text clean-up), `intents` (names the flows rely on),
`benchmark` (run_benchmark for `supportbot nlu benchmark`).
"""
