"""Intent names other packages rely on, so nobody has to spell them twice."""

from __future__ import annotations

from enum import StrEnum


class Intent(StrEnum):
    """Every intent the conversation acts on: the NLU's, and the buttons' payloads (`/name{...}`)."""

    # docs/reference.md section 4: these names are public surface.
    GREET = "greet"
    GOODBYE = "goodbye"
    AFFIRM = "affirm"
    DENY = "deny"
    THANK_YOU = "thank_you"
    REPORT_TECHNICAL_ISSUE = "report_technical_issue"
    REPORT_BILLING_ISSUE = "report_billing_issue"
    REPORT_INFRASTRUCTURE_ISSUE = "report_infrastructure_issue"
    REPORT_SECURITY_ISSUE = "report_security_issue"
    TICKET_STATUS = "ticket_status"
    WORKING_HOURS = "working_hours"
    CONTACT_CHANNELS = "contact_channels"
    HUMAN_HANDOFF = "human_handoff"
    MAINTENANCE_INFO = "maintenance_info"
    OUT_OF_SCOPE = "out_of_scope"
    # Added by the conversation flows on top of the contract.
    CANCEL = "cancel"
    INFORM = "inform"
    PROBLEM_SOLVED = "problem_solved"
    HELP = "help"
    # Buttons and commands only (never predicted by the NLU).
    REPORT_ISSUE = "report_issue"
    CHOOSE_CATEGORY = "choose_category"
    CHOOSE_PRIORITY = "choose_priority"
    CHANGE_PRIORITY = "change_priority"
    RATE = "rate"
    BACK_TO_BOT = "back_to_bot"
    STOP_ANNOUNCEMENTS = "stop_announcements"
    RESUME_ANNOUNCEMENTS = "resume_announcements"
    FORGET_ME = "forget_me"
    FORGET_CONFIRMED = "forget_confirmed"
    FORGET_CANCEL = "forget_cancel"
    # Rasa's FallbackClassifier says this where the embedded engine says out_of_scope.
    NLU_FALLBACK = "nlu_fallback"


OUT_OF_SCOPE = Intent.OUT_OF_SCOPE.value

CONTRACT_INTENTS: tuple[str, ...] = tuple(
    i.value
    for i in (
        Intent.GREET,
        Intent.GOODBYE,
        Intent.AFFIRM,
        Intent.DENY,
        Intent.THANK_YOU,
        Intent.REPORT_TECHNICAL_ISSUE,
        Intent.REPORT_BILLING_ISSUE,
        Intent.REPORT_INFRASTRUCTURE_ISSUE,
        Intent.REPORT_SECURITY_ISSUE,
        Intent.TICKET_STATUS,
        Intent.WORKING_HOURS,
        Intent.CONTACT_CHANNELS,
        Intent.HUMAN_HANDOFF,
        Intent.MAINTENANCE_INFO,
        Intent.OUT_OF_SCOPE,
    )
)

# Added by the conversation flows on top of the contract.
EXTRA_INTENTS: tuple[str, ...] = tuple(
    i.value for i in (Intent.CANCEL, Intent.INFORM, Intent.PROBLEM_SOLVED, Intent.HELP)
)

REPORT_INTENTS: tuple[str, ...] = tuple(name for name in CONTRACT_INTENTS if name.startswith("report_"))

# Labels that mean "not for us": our own intent and the one public benchmarks use.
OUT_OF_SCOPE_LABELS: frozenset[str] = frozenset({OUT_OF_SCOPE, "oos"})
