"""Self-service knowledge articles: loading, validation and search.

Articles live in `knowledge/<language>/<slug>.md`, Markdown with a YAML front matter (`title`,
`category`, `keywords`, `language`, `slug`); the first paragraph is a short summary, numbered
steps follow. Every article exists in English (`en`) and Khmer (`km`) under the same slug.

Search is TF-IDF over the title, the keywords (both counted twice) and the body, with word
n-grams and character n-grams side by side: Khmer writes no spaces between words, so character
n-grams are what matches it; they also forgive English typos. Terms found in every article get
no weight. The score is the mean of the two cosine similarities. Below the language's threshold nothing is returned: a customer is better
served by no article than by a wrong one (the figures are in docs/knowledge.md).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

LANGUAGES = ("en", "km")
CATEGORIES = ("technical", "billing", "infrastructure", "security")
# In a checkout (editable install) the articles sit at the repository root; a wheel carries them here.
_HERE = Path(__file__).resolve().parent
DEFAULT_ROOT = next(
    (p for p in (_HERE.parent / "knowledge", _HERE / "knowledge") if p.is_dir()), _HERE.parent / "knowledge"
)

# Tuned on the `tune` half of tests/desk/kb_questions.csv (see `tune_threshold`): the threshold
# with the most recall there whose precision is at least 0.9.
THRESHOLDS: dict[str, float] = {"en": 0.125, "km": 0.145}

_FRONT_MATTER = re.compile(r"\A---\r?\n(.*?)\r?\n---\r?\n(.*)\Z", re.DOTALL)
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_STEP = re.compile(r"^\s*\d+\.\s+\S", re.MULTILINE)
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")  # Khmer text often carries ZWSP
_REQUIRED = ("title", "category", "keywords", "language", "slug")
MAX_QUERY = 2000  # characters of a question that are searched (a pasted log stays fast)
SEARCHES_KEPT = 1024  # questions whose answers are kept, then forgotten all at once


class KnowledgeError(ValueError):
    """An article that cannot be used; the message names its file."""


@dataclass(frozen=True)
class Article:
    slug: str
    language: str
    title: str
    category: str
    keywords: tuple[str, ...]
    summary: str  # the first paragraph, on one line
    body: str  # the Markdown after the front matter
    path: Path

    @property
    def url(self) -> str:
        return f"/kb/{self.language}/{self.slug}"


@dataclass(frozen=True)
class Match:
    article: Article
    score: float


# Khmer spellings people type either way: subscript DA and subscript TA ("ប្ដូរ" / "ប្តូរ",
# "បណ្ដាញ" / "បណ្តាញ"), and the ligature QOO TYPE TWO against QOO with subscript YO ("ឲ្យ" / "ឱ្យ").
_KHMER_VARIANTS = str.maketrans({"\u17b2": "\u17b1"})
_SUBSCRIPT_DA = "\u17d2\u178a"
_SUBSCRIPT_TA = "\u17d2\u178f"


def normalize(text: str) -> str:
    """NFC, lower case, no zero-width characters, one spelling of Khmer variants, single spaces."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text)).lower()
    text = text.translate(_KHMER_VARIANTS).replace(_SUBSCRIPT_DA, _SUBSCRIPT_TA)
    return " ".join(text.split())


def parse_article(path: Path, text: str | None = None) -> Article:
    """One article file, validated; `KnowledgeError` naming the file when anything is wrong."""

    def bad(reason: str) -> KnowledgeError:
        return KnowledgeError(f"{path}: {reason}")

    if text is None:
        try:
            text = path.read_text(encoding="utf-8-sig")  # a byte order mark is tolerated
        except (OSError, UnicodeDecodeError) as exc:
            raise bad(f"cannot read: {exc}") from None
    found = _FRONT_MATTER.match(text)
    if not found:
        raise bad("no front matter: the file must start with a line '---', the YAML, then '---'")
    try:
        meta: Any = yaml.safe_load(found.group(1))
    except yaml.YAMLError as exc:
        raise bad(f"front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise bad("front matter must be a mapping of keys to values")
    missing = [key for key in _REQUIRED if key not in meta]
    if missing:
        raise bad(f"front matter misses {', '.join(missing)}")
    unknown = sorted(set(map(str, meta)) - set(_REQUIRED))
    if unknown:
        raise bad(f"unknown front matter key(s): {', '.join(unknown)}")
    for key in ("title", "category", "language", "slug"):
        if not isinstance(meta[key], str) or not meta[key].strip():
            raise bad(f"`{key}` must be a non-empty string")
    title, category, language, slug = (meta[k].strip() for k in ("title", "category", "language", "slug"))
    if category not in CATEGORIES:
        raise bad(f"`category` is {category!r}; expected one of {', '.join(CATEGORIES)}")
    if language not in LANGUAGES:
        raise bad(f"`language` is {language!r}; expected one of {', '.join(LANGUAGES)}")
    if not _SLUG.match(slug):
        raise bad(f"`slug` {slug!r} must be lower-case words joined by hyphens")
    if path.stem != slug:
        raise bad(f"`slug` {slug!r} differs from the file name {path.name!r}")
    if path.parent.name in LANGUAGES and path.parent.name != language:
        raise bad(f"`language` {language!r} but the file is in the folder {path.parent.name!r}")
    keywords = meta["keywords"]
    if (
        not isinstance(keywords, list)
        or not keywords
        or not all(isinstance(k, str | int) and str(k).strip() for k in keywords)
    ):
        raise bad("`keywords` must be a non-empty list of words or phrases")
    body = found.group(2).strip()
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
    if not paragraphs or _STEP.match(paragraphs[0]):
        raise bad("the body must start with a summary paragraph before the steps")
    if not _STEP.search(body):
        raise bad("the body has no numbered steps ('1. ...')")
    return Article(
        slug=slug,
        language=language,
        title=title,
        category=category,
        keywords=tuple(str(k).strip() for k in keywords),
        summary=" ".join(paragraphs[0].split()),
        body=body,
        path=path,
    )


def load_articles(root: Path = DEFAULT_ROOT) -> list[Article]:
    """Every `root/<language>/*.md`, validated; each slug must exist in every language."""
    if not root.is_dir():
        raise KnowledgeError(f"{root}: no such knowledge folder")
    articles: list[Article] = []
    for language in LANGUAGES:
        folder = root / language
        paths = sorted(folder.glob("*.md")) if folder.is_dir() else []
        if not paths:
            raise KnowledgeError(f"{folder}: no articles in {language!r}")
        articles.extend(parse_article(path) for path in paths)
    slugs = {lang: {a.slug for a in articles if a.language == lang} for lang in LANGUAGES}
    every = set().union(*slugs.values())
    for language in LANGUAGES:
        for slug in sorted(every - slugs[language]):
            other = next(a for a in articles if a.slug == slug)
            raise KnowledgeError(
                f"{other.path}: no {language!r} version ({root / language / (slug + '.md')})"
            )
    return articles


def _document(article: Article) -> str:
    head = " ".join([article.title, *article.keywords])
    return normalize(f"{head} {head} {article.body}")


class _Field:
    """One TF-IDF view of the articles, scored by hand for speed.

    `TfidfVectorizer.transform` builds a sparse matrix per call (about 0.5 ms); the same
    numbers come from the analyzer, a dictionary and a dense (terms x articles) array.
    """

    def __init__(self, vectorizer: TfidfVectorizer, docs: list[str]) -> None:
        vectorizer.fit(docs)
        # scikit-learn's idf is ln((1 + n) / (1 + df)) + 1: a term in every article still
        # weighs 1. Without the + 1 it weighs (almost) nothing, since it cannot tell articles
        # apart; "my", "please" or a Khmer particle then no longer lift unrelated questions.
        vectorizer.idf_ = vectorizer.idf_ - 1.0 + 1e-3
        self.analyze = vectorizer.build_analyzer()
        self.vocabulary: dict[str, int] = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.rows = np.asarray(vectorizer.transform(docs).T.toarray(), dtype=np.float64)  # terms x articles

    def scores(self, text: str) -> np.ndarray[Any, np.dtype[np.float64]]:
        counts: dict[int, int] = {}
        for gram in self.analyze(text):
            term = self.vocabulary.get(gram)
            if term is not None:
                counts[term] = counts.get(term, 0) + 1
        if not counts:
            return np.zeros(self.rows.shape[1])
        terms = np.fromiter(counts, dtype=np.intp, count=len(counts))
        weights = (
            1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
        ) * self.idf[terms]
        weights /= np.linalg.norm(weights)
        # Rows are L2-normalised too, so the product is a cosine similarity.
        return np.asarray(weights @ self.rows[terms], dtype=np.float64)


class _Index:
    """One language's articles: word n-grams and character n-grams side by side."""

    def __init__(self, articles: Sequence[Article], language: str) -> None:
        # Imported here: the CLI's other commands need not load scikit-learn.
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.articles = list(articles)
        docs = [_document(a) for a in self.articles]
        word = TfidfVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            sublinear_tf=True,
            lowercase=False,
            stop_words="english" if language == "en" else None,
            token_pattern=r"(?u)\b\w[\w'-]*\b",
        )
        char = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 4) if language == "km" else (3, 5),
            sublinear_tf=True,
            lowercase=False,
        )
        self.fields = (_Field(word, docs), _Field(char, docs))

    def scores(self, text: str) -> np.ndarray[Any, np.dtype[np.float64]]:
        word, char = (field.scores(text) for field in self.fields)
        return np.asarray((word + char) / 2.0, dtype=np.float64)


class KnowledgeBase:
    """The articles of every language, and a precise search over them."""

    def __init__(self, articles: Iterable[Article], thresholds: dict[str, float] | None = None) -> None:
        self._articles = list(articles)
        self.thresholds = dict(THRESHOLDS if thresholds is None else thresholds)
        self._by_key = {(a.language, a.slug): a for a in self._articles}
        self._searched: dict[tuple[str, str, int], list[Match]] = {}
        self._indexes = {
            lang: _Index([a for a in self._articles if a.language == lang], lang)
            for lang in LANGUAGES
            if any(a.language == lang for a in self._articles)
        }

    @classmethod
    def load(cls, root: Path = DEFAULT_ROOT, thresholds: dict[str, float] | None = None) -> KnowledgeBase:
        return cls(load_articles(root), thresholds)

    def get(self, language: str, slug: str) -> Article | None:
        return self._by_key.get((language, slug))

    def articles(self, language: str | None = None) -> list[Article]:
        """Articles of one language (or all), by category then title."""
        chosen = [a for a in self._articles if language is None or a.language == language]
        return sorted(chosen, key=lambda a: (CATEGORIES.index(a.category), a.title))

    def scores(self, text: str, language: str = "en") -> list[Match]:
        """Every article of `language` with its score, best first; no threshold."""
        index = self._indexes.get(language)
        query = normalize(text[: MAX_QUERY * 2])[:MAX_QUERY]
        if index is None or not query:
            return []
        values = index.scores(query)
        order = np.argsort(-values, kind="stable")
        return [Match(index.articles[i], round(float(values[i]), 4)) for i in order]

    def search(self, text: str, language: str = "en", limit: int = 2) -> list[Match]:
        """The best articles for a customer's words, at most `limit`, none below the threshold.
        The articles do not change once loaded, so the answers to the last questions are kept:
        many customers open with the same few words ("internet not working")."""
        if limit < 1:
            return []
        key = (text, language, limit)
        found = self._searched.get(key)
        if found is None:
            threshold = self.thresholds.get(language, 1.0)
            found = [m for m in self.scores(text, language)[:limit] if m.score >= threshold]
            if len(self._searched) >= SEARCHES_KEPT:
                self._searched.clear()
            self._searched[key] = found
        return list(found)


_SHARED: dict[Path, KnowledgeBase] = {}


def shared(root: Path = DEFAULT_ROOT) -> KnowledgeBase:
    """The articles under `root`, loaded and indexed once per process (the chat searches them)."""
    kb = _SHARED.get(root)
    if kb is None:
        kb = _SHARED[root] = KnowledgeBase.load(root)
    return kb


# -- evaluation: the held-out questions --------------------------------------------------------


@dataclass(frozen=True)
class Question:
    text: str
    language: str
    slug: str  # "" when no article answers it
    tune: bool  # True: used to choose the threshold; False: held out to report on


def load_questions(path: Path) -> list[Question]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            Question(row["text"], row["language"], row["slug"].strip(), row["tune"].strip() == "1")
            for row in csv.DictReader(handle)
        ]


@dataclass(frozen=True)
class Figures:
    precision: float  # answered questions whose first article is the right one
    recall: float  # answerable questions whose first article is the right one
    answered: int
    answerable: int
    false_on_unanswerable: int  # questions no article answers that still got one


def evaluate(
    kb: KnowledgeBase, questions: Iterable[Question], thresholds: dict[str, float] | None = None
) -> Figures:
    """Precision and recall of the first article returned, at `thresholds` (default: the kb's)."""
    thresholds = thresholds or kb.thresholds
    answered = correct = answerable = stray = 0
    for q in questions:
        best = kb.scores(q.text, q.language)[:1]
        hit = best[0] if best and best[0].score >= thresholds[q.language] else None
        answerable += bool(q.slug)
        if hit is None:
            continue
        answered += 1
        correct += hit.article.slug == q.slug
        stray += not q.slug
    return Figures(
        precision=correct / answered if answered else 1.0,
        recall=correct / answerable if answerable else 1.0,
        answered=answered,
        answerable=answerable,
        false_on_unanswerable=stray,
    )


def tune_threshold(
    kb: KnowledgeBase, questions: Sequence[Question], language: str, min_precision: float = 0.9
) -> float:
    """The threshold with the most recall whose precision is at least `min_precision`.

    Candidates are the first-article scores themselves (rounded down to 0.005); ties in recall go
    to the higher threshold, the one that stays furthest from the wrong answers it lets through.
    """
    chosen = [q for q in questions if q.language == language]
    tops = {m[0].score for q in chosen if (m := kb.scores(q.text, language)[:1])}
    candidates = sorted({float(np.floor(s * 200) / 200) for s in tops} | {1.0})
    best: tuple[float, float] | None = None  # (recall, threshold)
    for threshold in candidates:
        figures = evaluate(kb, chosen, {language: threshold})
        if figures.precision >= min_precision and (best is None or figures.recall >= best[0]):
            best = (figures.recall, threshold)
    return 1.0 if best is None else best[1]
