"""The shipped knowledge pack: valid, every item sourced and dated, baseline labelled."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pydantic import ValidationError

from agent.knowledge import available, index_for, load, pack_for
from agent.knowledge.schema import Pack
from agent.models import DOMAINS, TOPICS

PACKS = available()


def test_kazakhstan_and_baseline_are_shipped() -> None:
    assert {"KZ", "INTL"} <= set(PACKS)


@pytest.mark.parametrize("code", PACKS)
def test_every_item_has_a_resolvable_dated_source(code: str) -> None:
    pack = load(code)
    sources = {s.id: s for s in pack.sources}
    items = [*pack.facts, *pack.requirements, *pack.statuses]
    assert items
    for item in items:
        label = getattr(item, "id", None) or item.topic
        assert item.citations, f"{label} has no source"
        for c in item.citations:
            s = sources[c.source_id]
            assert s.url or s.legal_id, f"{label}: source {s.id} has no URL or legal identifier"
            assert s.retrieved <= dt.date.today()
            assert s.published is None or s.published <= s.retrieved, f"{s.id}: published after it was retrieved"
    for item in [*pack.facts, *pack.requirements]:
        assert item.as_of <= dt.date.today()


def test_an_unsourced_item_is_rejected_at_load() -> None:
    raw = json.loads(load("KZ").model_dump_json())
    raw["facts"][0]["citations"] = []
    with pytest.raises(ValidationError):
        Pack.model_validate(raw)
    raw = json.loads(load("KZ").model_dump_json())
    raw["requirements"][0]["citations"][0]["source_id"] = "no-such-source"
    with pytest.raises(ValidationError):
        Pack.model_validate(raw)


def test_a_quote_not_in_the_source_text_is_rejected_at_load() -> None:
    raw = json.loads(load("KZ").model_dump_json())
    cited = next(c for f in raw["facts"] for c in f["citations"] if c["quote"])
    cited["quote"] = "an invented sentence that no source contains"
    with pytest.raises(ValidationError, match="quote not found"):
        Pack.model_validate(raw)


def test_kazakhstan_covers_both_regimes_and_every_topic() -> None:
    kz = load("KZ")
    assert {"AIFC", "national"} <= set(kz.regimes)
    assert {r.regime for r in kz.requirements} >= {"AIFC", "national"}
    for topic in TOPICS:
        n = sum(1 for r in kz.requirements if topic in r.topics)
        assert n >= 5, f"only {n} requirements for {topic}"
        assert any(s.topic == topic for s in kz.statuses), f"no status for {topic}"
    assert {r.domain for r in kz.requirements} >= set(DOMAINS[:8])


def test_baseline_is_labelled_and_never_local_law() -> None:
    intl = load("INTL")
    assert set(intl.regimes) == {"baseline"}
    assert all(r.regime == "baseline" for r in intl.requirements)
    assert all("baseline" in s.status.lower() for s in intl.statuses)
    pack, baseline = pack_for("DE")
    assert baseline and pack.code == "INTL"
    assert pack_for("KZ") == (load("KZ"), False)


def test_full_text_search_finds_relevant_items() -> None:
    hits = index_for("KZ").search("segregation of client digital assets custody", limit=5)
    assert hits and any("segregat" in h.text.lower() for h in hits)
