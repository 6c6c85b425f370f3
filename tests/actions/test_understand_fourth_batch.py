"""Readings the fourth batch of held-out conversations (conversations_fresh_3.yaml) asked for, with
their neighbours: the shapes of what those customers wrote, not only their sentences."""

from __future__ import annotations

import pytest

from actions.understand import (
    category_in_words,
    read_confirmation,
    read_feelings,
    read_step_answer,
    step_concept,
)
from desk.policy import load_policy

POLICY = load_policy()
STEPS: dict[str, str] = {
    c: step for cat in POLICY.categories.values() for step in cat.troubleshooting if (c := step_concept(step))
}


@pytest.mark.parametrize(
    ("step", "text", "kind"),
    [
        # Who else: devices counted, a colleague's machine, one person's PC.
        ("others_affected", "both front desk computers do it", "yes"),
        ("others_affected", "all three tills do the same", "yes"),
        ("others_affected", "my colleague's laptop too", "yes"),
        ("others_affected", "only her PC as far as we know", "no"),
        ("others_affected", "អ្នកទាំងអស់គ្នាគាំងដូចគ្នា", "yes"),
        ("others_affected", "teang ofis jub doch knea", "yes"),
        # The check that made it work, said with thanks.
        ("restart", "just restarted it and the quotes look normal again, thanks a lot!", "fixed"),
        ("restart", "restarted the app and everything shows up fine now, thank you", "fixed"),
        ("restart", "restarted and the error shows up again", "yes"),
        ("restart", "អូ បិទបើកកុំព្យូទ័រវិញ ឥឡូវឃើញហើយ អរគុណ", "fixed"),
        # Khmer and Romanized "many times already", "looked already".
        ("restart", "restart រាប់មិនអស់ហើយ!!!", "yes"),
        ("restart", "restart ច្រើនដងហើយ", "yes"),
        ("maintenance_window", "merl hz, ot kheunh brakas ey te", "yes"),
        ("maintenance_window", "ot ban merl te", "no"),
        # The internet in Romanized Khmer, and "no problem" that says it works.
        ("internet", "internet brae ban, Facebook chol ban", "yes"),
        ("internet", "internet ot brae ban te", "no"),
        ("internet", "អ៊ីនធឺណិតគ្មានបញ្ហាទេ", "yes"),
        ("internet", "internet has no problem", "yes"),
        ("internet", "no problems with the internet", "yes"),
        # Compared with the order: checked, whatever it found.
        ("invoice_checked", "ok I found our order form, Premium Support isn't on it", "yes"),
        # Not done and asking how: not done is the answer.
        ("password_changed", "មិនទាន់ទេ ខ្ញុំមិនដឹងប្តូរយ៉ាងម៉េចទេ", "no"),
        ("restart", "not yet, how do I restart it?", "no"),
        ("restart", "how do I restart it?", "how_to_check"),
    ],
)
def test_step_answers(step: str, text: str, kind: str) -> None:
    assert read_step_answer(text, STEPS[step]).kind == kind


@pytest.mark.parametrize(
    ("text", "priority"),
    [("ot bontean te", "low"), ("min sov brovap te", "low"), ("bontean nas", "high"), ("mathyum", "medium")],
)
def test_romanized_priorities(text: str, priority: str) -> None:
    read = read_confirmation(text, None)
    assert (read.kind, read.priority) == ("change_priority", priority)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        (
            "a cashier put a USB stick she found in the car park into her PC, now it opens strange windows",
            "security",
        ),
        ("someone pretending to be from the bank asked me for the OTP", "security"),
        ("a caller asked my accountant for the sms code", "security"),
        ("mean ke pheu Telegram mok knhom tha chea staff, sum lek code pi SMS", "security"),
        ("the app asks for a verification code every time I log in", None),
        ("my printer is out of paper", None),
    ],
)
def test_signs_of_an_attack(text: str, category: str | None) -> None:
    assert category_in_words(text) == category


def test_an_application_crash_is_not_an_outage_but_service_unavailable_is() -> None:
    assert not read_feelings("ERP គាំងម្តងទៀតហើយ").outage
    assert read_feelings("the HR portal says Service Unavailable since this morning").outage
