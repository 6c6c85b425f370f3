"""Button payloads (actions/payload.py): what a button sends is read back as it was made."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from actions.payload import MADE_KEPT, make_payload, parse_payload

SLOT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)


@given(st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), SLOT | st.integers(), max_size=3))
def test_a_payload_reads_back_as_it_was_made_every_time(slots: dict[str, str | int]) -> None:
    made = make_payload("inform", **slots)
    assert make_payload("inform", **slots) == made  # the second time from what was kept
    parsed = parse_payload(made)
    assert parsed is not None and (parsed.intent, parsed.slots) == ("inform", slots)


def test_many_different_payloads_are_all_made_right() -> None:
    for n in range(MADE_KEPT * 2 + 5):  # past what is kept: it starts again, nothing goes wrong
        parsed = parse_payload(make_payload("rate", ticket_id=n, score=str(n % 5)))
        assert parsed is not None and parsed.slots == {"ticket_id": n, "score": str(n % 5)}


def test_a_slot_that_cannot_be_kept_is_still_made() -> None:
    assert make_payload("inform", files=[1, 2]) == '/inform{"files":[1,2]}'
