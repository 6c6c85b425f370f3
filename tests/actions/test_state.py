"""The dialogue state's JSON form: what `dataclasses.asdict` gives, and never shared with the stored dict."""

from __future__ import annotations

import copy
from dataclasses import asdict

from hypothesis import given
from hypothesis import strategies as st

from actions.state import FEEDBACK_STEP, DialogueState, FlowName, Intake

text = st.one_of(st.none(), st.text(max_size=20))
answers = st.lists(
    st.fixed_dictionaries({"step": st.text(max_size=20), "answer": st.sampled_from(["yes", "no"])})
)
intakes = st.builds(
    Intake,
    category=text,
    description=text,
    priority=text,
    exclusion=text,
    exclusion_checked=st.booleans(),
    troubleshooting=answers,
    name=text,
    email=text,
    attachments=st.lists(st.integers(min_value=1)),
)
states = st.builds(
    DialogueState,
    flow=st.one_of(st.none(), st.sampled_from(FlowName)),
    step=text,
    intake=st.one_of(st.none(), intakes),
    handoff_acknowledged=st.booleans(),
    feedback_ticket_id=st.one_of(st.none(), st.integers(min_value=1, max_value=2**63 - 1)),
)


@given(states)
def test_the_json_form_is_asdicts_and_round_trips(state: DialogueState) -> None:
    stored = state.to_dict()
    assert stored == asdict(state)
    assert DialogueState.from_dict(stored) == state


@given(states)
def test_changing_a_loaded_state_leaves_the_stored_dict_alone(state: DialogueState) -> None:
    stored = state.to_dict()
    before = copy.deepcopy(stored)
    loaded = DialogueState.from_dict(stored)
    if loaded.intake is not None:
        loaded.intake.troubleshooting.append({"step": "Restart", "answer": "no"})
        for answer in loaded.intake.troubleshooting:
            answer["answer"] = "changed"
        loaded.intake.attachments.append(99)
        loaded.intake.name = "someone else"
    loaded.step = "changed"
    written = loaded.to_dict()
    if loaded.intake is not None:
        written["intake"]["troubleshooting"].clear()  # the written dict is a copy too
        assert loaded.intake.troubleshooting
    assert stored == before


def test_unknown_intake_keys_from_an_older_version_are_ignored() -> None:
    loaded = DialogueState.from_dict({"flow": "intake", "intake": {"category": "billing", "retired": 1}})
    assert loaded.intake == Intake(category="billing")


def test_a_rating_comment_stored_before_the_ticket_had_its_own_field_continues() -> None:
    """States saved mid-feedback as `flow="feedback:ID"` read as the typed fields."""
    old = {
        "flow": "feedback:42",
        "step": FEEDBACK_STEP,
        "intake": {"category": "billing"},
        "handoff_acknowledged": False,
    }
    loaded = DialogueState.from_dict(old)
    assert (loaded.flow, loaded.step, loaded.feedback_ticket_id) == (FlowName.FEEDBACK, FEEDBACK_STEP, 42)
    assert loaded.intake == Intake(category="billing")
    assert loaded.to_dict()["flow"] == "feedback"


def test_a_flow_that_no_longer_exists_reads_as_idle() -> None:
    assert DialogueState.from_dict({"flow": "survey", "step": "q1"}).flow is None
