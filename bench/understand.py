"""How long the conversation's readers take on a long message (4,000 characters, the longest a
message is kept): the best of several runs each, with a new message every time.

    python bench/understand.py

Goal: each under 5 ms, so that reading a customer's words never shows in a turn's latency.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

from actions.understand import (
    facts_from_description,
    fast,
    read_confirmation,
    read_feelings,
    read_step_answer,
)

LONG = (
    "Hello team, since the update yesterday Outlook keeps crashing on every computer in the finance "
    'department. I reinstalled it twice and rebooted, and it says "Microsoft Outlook has stopped working". '
    "Other websites work fine. The accountants are waiting for the month-end close, please look at it. "
) * 20
STEPS = [
    "Have you restarted the application?",
    "Are other people affected?",
    "Did you note the exact error message?",
]
CALLS: dict[str, Callable[[], object]] = {
    "read_step_answer": lambda: read_step_answer("yes " + LONG[:3996], STEPS[2]),
    "read_confirmation": lambda: read_confirmation(LONG[:4000]),
    "facts_from_description": lambda: facts_from_description(LONG[:4000], STEPS),
    "read_feelings": lambda: read_feelings(LONG[:4000]),
}


def main() -> None:
    print(f"{'reader':<24} {'best ms':>8} {'median ms':>10}")
    for name, call in CALLS.items():

        def fresh(call: Callable[[], object] = call) -> None:
            fast.forget()  # a new message each time: its word index is built again
            call()

        runs = sorted(t / 3 for t in timeit.repeat(fresh, number=3, repeat=15))
        print(f"{name:<24} {runs[0] * 1000:>8.2f} {runs[len(runs) // 2] * 1000:>10.2f}")


if __name__ == "__main__":
    main()
