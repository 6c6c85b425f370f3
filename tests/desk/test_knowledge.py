"""Self-service articles (desk/knowledge.py): every article parses, exists in English and Khmer,
and search is precise on customer questions it was not tuned on."""

from __future__ import annotations

from pathlib import Path

import pytest

from desk.knowledge import (
    CATEGORIES,
    DEFAULT_ROOT,
    LANGUAGES,
    THRESHOLDS,
    KnowledgeBase,
    KnowledgeError,
    Question,
    evaluate,
    load_articles,
    load_questions,
    parse_article,
    tune_threshold,
)

QUESTIONS = Path(__file__).with_name("kb_questions.csv")
KHMER = range(0x1780, 0x1800)

GOOD = """---
title: Reset a forgotten password
category: technical
keywords: [password, reset]
language: en
slug: password-reset
---

Forgot it? Set a new one.
Support unlocks the account otherwise.

1. Open the sign-in page.
2. Choose **Forgot password**.
"""


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.fixture(scope="module")
def questions() -> list[Question]:
    return load_questions(QUESTIONS)


# -- the articles --------------------------------------------------------------------------------


def test_every_article_parses_and_exists_in_both_languages() -> None:
    articles = load_articles()
    slugs = {lang: {a.slug for a in articles if a.language == lang} for lang in LANGUAGES}
    assert slugs["en"] == slugs["km"]
    assert len(slugs["en"]) >= 12
    assert {a.category for a in articles} == set(CATEGORIES)
    for article in articles:
        assert article.path == DEFAULT_ROOT / article.language / f"{article.slug}.md"
        assert article.summary and not article.summary[0].isdigit()
        assert "\n1. " in article.body
        if article.language == "km":  # written in Khmer script, not transliterated
            khmer = sum(ord(c) in KHMER for c in article.title + article.summary)
            assert khmer > len(article.summary) / 3, article.path


def test_contact_details_match_the_policy() -> None:
    text = (DEFAULT_ROOT / "en" / "contact-support.md").read_text(encoding="utf-8")
    for fact in ("sales@ionetechsolution.biz", "85596 9899 444", "8:00 to 18:00", "Monday to Friday"):
        assert fact in text
    khmer = (DEFAULT_ROOT / "km" / "contact-support.md").read_text(encoding="utf-8")
    assert "sales@ionetechsolution.biz" in khmer and "85596 9899 444" in khmer


def test_a_good_article_parses(tmp_path: Path) -> None:
    path = tmp_path / "en" / "password-reset.md"
    path.parent.mkdir()
    article = parse_article(path, GOOD)
    assert article.title == "Reset a forgotten password"
    assert article.keywords == ("password", "reset")
    assert article.summary == "Forgot it? Set a new one. Support unlocks the account otherwise."
    assert article.url == "/kb/en/password-reset"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no front matter\n\n1. step\n", "no front matter"),
        (GOOD.replace("category: technical", "category: [technical"), "not valid YAML"),
        (GOOD.replace("category: technical\n", ""), "misses category"),
        (GOOD.replace("category: technical", "category: hardware"), "`category` is 'hardware'"),
        (GOOD.replace("language: en", "language: fr"), "`language` is 'fr'"),
        (GOOD.replace("language: en", "language: km"), "in the folder 'en'"),
        (GOOD.replace("slug: password-reset", "slug: reset"), "differs from the file name"),
        (GOOD.replace("slug: password-reset", "slug: Password_Reset"), "lower-case words"),
        (GOOD.replace("keywords: [password, reset]", "keywords: password"), "`keywords` must be"),
        (GOOD.replace("keywords: [password, reset]", "keywords: []"), "`keywords` must be"),
        (GOOD.replace("title: Reset a forgotten password", "title: ''"), "`title` must be"),
        (GOOD.replace("slug: password-reset", "slug: password-reset\nauthor: me"), "unknown front matter"),
        (
            GOOD.replace("Forgot it? Set a new one.\nSupport unlocks the account otherwise.\n\n", ""),
            "summary",
        ),
        (GOOD.replace("1. Open", "Open").replace("2. Choose", "Choose"), "no numbered steps"),
    ],
)
def test_a_bad_article_is_refused_naming_its_file(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "en" / "password-reset.md"
    path.parent.mkdir()
    with pytest.raises(KnowledgeError) as caught:
        parse_article(path, text)
    assert str(caught.value).startswith(f"{path}: ")
    assert reason in str(caught.value)


def test_an_article_missing_in_one_language_is_refused(tmp_path: Path) -> None:
    for language in LANGUAGES:
        (tmp_path / language).mkdir()
    (tmp_path / "en" / "password-reset.md").write_text(GOOD, encoding="utf-8")
    khmer = GOOD.replace("language: en", "language: km").replace("password-reset", "vpn-cannot-connect")
    (tmp_path / "km" / "vpn-cannot-connect.md").write_text(khmer, encoding="utf-8")
    with pytest.raises(
        KnowledgeError, match=r"(km/vpn-cannot-connect\.md: no 'en'|en/password-reset\.md: no 'km') version"
    ):
        load_articles(tmp_path)
    with pytest.raises(KnowledgeError, match="no such knowledge folder"):
        load_articles(tmp_path / "missing")


def test_a_bad_file_in_the_tree_is_named(tmp_path: Path) -> None:
    for language in LANGUAGES:
        (tmp_path / language).mkdir()
        (tmp_path / language / "password-reset.md").write_text(
            GOOD.replace("language: en", f"language: {language}"), encoding="utf-8"
        )
    (tmp_path / "km" / "password-reset.md").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(KnowledgeError, match=r"km/password-reset\.md: cannot read"):
        KnowledgeBase.load(tmp_path)


# -- search -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "slug"),
    [
        ("i forgot my pasword and now my acount is locked", "en", "password-reset"),
        ("FortiClient VPN won't connect from home", "en", "vpn-cannot-connect"),
        ("someone sent a fake email pretending to be our bank", "en", "phishing-report"),
        ("ខ្ញុំភ្លេចពាក្យសម្ងាត់", "km", "password-reset"),
        ("ម៉ាស៊ីនព្រីនមិនដំណើរការ", "km", "printer-hardware"),
        ("\u200bវិក្កយបត្រ\u200bគិត\u200bលុយ\u200bខុស", "km", "invoice-questions"),  # zero-width spaces
    ],
)
def test_search_finds_the_article(kb: KnowledgeBase, text: str, language: str, slug: str) -> None:
    found = kb.search(text, language)
    assert found and found[0].article.slug == slug and found[0].article.language == language
    assert 0 < found[0].score <= 1


def test_khmer_spelling_variants_score_the_same(kb: KnowledgeBase) -> None:
    """Subscript DA or TA ("ប្ដូរ" / "ប្តូរ"), "ឲ្យ" or "ឱ្យ": people type both."""
    da = kb.search("សុំប្\u17d2\u178aូរលេខសម្ងាត់ ឲ្យខ្ញុំផង", "km")
    ta = kb.search("សុំប្\u17d2\u178fូរលេខសម្ងាត់ ឱ្យខ្ញុំផង", "km")
    assert da == ta and da[0].article.slug == "password-reset"


def test_search_returns_at_most_limit_best_first(kb: KnowledgeBase) -> None:
    found = kb.search("I clicked a phishing link and now my account sends spam, hacked?", "en", limit=2)
    assert 1 <= len(found) <= 2
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)
    assert kb.search("vpn", "en", limit=0) == []
    assert len(kb.scores("vpn", "en")) == len(kb.articles("en"))


@pytest.mark.parametrize("language", ["en", "km", "fr"])
def test_nothing_for_empty_or_unknown(kb: KnowledgeBase, language: str) -> None:
    assert kb.search("", language) == []
    assert kb.search("   \u200b ", language) == []
    assert kb.search("zzzz qqqq", language) == []
    assert kb.search("vpn " * 10_000, "fr") == []


def test_unmatched_questions_return_nothing(kb: KnowledgeBase, questions: list[Question]) -> None:
    """Questions no article answers: at most one in ten of the held-out ones gets an article."""
    unmatched = [q for q in questions if not q.slug]
    assert len(unmatched) / len(questions) >= 0.3
    held_out = [q for q in unmatched if not q.tune]
    strays = [q.text for q in held_out if kb.search(q.text, q.language)]
    assert len(strays) <= len(held_out) // 10, strays
    for text in ("hello", "ok", "thanks a lot, bye", "សួស្តី", "អរគុណច្រើន", "asdfgh"):
        language = "km" if any(ord(c) in KHMER for c in text) else "en"
        assert kb.search(text, language) == [], text


def test_the_question_set(questions: list[Question]) -> None:
    by_language = {lang: [q for q in questions if q.language == lang] for lang in LANGUAGES}
    assert len(by_language["en"]) >= 80 and len(by_language["km"]) >= 40
    slugs = {a.slug for a in load_articles()}
    assert {q.slug for q in questions} - {""} == slugs
    for lang, rows in by_language.items():  # both halves hold both kinds of question
        for tune in (True, False):
            half = [q for q in rows if q.tune is tune]
            assert sum(not q.slug for q in half) >= 5 and sum(bool(q.slug) for q in half) >= 15, lang


def test_shipped_thresholds_are_the_tuned_ones(kb: KnowledgeBase, questions: list[Question]) -> None:
    tune = [q for q in questions if q.tune]
    assert {lang: tune_threshold(kb, tune, lang) for lang in LANGUAGES} == THRESHOLDS


def test_precision_and_recall_on_the_held_out_half(kb: KnowledgeBase, questions: list[Question]) -> None:
    """The figures docs/knowledge.md states, on questions the threshold was not tuned on."""
    held_out = [q for q in questions if not q.tune]
    overall = evaluate(kb, held_out)
    assert (round(overall.precision, 2), round(overall.recall, 2)) == (0.94, 0.91)
    assert overall.false_on_unanswerable == 3
    for language in LANGUAGES:
        figures = evaluate(kb, [q for q in held_out if q.language == language])
        assert figures.precision >= 0.9, (language, figures)
        assert figures.recall >= 0.85, (language, figures)


def test_a_question_asked_again_gets_the_same_answer_and_its_own_list(kb: KnowledgeBase) -> None:
    question = "I clicked a phishing link and now my account sends spam, hacked?"
    first = kb.search(question, "en", limit=2)
    first.clear()  # what a caller does with its answer changes nothing for the next one
    again = kb.search(question, "en", limit=2)
    assert again and again == kb.search(question, "en", limit=2)
    assert kb.search(question, "en", limit=1) == again[:1]
