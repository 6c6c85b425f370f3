"""Understanding customers who talk like people: pure functions, no I/O.

- `read_step_answer(text, step)`: a reply at a troubleshooting step -> StepAnswer(kind, note)
- `read_confirmation(text, current_priority=None)`: a reply to the ticket summary -> Confirmation
- `facts_from_description(text, steps)`: what a problem description already answers -> Facts
- `read_feelings(text)`: frustration, urgency, outage, a person or a refund asked for -> Feelings
- `step_concept(step)`: the concept a step's text asks about (restart, others_affected, ...)
- `exclusion_in(text, policy)`: the service exclusion a description falls under, devices named in
  passing left out
- `category_in_words(text)`, `sounds_like_security(text)`: the category the words themselves name
"""

from actions.understand.answers import read_step_answer
from actions.understand.concepts import CONCEPTS, Concept, step_concept
from actions.understand.confirm import Confirmation, read_confirmation
from actions.understand.exclusions import exclusion_in
from actions.understand.feelings import Feelings, read_feelings
from actions.understand.model import AnswerKind, StepAnswer
from actions.understand.prefill import Facts, facts_from_description
from actions.understand.topics import category_in_words, sounds_like_security

__all__ = [
    "CONCEPTS",
    "AnswerKind",
    "Concept",
    "Confirmation",
    "Facts",
    "Feelings",
    "StepAnswer",
    "category_in_words",
    "exclusion_in",
    "facts_from_description",
    "read_confirmation",
    "read_feelings",
    "read_step_answer",
    "sounds_like_security",
    "step_concept",
]
