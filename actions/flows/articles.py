"""Self-service articles inside the intake: answers before a ticket.

Once the intake knows the customer's description, `offer` searches knowledge/ (desk/knowledge.py,
with its tuned threshold) and, when something matches, puts at most two articles (title, summary,
link) with "This solved it" / "I still need help" before the intake's next question. Nothing above
the threshold: the customer sees nothing. It is searched once per intake.

The offer does not hold the intake up: a customer who answers the question instead goes on as
before. "This solved it" (a button at any later step, or typed right after the offer) ends the
intake without a ticket, recorded as self-service for that article (a row and a metric). "I still
need help" says so and asks the question again. A ticket that follows an offer carries the
articles (`articles_tried`), so the agents see what the customer was shown and did not solve it.

The router gives each intake message to `ArticlesFlow.turn` first (an answer to the offer), and
the replies of every turn to `offer`.
"""

from __future__ import annotations

import re

import structlog

from actions.flows.base import Flow
from actions.messages import Button, Reply
from actions.payload import make_payload
from actions.state import FlowName
from actions.turn import Turn
from desk import knowledge, metrics
from desk.knowledge import Article, KnowledgeBase, KnowledgeError
from desk.policy import Policy
from nlu.intents import Intent
from nlu.language import detect_language

log = structlog.get_logger(__name__)

MAX_OFFERED = 2
SUMMARY_CHARS = 240  # about two lines of a chat bubble
MAX_ANSWER_WORDS = 8  # longer messages answer the intake's question, not the offer
STILL = "still"

# Typed answers to the offer. "Not solved" must not read as "solved": the refusals are tried first.
_STILL = re.compile(
    r"\b(still need|need (more )?help|did ?n[o'’]?t (help|work|solve|fix)|does ?n[o'’]?t help|"
    r"not (solved|fixed|helpful)|no luck|same problem)\b|នៅតែត្រូវការ|មិនបានជួយ|មិនទាន់បាន"
)
_SOLVED = re.compile(
    r"\b(solved|fixed|sorted|that did it|it worked|works now|working now|helped|resolved)\b|"
    r"ដោះស្រាយបាន|បានហើយ|ជួយបាន"
)

# "restarting fixed it": the customer's own fix, not the article's; the intake records it at its step.
_OWN_FIX = re.compile(r"\b(?:re-?start|reboot|reinstall|re-?install|unplug|plug|power ?cycl|updat|clear)\w*")


def knowledge_base() -> KnowledgeBase | None:
    """The shipped articles, or None when they cannot be loaded (the chat then offers nothing)."""
    try:
        return knowledge.shared()
    except KnowledgeError as exc:
        log.warning("knowledge_unavailable", error=str(exc))
        return None


def _language(t: Turn, description: str) -> str:
    """The description's own language (a Khmer description gets Khmer articles), else the chat's."""
    return detect_language(description) or t.lang


def _offered(t: Turn) -> list[Article]:
    kb = knowledge_base()
    if kb is None:
        return []
    lang = _language(t, t.intake.description or "")
    return [a for slug in t.intake.articles_offered if (a := kb.get(lang, slug)) is not None]


# -- the offer ------------------------------------------------------------------------------------


def _search(policy: Policy, t: Turn) -> list[str]:
    i = t.intake
    if i.articles_checked or i.description is None or not policy.knowledge.offer_in_chat:
        return []
    i.articles_checked = True
    kb = knowledge_base()
    if kb is None:
        return []
    return [m.article.slug for m in kb.search(i.description, _language(t, i.description), limit=MAX_OFFERED)]


def offer_reply(policy: Policy, t: Turn) -> Reply:
    articles = _offered(t)
    base = policy.knowledge.base_url.rstrip("/")
    items = [
        t.say("articles.offer.item", title=a.title, summary=_short(a.summary), link=base + a.url)
        for a in articles
    ]
    if len(articles) == 1:
        key = "articles.offer.ask_one"
        solved = [Button(t.say("articles.solved"), _solved_payload(articles[0].slug))]
    else:
        key = "articles.offer.ask"
        solved = [
            Button(t.say("articles.solved_titled", title=a.title), _solved_payload(a.slug)) for a in articles
        ]
    still = Button(t.say("articles.still"), make_payload(Intent.DENY, articles=STILL))
    text = "\n\n".join([t.say("articles.offer.head"), *items, t.say(key)])
    return Reply(text, (*solved, still))


def _solved_payload(slug: str) -> str:
    return make_payload(Intent.PROBLEM_SOLVED, article=slug)


def _short(summary: str) -> str:
    if len(summary) <= SUMMARY_CHARS:
        return summary
    return summary[: SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"


# -- the answers ------------------------------------------------------------------------------------


class ArticlesFlow(Flow):
    def offer(self, t: Turn, replies: list[Reply]) -> list[Reply]:
        """`replies` with the articles that match a description just learnt, before the question."""
        state = t.state
        if state.flow != FlowName.INTAKE or state.intake is None:
            return replies
        offered = _search(self.policy, t)
        if not offered:
            return replies
        i = state.intake
        i.articles_offered = offered
        i.articles_answer_due = True
        for slug in offered:
            metrics.ARTICLES_OFFERED.labels(slug).inc()
        at = len(replies) - 1 if replies else 0  # the intake's question stays last
        return [*replies[:at], offer_reply(self.policy, t), *replies[at:]]

    async def turn(self, t: Turn) -> list[Reply] | None:
        """An answer to the offer; None lets the intake handle the message as usual."""
        i = t.intake
        answer = _answer(t)
        i.articles_answer_due = False  # words answer the offer only right after it
        if answer is None:
            return None
        if answer == STILL:
            return [t.reply("articles.still_noted"), *self.router.intake.advance(t)]
        slug = answer if answer in i.articles_offered else i.articles_offered[0]
        article = next((a for a in _offered(t) if a.slug == slug), None)
        category = i.category or (article.category if article else "")
        t.repo.record_self_service(
            conversation_id=t.conversation.id,
            channel=t.msg.channel,
            category=category,
            step=article.title if article else slug,
            at=t.now,
            article=slug,
        )
        metrics.SELF_SERVICE.labels(category).inc()
        metrics.ARTICLE_SELF_SERVICE.labels(slug).inc()
        t.state.clear()
        return [t.reply("articles.solved_thanks")]


def _answer(t: Turn) -> str | None:
    """STILL, the slug of the article that solved it ("" when not named), or None: no answer."""
    i = t.intake
    if not i.articles_offered:
        return None
    if t.is_payload:
        if t.intent == Intent.PROBLEM_SOLVED and t.slots.get("article"):
            return str(t.slots["article"])
        return STILL if t.intent == Intent.DENY and t.slots.get("articles") == STILL else None
    # In words only right after the offer, and only short and plain: "critical, still down since
    # 8" answers the priority question, not the offer.
    if not i.articles_answer_due or len(t.text.split()) > MAX_ANSWER_WORDS:
        return None
    words = t.text.lower()
    if _STILL.search(words):
        return STILL
    return "" if _SOLVED.search(words) and not _OWN_FIX.search(words) else None
