"""Questions about one day name the policy's closure; "something is wrong" starts a report; typed
requests for one's own data are told apart from reports that mention data (in-memory web chat)."""

from __future__ import annotations

import pytest

from actions.flows.account import typed_request
from nlu.intents import Intent
from tests.helpers import FrozenClock, TestChannel, pp


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("are you open on new year's eve?", "closed on Thu 31 Dec 2026 (New Year's Eve, a company closure)"),
        ("r u guys open on new years eve??", "closed on Thu 31 Dec 2026 (New Year's Eve, a company closure)"),
        ("open on Khmer new year?", "closed from Wed 14 Apr 2027 to Fri 16 Apr 2027 (Khmer New Year's Day)"),
        ("is support working during pchum ben", "(Pchum Ben Day)"),
        ("are you closed on christmas?", "open as usual on Fri 25 Dec 2026 (Christmas Day): 08:00-18:00"),
        ("will you be open on 1st january", "closed on Fri 1 Jan 2027 (International New Year Day)"),
    ],
)
async def test_a_question_about_one_day_names_the_closure(
    bot: TestChannel, question: str, expected: str
) -> None:
    await bot.say(question)
    assert expected in bot.text


async def test_closed_days_say_when_the_team_is_back_and_that_critical_issues_are_handled(
    bot: TestChannel,
) -> None:
    await bot.say("are you open on new year's eve?")
    # 31 Dec is a company closure and 1 Jan a public holiday, then a weekend.
    assert "the team is back Mon 4 Jan, 08:00" in bot.text
    assert "we reply within 1 hour, around the clock" in bot.text


async def test_the_general_hours_question_is_answered_as_before(bot: TestChannel, clock: FrozenClock) -> None:
    clock.set(pp(2026, 12, 31, 10, 0))
    await bot.say("what are your working hours?")
    assert "Monday to Friday, 08:00-18:00" in bot.text
    assert "today is Company closure" in bot.text or "closed right now" in bot.text


@pytest.mark.parametrize("words", ["something is wrong", "somethings wrong", "Something went wrong again"])
async def test_something_is_wrong_starts_a_report(bot: TestChannel, words: str) -> None:
    await bot.say(words)
    assert "Let's get this to the right people" in bot.text
    assert "Which kind of problem is it?" in bot.text


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("delete my data", Intent.FORGET_ME),
        ("Pls delete all my personal information from your system!", Intent.FORGET_ME),
        ("can you forget about me?", Intent.FORGET_ME),
        ("I want you to erase my account", Intent.FORGET_ME),
        ("stop sending me announcements", Intent.STOP_ANNOUNCEMENTS),
        ("unsubscribe me thanks", Intent.STOP_ANNOUNCEMENTS),
        ("no more maintenance notifications please", Intent.STOP_ANNOUNCEMENTS),
        ("resume announcements", Intent.RESUME_ANNOUNCEMENTS),
        ("the update deleted my data", None),
        ("how do I delete my data in the ERP?", None),
        ("I want to remove my data from the export", None),
        ("forget it", None),
        ("stop the server", None),
    ],
)
def test_typed_requests_for_ones_own_data(text: str, intent: Intent | None) -> None:
    assert typed_request(text) == intent


async def test_typed_forget_during_an_intake_asks_and_no_goes_back_to_it(bot: TestChannel) -> None:
    await bot.say("my invoice shows the wrong amount")
    await bot.say("delete my data")
    assert "Delete your data?" in bot.text
    await bot.press("No, keep it")
    assert "nothing was deleted" in bot.text


async def test_buttons_during_a_handoff_answer_questions_and_start_nothing_beside_the_agent(
    bot: TestChannel,
) -> None:
    await bot.say("I want to talk to a person about our ERP, sokha@example.com")
    assert "ticket #1" in bot.text
    await bot.say("/working_hours")
    assert "Monday to Friday" in bot.text
    await bot.say("/report_issue")
    assert "already connected to the team on ticket #1" in bot.text
    await bot.say("any news?")
    assert "I've added that to ticket #1" in bot.text
