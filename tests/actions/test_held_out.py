"""The held-out whole conversations (tests/actions/conversations.yaml) through the flows.

Each is a customer's opening message and natural answers, driven by bench/conversations.py the way
a customer answers whatever the bot asks; each must end at the expected ticket (category, priority
band, answers recorded, the words kept, the sentiment), solved by self-service, or with a person.
"""

from __future__ import annotations

from typing import Any

from bench.conversations import load_cases, run_all
from bot.services import Services
from nlu import NLU_DIR
from nlu.training_data import load_training_data

CASES = load_cases()


def test_the_held_out_conversations_are_not_training_data() -> None:
    trained = {text.lower().strip() for text, _ in load_training_data(NLU_DIR).examples}
    # Bare answers ("yes", "not sure") are trained, of course; sentences are not.
    answers = [str(a) for c in CASES for a in c.get("checks", []) if len(str(a).split()) > 3]
    said = [c["opening"] for c in CASES] + answers
    assert [s for s in said if s.lower().strip() in trained] == []


async def test_every_held_out_conversation_reaches_the_right_ticket(
    sqlite_services: Services,
) -> None:
    cases: list[dict[str, Any]] = CASES
    results = await run_all(sqlite_services, cases)
    wrong = {r.case: r.problems for r in results if not r.ok}
    assert len(results) == len(cases) >= 35
    assert wrong == {}, "\n".join(f"{k}: {v}" for k, v in wrong.items())
