"""What the bot says to customers, by message id: one catalog per language.

Code names a message by its id and fills its `{placeholders}`; nothing a customer reads is
spelled in the flows. English is the `EN` dict below (its keys are the message ids); every other
language is a gettext catalog under locale/ (Khmer: locale/km/LC_MESSAGES/messages.po, msgid = the
message id), read with Babel. A language without a message falls back to English.
Policy texts (company, category titles and descriptions, troubleshooting steps) come from
policy.yml, in the customer's language where it gives one (desk/policy.py `Text`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

DEFAULT_LANGUAGE = "en"

EN: dict[str, str] = {
    # the engine
    "engine.empty": "I didn't catch any text there. Could you tell me in a few words how I can help?",
    "engine.truncated": "Your message was long, so I kept its first {limit} characters.",
    # the web chat's doors (bot/channels/webchat)
    "webchat.slow_down": (
        "You're sending messages faster than I can read them, so I'm pausing this chat. "
        "Please wait a minute, then reload the page and continue."
    ),
    # buttons used by several flows
    "menu.report": "Report a problem",
    "menu.tickets": "My tickets",
    "menu.hours": "Working hours",
    "menu.contact": "Contact us",
    "menu.person": "Talk to a person",
    "button.yes": "Yes",
    "button.no": "No",
    "button.back_to_bot": "Back to the bot",
    # idle
    "idle.greet": "Hello! I'm the support assistant of {company}. {open_status}{under_way}How can I help you today?",
    "idle.greet.maintenance": "\nMaintenance is under way until {until}: {message}\n",
    "idle.thanks": "You're welcome! If anything else comes up, just write here.",
    "idle.goodbye": "Goodbye, and thank you for contacting us. Write here any time.",
    "idle.solved": "Glad to hear everything works! Anything else I can do for you?",
    "idle.nothing_to_cancel": "There's nothing in progress to cancel. How can I help?",
    "idle.how_can_i_help": "How can I help you?",
    "idle.unavailable": "Sorry, that option isn't available here. Here is what I can do:",
    "idle.fallback": (
        "Sorry, I can't help with that. I'm the support assistant of {company}: I can open a ticket "
        "for a technical, billing, infrastructure or security problem, tell you the status of your "
        "tickets, our working hours and how to reach us, or bring in a person."
    ),
    "idle.heard.frustrated": "I'm sorry about this, and I understand your frustration.",
    "idle.noted": "Thanks, I've noted your {what}. How can I help?",
    "idle.noted.name": "name",
    "idle.noted.email": "email",
    "idle.noted.phone": "phone number",
    "idle.noted.and": " and ",
    # intake
    "intake.intro": "I'm sorry to hear that. Let's get this to the right people.",
    "intake.cancelled": "Okay, I've cancelled that; nothing was sent. How else can I help?",
    "intake.greet_again": "Hello again! Let's carry on where we were.",
    "intake.category.ask": "Which kind of problem is it?\n{categories}",
    "intake.category.line": "• {title}: {description}",
    "intake.category.retry": "Please choose one of the categories with the buttons.",
    "intake.description.ask": (
        "Please describe the problem in a few words: what happens, since when, and who is affected?"
    ),
    "intake.description.retry": "Please type a short description of the problem.",
    "intake.priority.ask": "How urgent is it? Please choose the priority that fits best.",
    "intake.priority.ask_suggested": (
        "From what you wrote, this looks {priority}. Please confirm the priority, or choose another one."
    ),
    "intake.priority.button": "{priority}: {definition}",
    "intake.priority.button_suggested": "{priority} (suggested): {definition}",
    "intake.priority.retry": "Please choose a priority with the buttons.",
    "intake.priority.taken": (
        "No problem, I'll go with the suggested priority for now; you can change it before the ticket is sent."
    ),
    "intake.exclusion.ask": (
        "Before we go on, to be transparent: our support does not cover {title} ({description}). "
        "Your message sounds like it may fall under that. I can still pass your request on, and the "
        "team will tell you whether they can help. Shall I pass it on?"
    ),
    "intake.exclusion.yes": "Yes, pass it on",
    "intake.exclusion.no": "No, thanks",
    "intake.exclusion.passed_on": "Understood, I'll pass it on and note that it may be outside standard support.",
    "intake.exclusion.declined": (
        "Understood, I haven't opened a ticket. If there is anything within our services I can help "
        "with, just tell me."
    ),
    "intake.exclusion.retry": "Please answer with the buttons: shall I pass it on anyway?",
    "intake.troubleshoot.ask": "Step {n} of {total}: {step}",
    "intake.troubleshoot.ask_first": (
        "Some quick checks first; they often solve the problem, and they help our engineers. "
        "Step {n} of {total}: {step}"
    ),
    "intake.troubleshoot.fixed": "That fixed it!",
    "intake.troubleshoot.solved": (
        "Great, I'm glad that fixed it! I haven't opened a ticket. If it comes back, just write here."
    ),
    "intake.troubleshoot.not_sure": "Not sure",
    "intake.troubleshoot.reask": "Sorry, I didn't catch that. {step} (Yes, No or Not sure)",
    "intake.troubleshoot.moving_on": "No problem, I've noted what you said; let's move on.",
    "intake.troubleshoot.prefilled": "From your message I already know: {facts}.",
    "intake.troubleshoot.how": (
        "If you can't check it, that's fine: answer Not sure and the engineer will look into it."
    ),
    "intake.troubleshoot.how.restart": (
        "Close the program completely and open it again; if that doesn't help, restart the computer "
        "(Start menu, Power, Restart) and try once more."
    ),
    "intake.troubleshoot.how.others_affected": (
        "Ask a colleague to try the same thing on their computer, or try it yourself on another device."
    ),
    "intake.troubleshoot.how.internet": (
        "Open a well-known website such as google.com in your browser: if it loads, your internet works."
    ),
    "intake.troubleshoot.how.error_message": (
        "When the problem happens, look for a message on the screen and copy its words here, or take a "
        "screenshot (Windows: Win+Shift+S, Mac: Cmd+Shift+4) and send it."
    ),
    "intake.troubleshoot.how.invoice_checked": (
        "Compare the invoice number and the total on the invoice with your order confirmation or contract."
    ),
    "intake.troubleshoot.how.bank_confirmed": (
        "Look at your online banking or bank statement for a payment to us on or after the invoice date."
    ),
    "intake.troubleshoot.how.maintenance_window": (
        'Ask me "is there any maintenance?" here, or look at the announcements we sent you.'
    ),
    "intake.troubleshoot.how.other_network": (
        "Try the same service from your phone on mobile data (Wi-Fi off) or from another location."
    ),
    "intake.troubleshoot.how.password_changed": (
        "Change the password in the account's security settings and choose \"sign out of all other "
        'sessions" if it offers it.'
    ),
    "intake.troubleshoot.how.disconnected": (
        "Unplug the machine's network cable and turn its Wi-Fi off, but leave it switched on."
    ),
    "answer.yes": "yes",
    "answer.no": "no",
    "answer.not_sure": "not sure",
    "answer.no_answer": "no clear answer",
    "intake.heard.outage": (
        "I'm sorry to hear that; it sounds like an outage, so I'll get this to the team as fast as I can."
    ),
    "intake.heard.frustrated": (
        "I'm sorry to hear that, and I understand how frustrating this is; let's get it to the right people "
        "right away."
    ),
    "intake.heard.urgent": "I'm sorry to hear that, and I understand it's urgent; I'll keep this quick.",
    "intake.contact_confirm.ask": "Shall I use the contact details I have for you: {contact}?",
    "intake.contact_confirm.retry": "Please answer Yes or No.",
    "intake.name.ask": "So that an engineer can reach you, what is your name?",
    "intake.name.button": "I'm {name}",
    "intake.name.problem_first": (
        "That sounds like more about the problem; I'll need your name first. What is your name?"
    ),
    "intake.name.retry": "Sorry, that doesn't look like a name. Please type your name, e.g. Sokha Chan.",
    "intake.reach.ask": "Thanks, {name}. What email address or phone number can we reach you at?",
    "intake.reach.retry": (
        "Sorry, I couldn't read an email address or phone number there. Please type one, "
        "e.g. sokha@example.com or 012 345 678."
    ),
    "intake.summary.head": "Here is your request:",
    "intake.summary.category": "• Category: {title}",
    "intake.summary.priority": "• Priority: {priority}: {definition}",
    "intake.summary.problem": "• Problem: {description}",
    "intake.summary.contact": "• Contact: {contact}",
    "intake.summary.checks": "• Checks: {checks}",
    "intake.summary.check": "{step} {answer}",
    "intake.summary.check_note": '{step} {answer} ("{note}")',
    "intake.summary.from_message": " [from your message]",
    "intake.summary.details": "• From your message: {details}",
    "intake.summary.detail.product": "product {value}",
    "intake.summary.detail.since": "started {value}",
    "intake.summary.detail.error": 'error "{value}"',
    "intake.summary.correct_hint": (
        "Anything I took from your message wrong? Press Correct the checks and I'll ask them instead."
    ),
    "intake.confirm.correct": "Correct the checks",
    "intake.summary.note": "• Note: {title} (outside standard support)",
    "intake.summary.ask": "Shall I open the ticket?",
    "intake.confirm.open": "Open the ticket",
    "intake.confirm.change_priority": "Change priority",
    "intake.confirm.cancel": "Cancel",
    "intake.confirm.discarded": "Okay, I've discarded it; no ticket was opened. How else can I help?",
    "intake.confirm.retry": (
        'Sorry, I didn\'t catch that. Shall I open the ticket? You can also say "make it urgent" or "cancel".'
    ),
    # self-service articles before a ticket (flows/articles.py)
    "articles.offer.head": "Before I pass this on, these articles may solve it right away:",
    "articles.offer.item": "📄 {title}\n{summary}\n{link}",
    "articles.offer.ask_one": "Did this solve it? If not, I'll pass your problem on to the team.",
    "articles.offer.ask": "Did one of them solve it? If not, I'll pass your problem on to the team.",
    "articles.solved": "This solved it",
    "articles.solved_titled": "This solved it: {title}",
    "articles.still": "I still need help",
    "articles.still_noted": "Sorry it didn't help. Let's get it to the team; I'll tell them what you tried.",
    "articles.solved_thanks": (
        "Great, I'm glad the article helped! I haven't opened a ticket. If it comes back, just write here."
    ),
    "articles.retry": "Please use the buttons: did the article solve it, or do you still need help?",
    "ticket.opened": (
        "Your ticket #{id} is open: {category}, priority {priority}. An engineer will reply by {due} ({zone})."
    ),
    "ticket.opened.thanks": (
        "Thank you, {name}. Your ticket #{id} is open: {category}, priority {priority}. "
        "An engineer will reply by {due} ({zone})."
    ),
    "ticket.opened.after_hours": "We're outside working hours right now; the team is back {back}.",
    "ticket.opened.maintenance": "Note: maintenance is under way right now, which may be related; we've linked it.",
    "ticket.opened.exclusion": (
        "As mentioned, this may be outside standard support; the team will tell you what they can do."
    ),
    "ticket.opened.status_hint": "You can ask me for its status any time.",
    # priorities: as a label, and inside a sentence
    "priority.critical": "Critical",
    "priority.high": "High",
    "priority.medium": "Medium",
    "priority.low": "Low",
    "priority.word.critical": "critical",
    "priority.word.high": "high",
    "priority.word.medium": "medium",
    "priority.word.low": "low",
    # information
    "info.hours": (
        "Our support team works {hours} ({zone}), except public holidays. Weekends: {weekends} {open_status}"
    ),
    "info.hours.weekends": "limited support.",
    "info.closed": "We're closed {when} ({name}); the team is back {back}. {critical}",
    "info.closed.on": "on {day}",
    "info.closed.from": "from {first} to {last}",
    "info.closed.company": "{what}, a company closure",
    "info.day.open": "We're open as usual on {day}{named}: {hours} ({zone}).",
    "info.day.named": " ({name})",
    "info.day.weekend": "{day} is on a weekend: {weekends} {critical}",
    "info.contact": (
        "You can reach {company} support by:\n• Email: {email}\n• Phone: {phone}\n• Live chat: {live_chat}"
    ),
    "info.menu": "Here is what I can do for you:",
    "info.maintenance.none": "No maintenance is scheduled right now; all services should be available.",
    "info.maintenance.none_outage": (
        "No maintenance is scheduled right now, so if something is down for you, that's a fault we need "
        "to know about. Shall I report an outage?"
    ),
    "info.maintenance.report_outage": "Report an outage",
    "info.maintenance.none_announced": (
        "No maintenance is scheduled right now; all services should be available. "
        "We announce maintenance ahead of time ({leads} before it starts)."
    ),
    "info.maintenance.list": "Maintenance windows (some services may be unavailable during them):\n{lines}",
    "info.maintenance.now": "• Under way now, until {until}: {message}",
    "info.maintenance.scheduled": "• Scheduled {start} to {end}: {message}",
    "status.not_found": (
        "I can't find ticket #{wanted} among your tickets. I can only show tickets opened from this chat."
    ),
    "ticket.limit_reached": (
        "You've already opened {limit} tickets with us today, so I can't open another one right now. "
        "Our team is working on them; press My tickets to see where they stand."
    ),
    "status.none": "You have no tickets with us yet. Would you like to report a problem?",
    "status.list": "Your tickets:\n{lines}",
    "status.line": "• #{id} {category}, {priority}: {status} (“{subject}”)",
    "status.line.due": "; reply due by {due}",
    "status.line.resolved_on": " on {at}",
    "ticket_status.open": "waiting for an engineer",
    "ticket_status.acknowledged": "an engineer is working on it",
    "ticket_status.waiting_customer": "waiting for your reply",
    "ticket_status.resolved": "resolved",
    "ticket_status.closed": "closed",
    # handoff
    "handoff.ask_about": (
        "Of course, I'll bring in a person. So that the right one answers, what is it about, in a few words?"
    ),
    "handoff.ask_contact": (
        "Thanks. In case you leave this chat before they answer: what is your name, and an email "
        "address or phone number where we can reach you?"
    ),
    "handoff.ask_reach": (
        "Thanks, {name}. In case you leave this chat before they answer: what email address or "
        "phone number can we reach you at?"
    ),
    # the life of a ticket (desk/lifecycle.py, actions/flows/handoff.py)
    "lifecycle.agent": "Our support team",
    "lifecycle.question": (
        "{agent} has a question about your ticket #{id}: {question}\n"
        "Just reply here; we'll carry on as soon as we have your answer."
    ),
    "lifecycle.nudge": (
        "We're still waiting for your answer about ticket #{id}: {question}\n"
        "Reply here whenever you can; without an answer the ticket will be closed as resolved."
    ),
    "lifecycle.auto_resolved": (
        "We haven't heard back from you for {silence}, so we've marked it as resolved. "
        "If you still need help, just write here and we'll reopen it."
    ),
    "lifecycle.next_answer": "I've added that to ticket #{id}. Expect our next answer by {due}.",
    "lifecycle.reopened": "I've reopened your ticket #{id} and passed your message on. Expect an answer by {due}.",
    "lifecycle.followup": (
        "Ticket #{old} is closed, so I've opened ticket #{id} for this, linked to the old one. "
        "Expect an answer by {due}."
    ),
    # the desk's notices (desk/, rendered in the customer's language by bot/notices.py)
    "desk.acknowledged": "Good news: an engineer has picked up your ticket #{id}.",
    "desk.resolved": "Your ticket #{id} has been resolved.",
    "desk.resolved_note": "Your ticket #{id} has been resolved. {note}",
    "desk.back_to_bot": "You're talking to the assistant again.",
    "desk.agent_reply": "{agent}: {text}",
    "maintenance.ahead": (
        "Scheduled maintenance: {message}, from {start} to {end} ({zone}). "
        "Some services may be unavailable then."
    ),
    "maintenance.under_way": (
        "Scheduled maintenance is under way: {message}, until {end} ({zone}). "
        "Some services may be unavailable until then."
    ),
    "feedback.rating_5": "{n} ★ Excellent",
    "feedback.rating_4": "{n} ★ Good",
    "feedback.rating_3": "{n} ★ Average",
    "feedback.rating_2": "{n} ★ Poor",
    "feedback.rating_1": "{n} ★ Very poor",
    "feedback.stars": "{n} ★",
    "handoff.opened": (
        "I've opened ticket #{id} ({category}, priority {priority}) and asked a person to join. "
        "Our {team} team will answer here by {due} ({zone}) at the latest. Anything you write now "
        "goes on the ticket."
    ),
    "handoff.linked": (
        "I've asked a person to join you on your ticket #{id}. Our {team} team will answer here by "
        "{due} ({zone}) at the latest. Anything you write now goes on the ticket."
    ),
    "handoff.away": "If you leave, their answer waits for you here.",
    "handoff.away.contact": "If you leave, their answer waits for you here, and they can reach you at {contact}.",
    "handoff.back": "You're talking to the bot again. How can I help?",
    "handoff.already": "You're already connected to the team on ticket #{id}; they will answer here.",
    "handoff.added": "I've added that to ticket #{id}.",
    "handoff.due": "Our {team} team will answer here by {due} ({zone}) at the latest.",
    # files
    "files.kept": "Thanks, I've kept {what}; it will go with your ticket.",
    "files.added": "I've added {what} to your ticket #{id}; the team can see it.",
    "files.got": "Thanks, I've got {what}. Let's open a ticket so an engineer can look at it.",
    "files.many": "your {n} files",
    "files.photo": "your photo",
    "files.file": "your file {name}",
    # the customer's data
    "account.stopped": (
        "Done: you won't receive maintenance announcements any more. "
        "Answers about your tickets still reach you here."
    ),
    "account.resume_button": "Resume announcements",
    "account.resumed": "Done: you'll hear about maintenance windows again.",
    "account.forget.ask": (
        "This deletes what we keep about you here: your name, email and phone number, and this "
        "conversation. Your tickets stay as a record of the service, without your contact details, "
        "and the team can no longer answer you here. Delete your data?"
    ),
    "account.forget.yes": "Yes, delete my data",
    "account.forget.no": "No, keep it",
    "account.forget.cancelled": "Okay, nothing was deleted. How can I help?",
    "account.forgotten": "Done: your data has been deleted. Write here any time to start again.",
    "account.forgotten.records": (
        "Done: your data has been deleted. {n} ticket(s) remain as records, without your contact "
        "details. Write here any time to start again."
    ),
    # feedback
    "feedback.unreadable": "Sorry, I couldn't read that rating. Please use the rating buttons.",
    "feedback.updated": "I've updated your rating of ticket #{id} to {rating} ★. {prompt}",
    "feedback.skip": "Skip",
    "feedback.thanks": "Thank you for your feedback; it helps us improve our support.",
    "feedback.thanks_comment": (
        "Thank you, I've passed your comment on to the team; it helps us improve our support."
    ),
    "feedback.anything_else": "{thanks} Anything else I can help with?",
    # times and policy facts (render.py)
    "time.zone": "{city} time",
    "time.open_now": "We're open right now.",
    "time.closed": "We're closed right now; the team is back {back}.",
    "time.closed_holiday": "We're closed right now (today is {holiday}); the team is back {back}.",
    "time.critical_weekends": (
        "Critical issues are handled on weekends and holidays too: we reply within {within}, around the clock."
    ),
    "time.no_hours": "no regular hours",
    "time.day_span": "{days}, {hours}",
    "time.day_range": "{first} to {last}",
    "day.mon": "Monday",
    "day.tue": "Tuesday",
    "day.wed": "Wednesday",
    "day.thu": "Thursday",
    "day.fri": "Friday",
    "day.sat": "Saturday",
    "day.sun": "Sunday",
    "duration.day": "{n} day",
    "duration.days": "{n} days",
    "duration.hour": "{n} hour",
    "duration.hours": "{n} hours",
    "duration.minute": "{n} minute",
    "duration.minutes": "{n} minutes",
    "duration.seconds": "{n} seconds",
    # languages (the switch button shows the language it switches to)
    "menu.language": "ភាសាខ្មែរ",
    "language.switched": "Okay, I'll write in English from now on. How can I help?",
    "language.unsupported": "Sorry, I understand only English and Khmer. Please write to me in one of them.",
    # a date and time: a Babel (CLDR) pattern, so that each language orders and names it its own way
    "time.when": "EEE d MMM, HH:mm",
    # the channels' own replies (bot/channels)
    "channel.unreadable": "Sorry, I couldn't read that message.",
    "channel.error": "Sorry, something went wrong on our side. Please try again in a moment.",
    "channel.group": "I answer support requests in a private chat, so that your details stay between us.",
}

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES: tuple[str, ...] = (DEFAULT_LANGUAGE, "km")


def load_po(lang: str, domain: str = "messages") -> dict[str, str]:
    """A language's gettext catalog (`locale/LANG/LC_MESSAGES/messages.po`) as {message id: text}.

    The .po file is read directly with Babel rather than compiled to .mo: it is one small file read
    once at import (a few milliseconds), so there is no build step to forget and no stale binary
    next to the source translators edit. Untranslated and fuzzy entries are left out, so English
    shows instead of a guess.
    """
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as file:
        po = read_po(file, locale=lang, domain=domain)
    return {
        str(m.id): str(m.string)
        for m in po
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string and not m.fuzzy
    }


KM: dict[str, str] = load_po("km")

CATALOGS: dict[str, dict[str, str]] = {DEFAULT_LANGUAGE: EN, "km": KM}


def language_of(tag: str | None) -> str:
    """The catalog language for an IETF tag (`km`, `km-KH`, `en-US`): English for any other."""
    base = (tag or "").strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def text(key: str, lang: str = DEFAULT_LANGUAGE, /, **values: Any) -> str:
    """The message `key` in `lang` (English when that language lacks it), placeholders filled."""
    catalog = CATALOGS.get(lang, EN)
    template = catalog.get(key) or EN[key]
    return template.format(**values) if values else template


def label(kind: str, value: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A value's name for the customer (`priority.high`: High), or the value itself if it has none."""
    catalog = CATALOGS.get(lang, EN)
    key = f"{kind}.{value}"
    return catalog.get(key) or EN.get(key) or value
