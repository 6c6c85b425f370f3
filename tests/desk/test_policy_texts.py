"""Customer-facing policy texts in several languages: `{en: ..., km: ...}` or one plain string."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from desk.policy import SHIPPED_POLICY, PolicyError, Text, parse_policy

BASE: dict[str, Any] = yaml.safe_load(SHIPPED_POLICY.read_text(encoding="utf-8"))


def changed(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    change(data)
    return data


def test_the_shipped_policy_gives_every_customer_text_in_khmer() -> None:
    policy = parse_policy(copy.deepcopy(BASE))
    texts: list[Text] = [policy.weekend_support, policy.contact.live_chat, policy.feedback.comment_prompt]
    for category in policy.categories.values():
        texts += [
            category.title,
            category.description,
            *category.priorities.values(),
            *category.troubleshooting,
        ]
    for exclusion in policy.exclusions.values():
        texts += [exclusion.title, exclusion.description]
    assert all(isinstance(t, Text) for t in texts)
    untranslated = [str(t) for t in texts if t.get("km") == str(t)]
    assert untranslated == []
    technical = policy.categories["technical"]
    # The English is the string itself (Slack, reports, the agents); the customer's language by `get`.
    assert technical.title == "Technical issue" and technical.title.get("km") == "បញ្ហាបច្ចេកទេស"
    assert technical.troubleshooting[0].startswith("Have you restarted")


@pytest.mark.parametrize(
    ("change", "names"),
    [
        (
            lambda d: d["categories"]["billing"].update(title={"en": "Billing"}),
            ["categories.billing.title", "missing the km text"],
        ),
        (
            lambda d: d["categories"]["security"]["troubleshooting"].__setitem__(1, {"km": "ផ្តាច់ម៉ាស៊ីន"}),
            ["categories.security.troubleshooting.1", "missing the en text"],
        ),
        (
            lambda d: d["exclusions"]["hardware"].update(
                description={"en": "Hardware", "km": "ឧបករណ៍", "fr": "Matériel"}
            ),
            ["exclusions.hardware.description", "unknown languages fr"],
        ),
        (
            lambda d: d["categories"]["technical"]["priorities"].update(low={"en": "Minor", "km": "  "}),
            ["categories.technical.priorities.low", "missing the km text"],
        ),
        (lambda d: d.update(weekend_support=["a", "list"]), ["weekend_support", "{en: ..., km: ...}"]),
    ],
)
def test_the_validator_names_a_missing_translation(change: Any, names: list[str]) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(changed(change), source="policy.yml")
    for name in names:
        assert name in str(caught.value), str(caught.value)


def test_a_plain_string_serves_every_language() -> None:
    policy = parse_policy(changed(lambda d: d["categories"]["billing"].update(title="Billing")))
    assert policy.categories["billing"].title.get("km") == "Billing"
    assert policy.model_dump()["categories"]["technical"]["title"] == {
        "en": "Technical issue",
        "km": "បញ្ហាបច្ចេកទេស",
    }
