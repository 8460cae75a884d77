"""Reading figures from policy prose: numbers, units, deadlines, amounts, frequencies and places."""

from __future__ import annotations

from typing import Any

import pytest

from agent.knowledge import load
from agent.knowledge.schema import Quantity
from agent.quantities import (
    amounts,
    compare,
    frequencies,
    locations,
    mentions_for,
    parse_number,
    place_code,
    rule_text,
    times,
)


def rule(kind: str, **fields: Any) -> Quantity:
    defaults: dict[str, Any] = {"subject": (0,), "source_id": "s", "quote": "q"}
    return Quantity(kind=kind, **{**defaults, **fields})  # type: ignore[arg-type]


AT_LEAST_6Y = rule("duration", comparator="at_least", value=6, unit="years")
AT_LEAST_2Y = rule("duration", comparator="at_least", value=2, unit="years")
WITHIN_72H = rule("deadline", comparator="at_most", value=72, unit="hours")
IMMEDIATELY = rule("deadline", comparator="at_most", value=0, unit="immediately")
DAILY = rule("frequency", comparator="at_least", value=1, unit="day")
ANNUALLY = rule("frequency", comparator="at_least", value=1, unit="year")
IN_KZ = rule("location", comparator="in", place="KZ")
THRESHOLD_USD_1000 = rule("threshold", comparator="at_most", value=1000, unit="USD")
LIMIT_USD_1000_MONTH = rule("amount", comparator="at_most", value=1000, unit="USD", per="month")
CAPITAL_KZT_50M = rule("amount", comparator="at_least", value=50_000_000, unit="KZT")


def verdicts(q: Quantity, text: str) -> list[str]:
    return [compare(q, m) for m in mentions_for(q, text)]


@pytest.mark.parametrize(("text", "value"), [
    ("five", 5), ("six", 6), ("twelve", 12), ("seventy-two", 72), ("seventy two", 72), ("twenty-four", 24),
    ("one hundred and twenty", 120), ("fifty million", 50_000_000), ("two hundred million", 200_000_000),
    ("1,000", 1000), ("1 000", 1000), ("50 000 000", 50_000_000), ("2.5", 2.5), ("a", 1),
])
def test_numbers_in_digits_and_words(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["five and seven", "Section", "v2", "fifty-ish"])
def test_non_numbers_are_not_numbers(text: str) -> None:
    assert parse_number(text) is None


# --- durations and units ---------------------------------------------------------------


@pytest.mark.parametrize(("text", "verdict"), [
    ("Records are kept for five years.", "short"),
    ("Records are kept for 5 years.", "short"),
    ("Records are kept for six (6) years.", "meets"),
    ("Records are kept for seven years.", "meets"),
    ("Records are kept for at least five years after the relationship ends.", "short"),
    ("Records are kept for 72 months.", "meets"),  # 72 months are six years
    ("Records are kept for 71 months.", "short"),
    ("Records are kept for 24 months.", "short"),
    ("Records are kept for between five and seven years.", "meets"),  # the range may reach six: not a clear shortfall
])
def test_retention_periods_compare_across_units(text: str, verdict: str) -> None:
    assert verdicts(AT_LEAST_6Y, text) == [verdict]


def test_twenty_four_months_equal_two_years_both_ways() -> None:
    assert verdicts(AT_LEAST_2Y, "Files are kept for 24 months.") == ["meets"]
    assert verdicts(rule("duration", comparator="at_least", value=24, unit="months"), "Files are kept for two years.") == ["meets"]
    assert verdicts(rule("duration", comparator="at_least", value=25, unit="months"), "Files are kept for two years.") == ["short"]


@pytest.mark.parametrize("text", [
    "Our analysts have five years of experience.",
    "Analysts need 5+ years' experience in compliance.",
    "We reviewed the files of the last five years.",
    "The framework was introduced five years ago.",
    "Applicants must be aged 18 years or over.",
    "Customers must be at least 18 years old.",
    "The risk rating is reviewed every two years.",
    "Records can be produced within 48 hours.",
])
def test_durations_that_are_not_retention_periods_are_ignored(text: str) -> None:
    assert all(v == "unknown" for v in verdicts(AT_LEAST_6Y, text)), text


@pytest.mark.parametrize("text", [
    "See section 5.2 of the AML Rules and AML 14.5.1.",
    "Version 3.1 was approved on 1 January 2024.",
    "Rule 6 applies to 1,000 customers in 2025.",
    "Call +7 701 123 4567 for help.",
])
def test_section_numbers_dates_versions_and_bare_numbers_are_not_figures(text: str) -> None:
    assert times(text) == [] and amounts(text) == [] and frequencies(text) == [] and locations(text) == []


# --- deadlines -----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "verdict"), [
    ("We notify the regulator immediately.", "meets"),
    ("We notify the regulator forthwith.", "meets"),
    ("We notify the regulator without delay.", "meets"),
    ("We notify the regulator within one hour.", "meets"),
    ("We notify the regulator within 24 hours.", "short"),
    ("We notify the regulator within 72 hours.", "short"),
    ("We notify the regulator within seventy-two hours.", "short"),
    ("We notify the regulator no later than three business days after detection.", "short"),
    ("We notify the regulator by the end of the next business day.", "short"),
])
def test_deadlines_against_immediately(text: str, verdict: str) -> None:
    assert verdict in verdicts(IMMEDIATELY, text)


@pytest.mark.parametrize("text", [
    "We notify the regulator promptly.",
    "We notify the regulator without undue delay.",
    "We notify the regulator as soon as practicable.",
    "We notify the regulator as soon as reasonably possible.",
])
def test_vague_deadlines_neither_meet_nor_contradict(text: str) -> None:
    assert verdicts(IMMEDIATELY, text) == ["unknown"]


@pytest.mark.parametrize(("text", "verdict"), [
    ("within 24 hours", "meets"),   # stricter than 72 hours
    ("within 72 hours", "meets"),
    ("within 3 days", "meets"),
    ("within four days", "short"),
    ("within 3 business days", "meets"),  # at least 72 hours, maybe more: not a clear shortfall
    ("within 4 business days", "short"),  # at least 96 hours
    ("within a week", "short"),
    ("on the same business day", "meets"),
])
def test_deadlines_against_72_hours_are_conservative_about_business_days(text: str, verdict: str) -> None:
    assert verdicts(WITHIN_72H, f"We notify the regulator {text}.") == [verdict]


# --- amounts -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value", "currency"), [
    ("USD 1,000", 1000, "USD"), ("$1,000", 1000, "USD"), ("US$1,000", 1000, "USD"), ("USD1,000", 1000, "USD"),
    ("EUR 1 000", 1000, "EUR"), ("€1,000", 1000, "EUR"), ("1,000 US dollars", 1000, "USD"),
    ("one thousand US dollars", 1000, "USD"), ("KZT 5 million", 5_000_000, "KZT"), ("5 million tenge", 5_000_000, "KZT"),
    ("50 000 000 (fifty million) tenge", 50_000_000, "KZT"), ("$2.5m", 2_500_000, "USD"), ("GBP 10k", 10_000, "GBP"),
])
def test_amounts_with_currencies(text: str, value: float, currency: str) -> None:
    [m] = amounts(f"The limit is {text} in total.")
    assert (m.lo, m.currency, m.per) == (value, currency, None)


@pytest.mark.parametrize(("text", "per"), [
    ("USD 1,000 per month", "month"), ("USD 1,000 a month", "month"), ("USD 1,000 within one calendar month", "month"),
    ("a monthly limit of USD 1,000", "month"), ("USD 10,000 per year", "year"), ("USD 50 daily", "day"),
])
def test_amounts_per_period(text: str, per: str) -> None:
    [m] = amounts(text)
    assert m.per == per


@pytest.mark.parametrize(("text", "verdict"), [
    ("Retail clients may deposit up to USD 1,000 per month.", "meets"),
    ("Retail clients may deposit up to USD 500 per month.", "meets"),
    ("Retail clients may deposit up to USD 2,000 per month.", "short"),
    ("Retail clients may deposit up to USD 5,000 per year.", "short"),  # all of it may arrive in one month
    ("Retail clients may deposit up to USD 200 per week.", "meets"),  # four full weeks fit in a month: 800
    ("Retail clients may deposit up to USD 100 per day.", "short"),  # 28 days: 2,800
    ("Retail clients may deposit up to USD 3,000.", "short"),  # nothing stops all of it arriving in one month
    ("Retail clients may deposit up to USD 3,000 in total.", "unknown"),  # an aggregate cap is another limit
    ("Total deposits by a retail client are capped at USD 100,000.", "unknown"),
    ("Retail clients may deposit up to EUR 5,000 per month.", "unknown"),  # another currency: not compared
])
def test_limits_per_period(text: str, verdict: str) -> None:
    assert verdicts(LIMIT_USD_1000_MONTH, text) == [verdict]


def test_thresholds_and_minimum_amounts() -> None:
    assert verdicts(THRESHOLD_USD_1000, "Full details go with transfers of USD 3,000 or more.") == ["short"]
    assert verdicts(THRESHOLD_USD_1000, "Full details go with transfers of USD 1,000 or more.") == ["meets"]
    assert verdicts(THRESHOLD_USD_1000, "Full details go with transfers of USD 250 or more.") == ["meets"]
    assert verdicts(CAPITAL_KZT_50M, "Our charter capital is KZT 20 million.") == ["short"]
    assert verdicts(CAPITAL_KZT_50M, "Our charter capital is 60 000 000 tenge.") == ["meets"]
    assert verdicts(CAPITAL_KZT_50M, "Our charter capital is USD 100,000.") == ["unknown"]


# --- frequencies ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "daily", "annually"), [
    ("daily", "meets", "meets"), ("every day", "meets", "meets"), ("each business day", "meets", "meets"),
    ("weekly", "short", "meets"), ("monthly", "short", "meets"), ("quarterly", "short", "meets"),
    ("twice a year", "short", "meets"), ("annually", "short", "meets"), ("at least once a year", "short", "meets"),
    ("every 12 months", "short", "meets"), ("every two years", "short", "short"), ("biennially", "short", "short"),
    ("every other year", "short", "short"), ("once every three years", "short", "short"),
])
def test_frequencies(text: str, daily: str, annually: str) -> None:
    sentence = f"Wallets are reconciled {text}."
    assert verdicts(DAILY, sentence) == [daily]
    assert verdicts(ANNUALLY, sentence) == [annually]


@pytest.mark.parametrize("text", [
    "Clients state their annual income.", "Staff take their annual leave.", "The monthly fee is waived.",
    "The annual accounts are audited.", "Wallets are reconciled periodically.", "Wallets are reconciled regularly.",
])
def test_adjectives_and_vague_words_are_not_frequencies(text: str) -> None:
    assert frequencies(text) == []


# --- places --------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "code"), [
    ("Kazakhstan", "KZ"), ("the Republic of Kazakhstan", "KZ"), ("RK", "KZ"), ("Astana", "KZ"), ("Almaty", "KZ"),
    ("AIFC", "KZ"), ("Dubai", "AE"), ("Abu Dhabi", "AE"), ("UAE", "AE"), ("United Arab Emirates", "AE"),
    ("London", "GB"), ("Germany", "DE"), ("Frankfurt", "DE"), ("Singapore", "SG"), ("the European Union", "EU"),
])
def test_places_resolve_to_countries(name: str, code: str) -> None:
    assert place_code(name) == code


@pytest.mark.parametrize(("text", "verdict"), [
    ("Our MLRO, based in our Dubai office, reports to the Board.", "short"),
    ("The MLRO is resident in Kazakhstan.", "meets"),
    ("The MLRO is resident in the Republic of Kazakhstan.", "meets"),
    ("The MLRO is based in Astana.", "meets"),
    ("The MLRO works from our Almaty office.", "meets"),
    ("The MLRO is based in the AIFC.", "meets"),
    ("The MLRO is located in the UAE.", "short"),
    ("The MLRO lives in Abu Dhabi.", "short"),
    ("A London-based MLRO leads the team.", "short"),
    ("The MLRO may be based outside Kazakhstan.", "short"),
    ("The MLRO is a resident of the United Arab Emirates.", "short"),
])
def test_locations(text: str, verdict: str) -> None:
    assert verdicts(IN_KZ, text) == [verdict]


@pytest.mark.parametrize("text", [
    "The MLRO is not based in Dubai.", "Client assets are held in trust.", "The MLRO travels to Dubai twice a year.",
    "The policy is kept in line with the rules.",
])
def test_no_place_is_read_where_none_is_stated(text: str) -> None:
    assert locations(text) == []


# --- the pack's figures --------------------------------------------------------------------


def pack_quantities() -> list[tuple[str, str, Quantity]]:
    return [(r.id, el.name, el.quantity) for code in ("KZ", "INTL") for r in load(code).requirements
            for el in r.elements if el.quantity is not None]


def test_the_pack_annotates_the_figures_its_rules_state() -> None:
    annotated = {(rid, q.kind) for rid, _, q in pack_quantities()}
    for expected in [("KZ-AIFC-AML-008", "duration"), ("INTL-FATF-REC-001", "duration"), ("KZ-AIFC-AML-009", "location"),
                     ("KZ-AIFC-CYB-004", "deadline"), ("KZ-AIFC-AML-006", "threshold"), ("KZ-AIFC-CON-002", "amount"),
                     ("KZ-AIFC-CYB-002", "frequency"), ("KZ-NAT-LIC-001", "amount")]:
        assert expected in annotated


@pytest.mark.parametrize(("rid", "name", "q"), pack_quantities(), ids=lambda x: x if isinstance(x, str) else "")
def test_every_pack_figure_is_stated_by_its_quote(rid: str, name: str, q: Quantity) -> None:
    """The figure is read back from the rule's own words: no figure the source does not state."""
    found = [m for m in mentions_for(q, q.quote) if compare(q, m) == "meets"]
    assert found, f"{rid} | {name}: {rule_text(q)!r} is not stated by {q.quote!r}"
    if q.kind in ("amount", "threshold"):
        assert any(m.lo == q.value and m.currency == q.unit and m.per == q.per for m in found)
    if q.kind == "location":
        assert any(m.place == q.place for m in found)
