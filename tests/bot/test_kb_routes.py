"""The knowledge routes (bot/kb_routes.py) on a tiny app holding only them, and the body of
`supportbot kb search` (bot/kb_cli.py)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import typer
from fastapi import FastAPI
from typer.testing import CliRunner

from bot.kb_cli import kb_search_command
from bot.kb_routes import build_kb_router
from desk.knowledge import KnowledgeBase, load_articles

EVIL = """---
title: "<script>alert('title')</script> & more"
category: security
keywords: ["<b>kw</b>"]
language: en
slug: evil
---

Summary with <img src=x onerror=alert(1)> and <script>alert('body')</script> inline.
And a [link](javascript:alert(1)) too.

1. Step with **bold** text.
2. <iframe src="https://evil.example.com"></iframe>
"""


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.fixture
async def client(kb: KnowledgeBase) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(build_kb_router(kb))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


def assert_safe_html(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "script-src" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script" not in response.text.lower()
    assert not re.search(r"<[^>]*\son\w+=", response.text)  # no event handler attributes
    assert "style=" not in response.text


async def test_index_lists_every_article_in_both_languages(
    client: httpx.AsyncClient, kb: KnowledgeBase
) -> None:
    response = await client.get("/kb")
    assert response.status_code == 200
    assert_safe_html(response)
    for article in kb.articles():
        assert f'href="{article.url}"' in response.text
    assert "Help articles" in response.text and "អត្ថបទជំនួយ" in response.text
    assert '<html lang="en">' in response.text


async def test_index_searches(client: httpx.AsyncClient) -> None:
    response = await client.get("/kb", params={"q": "ភ្លេចពាក្យសម្ងាត់", "language": "km"})
    assert response.status_code == 200
    assert_safe_html(response)
    assert '<html lang="km">' in response.text
    results = response.text.split("</ul>")[0]
    assert 'href="/kb/km/password-reset"' in results
    none = await client.get("/kb", params={"q": "hello there"})
    assert "No article answers this" in none.text
    echoed = await client.get("/kb", params={"q": '"><script>alert(1)</script>'})
    assert_safe_html(echoed)
    assert "&quot;&gt;&lt;script&gt;" in echoed.text
    assert (await client.get("/kb", params={"language": "fr"})).status_code == 422


async def test_an_article_as_html(client: httpx.AsyncClient) -> None:
    response = await client.get("/kb/en/vpn-cannot-connect")
    assert response.status_code == 200
    assert_safe_html(response)
    assert "<h1>VPN cannot connect</h1>" in response.text
    assert "<ol>" in response.text and "<li>Quit the VPN client completely" in response.text
    assert 'href="/kb/km/vpn-cannot-connect"' in response.text  # the Khmer version
    assert 'href="/kb.css"' not in response.text and 'href="/kb/kb.css"' in response.text
    khmer = await client.get("/kb/km/vpn-cannot-connect")
    assert khmer.status_code == 200 and '<html lang="km">' in khmer.text
    assert "<h1>VPN ភ្ជាប់មិនបាន</h1>" in khmer.text
    assert 'href="/kb/en/vpn-cannot-connect"' in khmer.text


@pytest.mark.parametrize(
    "path", ["/kb/en/no-such-article", "/kb/fr/vpn-cannot-connect", "/kb/en/VPN-Cannot-Connect"]
)
async def test_unknown_articles_are_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert_safe_html(response)
    assert "No such article." in response.text
    assert (await client.get("/kb/en/..%2F..%2Fpyproject.toml")).status_code == 404


async def test_the_stylesheet(client: httpx.AsyncClient) -> None:
    response = await client.get("/kb/kb.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "font-family" in response.text


async def test_markdown_and_front_matter_are_escaped(tmp_path: Path) -> None:
    """An article is trusted text, yet HTML in it is shown, never run."""
    articles = load_articles()
    for language in ("en", "km"):
        folder = tmp_path / language
        folder.mkdir()
        for article in articles:
            if article.language == language:
                (folder / article.path.name).write_text(
                    article.path.read_text(encoding="utf-8"), encoding="utf-8"
                )
        (folder / "evil.md").write_text(
            EVIL.replace("language: en", f"language: {language}"), encoding="utf-8"
        )
    app = FastAPI()
    app.include_router(build_kb_router(KnowledgeBase.load(tmp_path)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        response = await http.get("/kb/en/evil")
        index = await http.get("/kb")
    assert response.status_code == 200
    for page in (response, index):
        assert_safe_html(page)
        assert "<iframe" not in page.text and "<img" not in page.text
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt; &amp; more" in response.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in response.text
    assert 'href="javascript' not in response.text and "[link](javascript:alert(1))" in response.text
    assert "<strong>bold</strong>" in response.text


async def test_api_search(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/kb", params={"q": "I was charged twice for the same invoice"})
    assert response.status_code == 200
    hits = response.json()
    assert 1 <= len(hits) <= 2
    assert set(hits[0]) == {"slug", "title", "summary", "url", "score"}
    assert hits[0]["slug"] == "invoice-questions"
    assert hits[0]["url"] == "/kb/en/invoice-questions"
    assert hits[0]["summary"].startswith("An invoice shows an amount")
    assert 0 < hits[0]["score"] <= 1
    khmer = await client.get("/api/kb", params={"q": "ខ្ញុំបានបង់លុយហើយ តែមិនទាន់ទទួលបាន", "language": "km"})
    assert khmer.json()[0]["url"] == "/kb/km/payment-not-received"
    assert (await client.get("/api/kb", params={"q": "hello"})).json() == []
    assert len((await client.get("/api/kb", params={"q": "email", "limit": 5})).json()) <= 5


@pytest.mark.parametrize(
    "params", [{}, {"q": ""}, {"q": "vpn", "language": "fr"}, {"q": "vpn", "limit": 0}, {"q": "x" * 2001}]
)
async def test_api_search_refuses_bad_parameters(
    client: httpx.AsyncClient, params: dict[str, object]
) -> None:
    response = await client.get("/api/kb", params=params)  # type: ignore[arg-type]
    assert response.status_code == 422


async def test_no_auth_needed(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/kb", params={"q": "vpn"}, headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 200


# -- the `supportbot kb search` command body (bot/kb_cli.py) ---------------------------------------


def cli() -> typer.Typer:
    app = typer.Typer()
    kb_app = typer.Typer()
    app.add_typer(kb_app, name="kb")
    kb_app.command("search")(kb_search_command)
    return app


def test_cli_search_prints_matches_as_json() -> None:
    result = CliRunner().invoke(cli(), ["kb", "search", "vpn keeps failing from home"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["language"] == "en" and printed["threshold"] > 0
    assert printed["matches"][0]["slug"] == "vpn-cannot-connect"
    khmer = CliRunner().invoke(cli(), ["kb", "search", "ភ្លេចពាក្យសម្ងាត់", "--language", "km"])
    assert json.loads(khmer.stdout)["matches"][0]["url"] == "/kb/km/password-reset"
    assert json.loads(CliRunner().invoke(cli(), ["kb", "search", "hello"]).stdout)["matches"] == []
    every = json.loads(CliRunner().invoke(cli(), ["kb", "search", "hello", "--all"]).stdout)["matches"]
    assert len(every) >= 12


def test_cli_search_errors_are_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli(), ["kb", "search", "vpn", "--language", "fr"])
    assert result.exit_code == 2 and "--language must be one of en, km" in result.stderr
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "broken.md").write_text("no front matter", encoding="utf-8")
    broken = CliRunner().invoke(cli(), ["kb", "search", "vpn", "--root", str(tmp_path)])
    assert broken.exit_code == 2
    assert broken.stderr.strip().count("\n") == 0 and "broken.md: no front matter" in broken.stderr
