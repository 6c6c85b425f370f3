"""Public self-service articles over HTTP: `/kb` (index and search), `/kb/{language}/{slug}`
(one article as HTML) and `/api/kb?q=` (search as JSON). No auth: the articles are public.

Pages are rendered on the server with no script at all: the Markdown goes through markdown-it
with raw HTML disabled (it comes out escaped) and everything else is escaped here; a
Content-Security-Policy allows only the stylesheet at `/kb/kb.css`.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from markdown_it import MarkdownIt
from pydantic import BaseModel

from desk.knowledge import CATEGORIES, LANGUAGES, Article, KnowledgeBase

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "public, max-age=300",
}

LANGUAGE_NAMES = {"en": "English", "km": "ខ្មែរ"}
CATEGORY_NAMES = {
    "en": {
        "technical": "Technical",
        "billing": "Billing and payments",
        "infrastructure": "Infrastructure and maintenance",
        "security": "Security",
    },
    "km": {
        "technical": "បច្ចេកទេស",
        "billing": "វិក្កយបត្រ និងការបង់ប្រាក់",
        "infrastructure": "ហេដ្ឋារចនាសម្ព័ន្ធ និងការថែទាំ",
        "security": "សុវត្ថិភាព",
    },
}
TEXT = {
    "en": {
        "heading": "Help articles",
        "search": "Search",
        "placeholder": "Describe your problem",
        "results": "Articles for your question",
        "none": "No article answers this. Write to us in the chat and a person will help.",
        "back": "All articles",
        "other": "អានជាភាសាខ្មែរ",
        "footer": "Still stuck? Chat with us, email sales@ionetechsolution.biz or call 85596 9899 444 "
        "(Monday to Friday, 8:00 to 18:00).",
        "missing": "No such article.",
    },
    "km": {
        "heading": "អត្ថបទជំនួយ",
        "search": "ស្វែងរក",
        "placeholder": "ពិពណ៌នាបញ្ហារបស់អ្នក",
        "results": "អត្ថបទសម្រាប់សំណួររបស់អ្នក",
        "none": "គ្មានអត្ថបទណាឆ្លើយសំណួរនេះទេ។ សូមសរសេរមកយើងក្នុងការជជែក បុគ្គលិកនឹងជួយអ្នក។",
        "back": "អត្ថបទទាំងអស់",
        "other": "Read in English",
        "footer": "នៅតែមិនបាន? ជជែកជាមួយយើង អ៊ីមែល sales@ionetechsolution.biz ឬទូរស័ព្ទ 85596 9899 444 "
        "(ថ្ងៃច័ន្ទ ដល់ថ្ងៃសុក្រ ម៉ោង ៨:០០ ដល់ ១៨:០០)។",
        "missing": "រកមិនឃើញអត្ថបទនេះទេ។",
    },
}

CSS = """\
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans Khmer","Khmer OS",sans-serif;
line-height:1.6;max-width:46rem;margin:0 auto;padding:1rem 1.25rem 3rem;color:#1d2330;background:#fff}
a{color:#0b5cad}h1{font-size:1.6rem;line-height:1.3}h2{font-size:1.15rem;margin-top:2rem}
.article>p:first-child{font-size:1.05rem;color:#3a4252}.meta{color:#5b6475;font-size:.9rem}
form{display:flex;gap:.5rem;flex-wrap:wrap;margin:1rem 0}input[type=search]{flex:1 1 16rem;padding:.5rem}
select,button{padding:.5rem}ol li{margin:.35rem 0}ul.articles{padding-left:1.2rem}
footer{margin-top:2.5rem;padding-top:1rem;border-top:1px solid #dde1e8;color:#5b6475;font-size:.9rem}
"""


class KbHit(BaseModel):
    slug: str
    title: str
    summary: str
    url: str
    score: float


def _page(language: str, title: str, main: str, status: int = 200) -> HTMLResponse:
    """A whole document; `title` is plain text, `main` is already-escaped HTML."""
    text = TEXT.get(language, TEXT["en"])
    body = (
        "<!doctype html>\n"
        f'<html lang="{escape(language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)}</title><link rel="stylesheet" href="/kb/kb.css"></head>\n'
        f"<body><main>{main}</main><footer>{escape(text['footer'])}</footer></body></html>\n"
    )
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def _article_link(article: Article) -> str:
    return f'<a href="{escape(article.url)}">{escape(article.title)}</a>'


def build_kb_router(kb: KnowledgeBase) -> APIRouter:
    """The knowledge routes over `kb` (load it once at start: `KnowledgeBase.load()`)."""
    router = APIRouter(tags=["knowledge"])
    markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})

    @router.get("/kb", response_class=HTMLResponse, summary="Index of the articles, with search")
    async def index(
        q: Annotated[str, Query(max_length=2000)] = "", language: Literal["en", "km"] = "en"
    ) -> HTMLResponse:
        text = TEXT[language]
        options = "".join(
            f'<option value="{lang}"{" selected" if lang == language else ""}>{escape(LANGUAGE_NAMES[lang])}</option>'
            for lang in LANGUAGES
        )
        parts = [
            f"<h1>{escape(text['heading'])}</h1>",
            '<form method="get" action="/kb" role="search">'
            f'<input type="search" name="q" value="{escape(q)}" placeholder="{escape(text["placeholder"])}" '
            f'aria-label="{escape(text["placeholder"])}">'
            f'<select name="language" aria-label="language">{options}</select>'
            f"<button>{escape(text['search'])}</button></form>",
        ]
        if q.strip():
            found = kb.search(q, language, limit=3)
            parts.append(f"<h2>{escape(text['results'])}</h2>")
            if found:
                items = "".join(
                    f"<li>{_article_link(m.article)}<br><span class='meta'>{escape(m.article.summary)}</span></li>"
                    for m in found
                )
                parts.append(f'<ul class="articles">{items}</ul>')
            else:
                parts.append(f"<p>{escape(text['none'])}</p>")
        for lang in LANGUAGES:
            parts.append(
                f'<section lang="{lang}"><h2>{escape(TEXT[lang]["heading"])} · {LANGUAGE_NAMES[lang]}</h2>'
            )
            for category in CATEGORIES:
                articles = [a for a in kb.articles(lang) if a.category == category]
                if articles:
                    items = "".join(f"<li>{_article_link(a)}</li>" for a in articles)
                    parts.append(
                        f"<h3>{escape(CATEGORY_NAMES[lang][category])}</h3><ul class='articles'>{items}</ul>"
                    )
            parts.append("</section>")
        return _page(language, text["heading"], "\n".join(parts))

    @router.get("/kb/kb.css", include_in_schema=False)
    async def stylesheet() -> Response:
        return Response(CSS, media_type="text/css", headers=HEADERS)

    @router.get("/kb/{language}/{slug}", response_class=HTMLResponse, summary="One article as HTML")
    async def article(language: str, slug: str) -> HTMLResponse:
        found = kb.get(language, slug)
        if found is None:
            shown = language if language in LANGUAGES else "en"
            missing = TEXT[shown]["missing"]
            main = f"<h1>{escape(missing)}</h1><p><a href='/kb'>{escape(TEXT[shown]['back'])}</a></p>"
            return _page(shown, missing, main, status=404)
        text = TEXT[language]
        other = next((kb.get(lang, slug) for lang in LANGUAGES if lang != language), None)
        links = [f"<a href='/kb?language={language}'>{escape(text['back'])}</a>"]
        if other is not None:
            links.append(f'<a href="{escape(other.url)}" lang="{other.language}">{escape(text["other"])}</a>')
        # html=False: any HTML in the Markdown is shown as text, never interpreted.
        rendered = markdown.render(found.body)
        main = (
            f"<p class='meta'>{' · '.join(links)}</p>"
            f"<h1>{escape(found.title)}</h1>"
            f"<p class='meta'>{escape(CATEGORY_NAMES[language][found.category])}</p>"
            f"<div class='article'>{rendered}</div>"
        )
        return _page(language, found.title, main)

    @router.get("/api/kb", response_model=list[KbHit], summary="Search the articles")
    async def search(
        q: Annotated[str, Query(min_length=1, max_length=2000, description="The customer's words")],
        language: Literal["en", "km"] = "en",
        limit: Annotated[int, Query(ge=1, le=5)] = 2,
    ) -> list[KbHit]:
        return [
            KbHit(
                slug=m.article.slug,
                title=m.article.title,
                summary=m.article.summary,
                url=m.article.url,
                score=m.score,
            )
            for m in kb.search(q, language, limit=limit)
        ]

    return router
