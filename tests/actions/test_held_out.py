"""The held-out whole conversations through the flows: tests/actions/conversations.yaml and the
later batches conversations_fresh.yaml, conversations_fresh_2.yaml and conversations_fresh_3.yaml,
each written before the flows were looked at for it.

Each is a customer's opening message and natural answers, driven by bench/conversations.py the way
a customer answers whatever the bot asks; each must end at the expected ticket (category, priority
band, answers recorded, the words kept, the sentiment), solved by self-service, or with a person.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.conversations import load_cases, run_all
from bot.services import Services
from nlu import NLU_DIR
from nlu.training_data import load_training_data

HERE = Path(__file__).parent
# Each file, and the fewest conversations it must hold.
BATCHES = {
    "conversations.yaml": 35,
    "conversations_fresh.yaml": 15,
    "conversations_fresh_2.yaml": 25,
    "conversations_fresh_3.yaml": 30,
}


@pytest.mark.parametrize("batch", BATCHES)
def test_the_held_out_conversations_are_not_training_data(batch: str) -> None:
    cases = load_cases(HERE / batch)
    trained = {text.lower().strip() for text, _ in load_training_data(NLU_DIR).examples}
    # Bare answers ("yes", "not sure") are trained, of course; sentences are not.
    answers = [str(a) for c in cases for a in c.get("checks", []) if len(str(a).split()) > 3]
    said = [c["opening"] for c in cases] + answers
    assert [s for s in said if s.lower().strip() in trained] == []


@pytest.mark.parametrize("batch", BATCHES)
async def test_every_held_out_conversation_reaches_the_right_ticket(
    sqlite_services: Services, batch: str
) -> None:
    cases = load_cases(HERE / batch)
    results = await run_all(sqlite_services, cases)
    wrong = {r.case: r.problems for r in results if not r.ok}
    assert len(results) == len(cases) >= BATCHES[batch]
    assert len({c["id"] for c in cases}) == len(cases)
    assert wrong == {}, "\n".join(f"{k}: {v}" for k, v in wrong.items())
