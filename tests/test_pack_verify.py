"""`agent pack verify`: a quote must be found in its stored excerpt, on the publisher's own site for official tiers."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from agent.cli import app
from agent.knowledge.schema import Pack
from agent.knowledge.verify import check_pack, site

TODAY = dt.date(2026, 12, 2)
EXCERPT = ("Article 59. Authorisation of crypto-asset service providers. 1. A person shall not provide crypto-asset "
           "services, within the Union, unless that person is a legal person that has been authorised.")
QUOTE = "A person shall not provide crypto-asset services, within the Union, unless that person is a legal person that has been authorised."


def quote(text: str = QUOTE, excerpt: str = EXCERPT, url: str = "https://eur-lex.europa.eu/eli/reg/2023/1114/oj") -> dict[str, Any]:
    return {"text": text, "url": url, "retrieved": "2026-11-30", "locator": "Art. 59(1)", "excerpt": excerpt,
            "sha256": hashlib.sha256(excerpt.encode("utf-8")).hexdigest()}


def pack(**source: Any) -> Pack:
    src = {"id": "mica", "title": "MiCA", "url": "https://eur-lex.europa.eu/eli/reg/2023/1114/oj", "publisher": "EU",
           "tier": "law", "published": "2023-06-09", "retrieved": "2026-11-30", "quotes": [quote()], **source}
    return Pack.model_validate({
        "code": "XX", "name": "Test", "version": "1", "as_of": "2026-11-30", "regimes": {"EU": "test"},
        "sources": [src],
        "facts": [{"id": "XX-F-1", "regimes": ["EU"], "topics": ["licensing"], "section": "status", "as_of": "2026-11-30",
                   "text": "CASPs need authorisation.", "citations": [{"source_id": "mica", "quote": "unless that person is a legal person"}]}],
    })


def test_a_quote_seen_in_its_excerpt_passes_and_curly_quotes_and_spacing_do_not_matter() -> None:
    assert check_pack(pack(), TODAY).ok
    curly = EXCERPT.replace("Union,", "Union,\n  ") + " It is the \u201cauthorisation\u201d."
    check = check_pack(pack(quotes=[quote(excerpt=curly), quote(text='It is the "authorisation".', excerpt=curly)]), TODAY)
    assert check.ok, check.render()
    assert check.counts["quotes"] == 2 and check.counts["citations"] == 1


def test_an_edited_excerpt_or_a_quote_it_does_not_contain_fails() -> None:
    tampered = quote()
    tampered["excerpt"] = EXCERPT.replace("shall not", "may")
    errors = check_pack(pack(quotes=[tampered]), TODAY).errors
    assert any("sha256" in e for e in errors) and any("not found in its stored excerpt" in e for e in errors)
    # Case is not folded: a retyped quote with different capitals is not the text that was seen.
    assert not check_pack(pack(quotes=[quote(text=QUOTE.upper())]), TODAY).ok


def test_a_repost_cannot_carry_an_official_tier() -> None:
    repost = quote(url="https://www.some-law-blog.com/mica-article-59")
    check = check_pack(pack(quotes=[repost]), TODAY)
    assert any("repost" in e for e in check.errors)
    ok = check_pack(pack(quotes=[repost], tier="secondary", url="https://www.some-law-blog.com/mica",
                         official_url="https://eur-lex.europa.eu/eli/reg/2023/1114/oj"), TODAY)
    assert ok.ok, ok.render()


def test_quotes_without_a_page_are_refused_and_future_retrievals_fail() -> None:
    with pytest.raises(ValidationError):
        pack(quotes=[QUOTE])  # a bare string: no page, retrieval date or excerpt
    future = quote()
    future["retrieved"] = "2027-01-01"
    assert not check_pack(pack(quotes=[future], retrieved="2027-01-01"), TODAY).ok


def test_stale_items_are_listed_and_fail_only_when_strict() -> None:
    amended = pack(effective_to="2026-01-01", amendments=[
        {"title": "Amending Regulation", "date": "2026-06-01", "reference": "Regulation (EU) 2026/1", "incorporated": False}])
    check = check_pack(amended, TODAY)
    assert check.ok and len(check.stale) == 2
    assert "no longer in effect" in check.render() and "may predate Amending Regulation" in check.render()
    assert not check_pack(amended, TODAY, strict=True).ok


@pytest.mark.parametrize(("url", "expected"), [
    ("https://eur-lex.europa.eu/x", "europa.eu"), ("https://rulebook.centralbank.ae/en", "centralbank.ae"),
    ("https://www.legislation.gov.uk/ukpga/2000/8", "legislation.gov.uk"), ("https://www.fatf-gafi.org/en", "fatf-gafi.org"),
])
def test_site_is_the_registrable_domain(url: str, expected: str) -> None:
    assert site(url) == expected


def test_pack_list_shows_every_shipped_pack() -> None:
    result = CliRunner().invoke(app, ["pack", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert {"KZ", "INTL"} <= {r["code"] for r in rows}
    assert all(r["sources"] and r["version"] and r["as_of"] for r in rows)


def test_pack_verify_rejects_an_unknown_pack() -> None:
    result = CliRunner().invoke(app, ["pack", "verify", "ZZ"])
    assert result.exit_code == 2 and "no knowledge pack for ZZ" in result.output
