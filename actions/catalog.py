"""What the bot says to customers, by message id: one catalog per language.

Code names a message by its id and fills its `{placeholders}`; nothing a customer reads is
spelled in the flows. A language without a message falls back to English, so a catalog can be
translated piece by piece (Khmer next; Babel's gettext catalogs can replace these dicts later).
Policy texts (company, category titles and descriptions, troubleshooting steps) come from
policy.yml as they are.
"""

from __future__ import annotations

from typing import Any

DEFAULT_LANGUAGE = "en"

EN: dict[str, str] = {
    # the engine
    "engine.empty": "I didn't catch any text there. Could you tell me in a few words how I can help?",
    "engine.truncated": "Your message was long, so I kept its first {limit} characters.",
    # the web chat's doors (bot/channels/webchat)
    "webchat.unreadable": "Sorry, I couldn't read that message.",
    "webchat.failed": "Sorry, something went wrong on our side. Please try again in a moment.",
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
    "intake.troubleshoot.retry": "Please answer with Yes, No, or That fixed it!",
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
    "intake.summary.note": "• Note: {title} (outside standard support)",
    "intake.summary.ask": "Shall I open the ticket?",
    "intake.confirm.open": "Open the ticket",
    "intake.confirm.change_priority": "Change priority",
    "intake.confirm.cancel": "Cancel",
    "intake.confirm.discarded": "Okay, I've discarded it; no ticket was opened. How else can I help?",
    "intake.confirm.retry": "Please use the buttons: open the ticket, change its priority, or cancel.",
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
    "info.contact": (
        "You can reach {company} support by:\n• Email: {email}\n• Phone: {phone}\n• Live chat: {live_chat}"
    ),
    "info.menu": "Here is what I can do for you:",
    "info.maintenance.none": "No maintenance is scheduled right now; all services should be available.",
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
    "handoff.opened": (
        "I've opened ticket #{id} and asked a person to join. An agent will answer here by {due} "
        "({zone}) at the latest. Anything you write now goes to them."
    ),
    "handoff.linked": (
        "I've asked a person to join you on your ticket #{id}. An agent will answer here by {due} "
        "({zone}) at the latest. Anything you write now goes to them."
    ),
    "handoff.back": "You're talking to the bot again. How can I help?",
    "handoff.already": "You're already connected to the team on ticket #{id}; they will answer here.",
    "handoff.passed_on": "I've passed that on to the team on ticket #{id}.",
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
}

CATALOGS: dict[str, dict[str, str]] = {DEFAULT_LANGUAGE: EN}


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
