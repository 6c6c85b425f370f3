"""Intent names other packages rely on, so nobody has to spell them twice."""

from __future__ import annotations

OUT_OF_SCOPE = "out_of_scope"

# CONTRACT.md section 4: these names are public surface.
CONTRACT_INTENTS: tuple[str, ...] = (
    "greet",
    "goodbye",
    "affirm",
    "deny",
    "thank_you",
    "report_technical_issue",
    "report_billing_issue",
    "report_infrastructure_issue",
    "report_security_issue",
    "ticket_status",
    "working_hours",
    "contact_channels",
    "human_handoff",
    "maintenance_info",
    OUT_OF_SCOPE,
)

# Added by the conversation flows on top of the contract.
EXTRA_INTENTS: tuple[str, ...] = ("cancel", "inform", "problem_solved", "help")

REPORT_INTENTS: tuple[str, ...] = tuple(name for name in CONTRACT_INTENTS if name.startswith("report_"))

# Labels that mean "not for us": our own intent and the one public benchmarks use.
OUT_OF_SCOPE_LABELS: frozenset[str] = frozenset({OUT_OF_SCOPE, "oos"})
