"""Entity extraction: contact details, ticket numbers, names and products, with Rasa's offsets."""

from __future__ import annotations

from typing import Any

import pytest

from nlu.embedded import EmbeddedNlu
from nlu.entities import EntityExtractor


def _values(model: EmbeddedNlu, text: str, entity: str) -> list[str]:
    """Values of one entity type found in `text`."""
    return [e["value"] for e in model.parse_sync(text)["entities"] if e["entity"] == entity]


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("it's dara@example.com", "dara@example.com"),
        ("Email: Sokha.Chan+support@angkor-mart.com.kh.", "Sokha.Chan+support@angkor-mart.com.kh"),
        ("write to vannak_s@gmail.com or call", "vannak_s@gmail.com"),
    ],
)
def test_email(model: EmbeddedNlu, text: str, email: str) -> None:
    assert _values(model, text, "email") == [email]


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("call me on 012 345 678", "012 345 678"),
        ("you can reach me at +855 96 9899 444", "+855 96 9899 444"),
        ("85596 9899 444", "85596 9899 444"),
        ("my number 0969899444.", "0969899444"),
        ("(+855) 12-345-678 is the office", "(+855) 12-345-678"),
        ("mobile 097 123 4567, thanks", "097 123 4567"),
        ("landline 023 212 345", "023 212 345"),
        ("our Bangkok office: +66 2 123 4567", "+66 2 123 4567"),
        ("US support +1 415 555 0132", "+1 415 555 0132"),
    ],
)
def test_phone(model: EmbeddedNlu, text: str, phone: str) -> None:
    assert _values(model, text, "phone") == [phone]


@pytest.mark.parametrize(
    "text",
    [
        "it broke on 2026-03-14 at 10:30",
        "since 14/03/2026",
        "invoice INV-2026-0042 is wrong",
        "ticket #1042 please",
        "ticket number 123456",
        "we paid $1,200.50 and 1200000 riel",
        "the server is 192.168.1.10",
        "dara012345678@example.com",
        "order 1234567890123",
    ],
)
def test_no_phone_in_dates_amounts_and_ids(model: EmbeddedNlu, text: str) -> None:
    assert _values(model, text, "phone") == []


@pytest.mark.parametrize(
    ("text", "ticket"),
    [
        ("any update on #1042?", "1042"),
        ("ticket 1042 status", "1042"),
        ("Ticket number 1042 please", "1042"),
        ("what about case 1042", "1042"),
        ("ticket no. 77", "77"),
        ("ticket #880 still open", "880"),
    ],
)
def test_ticket_id_is_only_the_digits(model: EmbeddedNlu, text: str, ticket: str) -> None:
    assert _values(model, text, "ticket_id") == [ticket]


def test_numbers_that_are_not_tickets(model: EmbeddedNlu) -> None:
    assert _values(model, "we have 3 tickets and 1042 users", "ticket_id") == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("my name is Dara Sok", "Dara Sok"),
        ("my name is sokha chan", "sokha chan"),
        ("I'm Sokha from ABC Trading", "Sokha"),
        ("Hi, this is Vannak from Angkor Mart, our ERP is down", "Vannak"),
        ("i am dara and the pos is broken", "dara"),
        ("name: Chan Rathana, phone 097 123 4567", "Chan Rathana"),
    ],
)
def test_name_after_a_cue(model: EmbeddedNlu, text: str, name: str) -> None:
    assert _values(model, text, "name") == [name]


@pytest.mark.parametrize(
    "text",
    [
        "I'm waiting for two hours",
        "this is urgent",
        "I am not able to log in",
        "i'm locked out of my account",
    ],
)
def test_everyday_sentences_have_no_name(model: EmbeddedNlu, text: str) -> None:
    assert _values(model, text, "name") == []


def test_products_come_from_the_lookup_with_synonyms(model: EmbeddedNlu) -> None:
    text = "the wifi and the odoo erp system are down, also the point of sale"
    assert _values(model, text, "product") == ["Wi-Fi", "Odoo", "ERP", "POS"]


def test_entities_have_rasa_offsets_and_extractor(model: EmbeddedNlu) -> None:
    text = "I'm Kosal, email kosal@example.com, phone 012 345 678, about ticket #1042"
    entities: list[dict[str, Any]] = model.parse_sync(text)["entities"]
    assert [e["entity"] for e in entities] == ["name", "email", "phone", "ticket_id"]
    for entity in entities:
        assert set(entity) >= {"entity", "value", "start", "end", "extractor"}
        assert text[entity["start"] : entity["end"]] == entity["value"]
        assert isinstance(entity["extractor"], str) and entity["extractor"]
    assert {e["extractor"] for e in entities if e["entity"] != "name"} == {"RegexEntityExtractor"}
    starts = [e["start"] for e in entities]
    assert starts == sorted(starts)


def test_a_broken_regex_in_the_data_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="phone"):
        EntityExtractor(regexes={"phone": ["(unclosed"]})
