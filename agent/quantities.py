"""Figures in policy prose, typed and comparable with the figures a rule states.

A policy sentence is read for the kind of figure a rule states: a duration ("at least five years",
"24 months"), a deadline ("within 72 hours", "immediately", "no later than three business days"), an
amount ("USD 1,000", "KZT 5 million", "1,000 US dollars", optionally per period), a frequency ("quarterly",
"at least once a year", "every two years") or a place ("based in our Dubai office", "resident in
Kazakhstan"). Only words that carry a unit count, so a section number, a date, a version or a bare
number is never read as a figure; durations that describe the past ("the last five years"),
experience, age or a recurrence ("every two years" is a frequency) are marked and left out where
they do not apply.

Comparisons are conservative: every figure is a range of what it can mean (a month is 28 to 31 days,
N business days are N to N + 2·⌈N/5⌉ + 2 calendar days) and a policy figure falls short of the
rule's only if its whole range does. So "3 business days" does not contradict "72 hours", while
"4 business days" does; 24 months equal two years. "Immediately" allows no fixed period longer than
IMMEDIATE_TOLERANCE_HOURS; vague words ("promptly", "without undue delay") neither meet nor
contradict a rule.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Literal

from agent.knowledge.schema import Quantity
from agent.models import Frozen

MentionKind = Literal["time", "day", "immediate", "vague", "amount", "frequency", "location"]
Qualifier = Literal["past", "experience", "age", "advance", "recurring", "period", "deadline"]
Verdict = Literal["meets", "short", "unknown"]

# A fixed period of at most this long still reads as "immediately" (one hour: the time it takes to send).
IMMEDIATE_TOLERANCE_HOURS = 1.0


class Mention(Frozen):
    """One figure found in a sentence, with the range of what it can mean."""

    kind: MentionKind
    start: int
    end: int
    text: str  # the policy's own words, with the comparator before it ("at least five years")
    lo: float | None = None  # time: hours; frequency: days between occurrences; amount: the amount
    hi: float | None = None
    currency: str | None = None
    per: str | None = None  # amount per day/week/month/quarter/year
    place: str | None = None  # ISO alpha-2 (or EU); "!KZ" for "outside Kazakhstan"
    aggregate: bool = False  # an amount stated as a total ("an aggregate limit of"), not per period
    qualifier: Qualifier | None = None


# --- numbers --------------------------------------------------------------------------------

_SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
_SCALE = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_WORD_ALT = "|".join(sorted([*_SMALL, *_SCALE], key=len, reverse=True))
# "and" only joins after a scale word: "one hundred and twenty", never "five and seven"
_AND = r"(?:(?<=hundred)|(?<=thousand)|(?<=million)|(?<=billion))[ \t]+and[ \t]+"
_WORDS = rf"\b(?:{_WORD_ALT})(?:(?:[ \t-]+|{_AND})(?:{_WORD_ALT}))*\b"
# "1,000", "1 000" (also with no-break or thin spaces), "1000", "2.5"; never part of "v2.1" or "14.5.1"
_DIGITS = r"(?<![\d.,])(?:\d{1,3}(?:(?:,|[ \u00a0\u202f])\d{3})+|\d+)(?:\.\d+)?(?![\w.]\d)"
_NUM = rf"(?:{_DIGITS}|{_WORDS})"
_RESTATED = r"(?:\s*\([^()\n]{1,40}\))?"  # "six (6) years", "50 000 000 (fifty million) tenge"


def parse_number(text: str) -> float | None:
    """'1,000' → 1000, '1 000' → 1000, 'seventy-two' → 72, 'five million' → 5e6, 'a' → 1; else None."""
    t = text.strip().lower()
    if t in ("a", "an"):
        return 1.0
    digits = re.sub(r"[,\s\u00a0\u202f]", "", t)
    if re.fullmatch(r"\d+(?:\.\d+)?", digits):
        return float(digits)
    words = [w for w in re.split(r"[\s-]+", t) if w]
    if not words or any(w not in _SMALL and w not in _SCALE and w != "and" for w in words):
        return None
    total, current, prev = 0.0, 0.0, ""
    for w in words:
        # "twenty four", "one hundred and six" are numbers; "five seven", "five and seven" are not
        if w == "and" and prev not in _SCALE or w in _SMALL and prev in _SMALL and not (20 <= _SMALL[prev] and _SMALL[w] < 10):
            return None
        prev = w
        if w == "and":
            continue
        if w in _SMALL:
            current += _SMALL[w]
        elif w == "hundred":
            current = (current or 1) * 100
        else:
            total += (current or 1) * _SCALE[w]
            current = 0
    return total + current


_SUFFIX_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "mln": 1e6, "million": 1e6,
                 "bn": 1e9, "b": 1e9, "billion": 1e9}


# --- durations and deadlines ------------------------------------------------------------------

_TIME = re.compile(
    rf"(?:(?P<n1>{_NUM})(?:\s+(?:to|and|or)\s+|\s*[-–]\s*(?=\d)))?(?P<n>{_NUM}|\ban?(?=[ \t]))\+?{_RESTATED}[ \t-]*"
    r"(?P<adj>(?:calendar|business|working|banking|clear|full|consecutive)[ \t-]+)?"
    r"(?P<unit>years?|yrs?|months?|weeks?|days?|hours?|hrs?|minutes?|mins?)\b"
    r"|(?<![\w.])(?P<nh>\d+)\s?h\b",
    re.IGNORECASE,
)
_IMMEDIATE = re.compile(
    r"\b(?:immediately|forthwith|at once|straight ?away|instantly|simultaneously|in real[- ]time|"
    r"without (?:any )?delay)\b",
    re.IGNORECASE,
)
_VAGUE = re.compile(
    r"\b(?:without (?:any )?undue delay|promptly|as soon as (?:reasonably )?(?:possible|practicable|practical|feasible)|"
    r"in a timely (?:manner|fashion)|expeditiously|swiftly)\b",
    re.IGNORECASE,
)
_SAME_DAY = re.compile(r"\b(?:on )?the same (?:business |working |calendar )?day\b", re.IGNORECASE)
_NEXT_DAY = re.compile(r"\b(?:by (?:the )?(?:end|close) of )?the (?:next|following) (?:business |working )?day\b", re.IGNORECASE)

_BEFORE_CMP = re.compile(
    r"(?:\b(?:at least|not less than|no less than|a minimum of|minimum of|minimum|up to|no more than|not more than|"
    r"at most|a maximum of|maximum of|within|no later than|not later than|more than|less than|under|over|above|"
    r"below|exceeding|in excess of|equal to or (?:more|greater|less) than)\s+)+$",
    re.IGNORECASE,
)
_AFTER_CMP = re.compile(r"^\s+(?:or|and) (?:more|longer|above|over|less|fewer|below|under|greater|higher|lower)\b", re.IGNORECASE)

_PAST_BEFORE = re.compile(r"\b(?:last|past|previous|preceding|recent|prior)\s+$", re.IGNORECASE)
_PAST_AFTER = re.compile(r"^\s*ago\b", re.IGNORECASE)
_EXPERIENCE_AFTER = re.compile(
    r"^\s*(?:['’]s?\s+|of\s+)?(?:[\w-]+\s+){0,2}?(?:experience|service|employment|tenure|seniority|practice|standing)\b",
    re.IGNORECASE,
)
_AGE = (re.compile(r"\b(?:aged|age of|ages of)\s+$", re.IGNORECASE), re.compile(r"^\s*(?:of age|old)\b", re.IGNORECASE))
_ADVANCE_AFTER = re.compile(
    r"^\s*(?:['’]s?\s+)?(?:(?:prior|advance|written)\s+)?(?:notice|before|prior to|in advance|ahead|beforehand)\b",
    re.IGNORECASE,
)
_ADVANCE_BEFORE = re.compile(r"\bnotice (?:period )?of\s+(?:at least\s+|not less than\s+|no less than\s+|a minimum of\s+)?$", re.IGNORECASE)
_RECURRING_BEFORE = re.compile(
    r"\b(?:once|twice|thrice|times|per|every|each|other)\s+(?:a\s+|an\s+|every\s+)?$", re.IGNORECASE
)
_DEADLINE_BEFORE = re.compile(r"\b(?:within|no later than|not later than|in under|in less than|in|by)\s+(?:at most\s+|no more than\s+)?$", re.IGNORECASE)
_PERIOD_BEFORE = re.compile(
    r"\bfor\s+(?:a\s+(?:minimum\s+|maximum\s+)?(?:period|term)\s+of\s+|a\s+(?:minimum|maximum)\s+of\s+|at least\s+|"
    r"not less than\s+|no less than\s+|up to\s+|a further\s+|another\s+)?$",
    re.IGNORECASE,
)


def _span_bounds(n: float, unit: str, adj: str) -> tuple[float, float]:
    """Hours that n units can mean: (shortest, longest)."""
    unit = unit.lower().rstrip("s")
    if unit in ("hour", "hr", "h"):
        return n, n
    if unit in ("minute", "min"):
        return n / 60, n / 60
    if unit == "day":
        if adj in ("business", "working", "banking"):
            return n * 24, (n + 2 * math.ceil(n / 5) + 2) * 24  # weekends and up to two public holidays
        return n * 24, n * 24
    if unit == "week":
        return n * 168, n * 168
    if unit == "month":
        return (n * 30.4375 - 2.5) * 24, (n * 30.4375 + 1.5) * 24
    if unit in ("year", "yr"):
        return (n * 365.25 - 0.75) * 24, (n * 365.25 + 0.75) * 24
    raise ValueError(unit)


def time_bounds(value: float, unit: str) -> tuple[float, float]:
    """Hours a rule's duration can mean; 'immediately' is 0 to IMMEDIATE_TOLERANCE_HOURS."""
    if unit == "immediately":
        return 0.0, IMMEDIATE_TOLERANCE_HOURS
    if unit == "business_days":
        return _span_bounds(value, "days", "business")
    return _span_bounds(value, unit, "")


def _qualifier(text: str, start: int, end: int) -> Qualifier | None:
    before, after = text[max(0, start - 48) : start], text[end : end + 60]
    if _PAST_BEFORE.search(before) or _PAST_AFTER.search(after):
        return "past"
    if _EXPERIENCE_AFTER.search(after):
        return "experience"
    if _AGE[0].search(before) or _AGE[1].search(after):
        return "age"
    if _ADVANCE_AFTER.search(after) or _ADVANCE_BEFORE.search(before):
        return "advance"
    if _RECURRING_BEFORE.search(before):
        return "recurring"
    if _PERIOD_BEFORE.search(before):
        return "period"
    if _DEADLINE_BEFORE.search(before):
        return "deadline"
    return None


def _with_comparator(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a figure's span to the comparator words around it ("at least", "or more")."""
    m = _BEFORE_CMP.search(text[max(0, start - 60) : start])
    if m:
        start -= len(m.group(0))
    a = _AFTER_CMP.match(text[end : end + 30])
    if a:
        end += a.end()
    return start, end


def _mention(kind: MentionKind, text: str, start: int, end: int, **fields: object) -> Mention:
    a, b = _with_comparator(text, start, end)
    return Mention(kind=kind, start=start, end=end, text=" ".join(text[a:b].split()), **fields)  # type: ignore[arg-type]


def times(text: str) -> list[Mention]:
    """Durations, deadlines and their words ("immediately", "promptly", "the same business day")."""
    out: list[Mention] = []
    n: float | None
    for m in _TIME.finditer(text):
        if m.group("nh"):
            n, unit, adj = float(m.group("nh")), "hours", ""
        else:
            n = parse_number(m.group("n"))
            unit, adj = m.group("unit"), (m.group("adj") or "").strip(" \t-").lower()
            if n is None:
                continue
        lo, hi = _span_bounds(n, unit, adj)
        if m.group("n1"):
            first = parse_number(m.group("n1"))
            if first is not None and first < n:  # a range: "five to seven years"
                lo = _span_bounds(first, unit, adj)[0]
        out.append(_mention("time", text, m.start(), m.end(), lo=lo, hi=hi, qualifier=_qualifier(text, m.start(), m.end())))
    for rx, kind, word_lo, word_hi in ((_VAGUE, "vague", None, None), (_IMMEDIATE, "immediate", 0.0, 0.0),
                             (_SAME_DAY, "day", 0.0, 24.0), (_NEXT_DAY, "day", 24.0, 96.0)):
        for m in rx.finditer(text):
            if any(o.start <= m.start() < o.end for o in out):  # "without undue delay" is not "without delay"
                continue
            if re.search(r"\b(?:not|never)\s+$", text[max(0, m.start() - 10) : m.start()], re.IGNORECASE):
                continue
            out.append(_mention(kind, text, m.start(), m.end(), lo=word_lo, hi=word_hi))  # type: ignore[arg-type]
    return sorted(out, key=lambda x: x.start)


# --- amounts --------------------------------------------------------------------------------

_CURRENCY = {
    "usd": "USD", "us$": "USD", "u.s.$": "USD", "$": "USD", "us dollar": "USD", "us dollars": "USD",
    "u.s. dollar": "USD", "u.s. dollars": "USD", "dollar": "USD", "dollars": "USD", "united states dollars": "USD",
    "eur": "EUR", "€": "EUR", "euro": "EUR", "euros": "EUR",
    "gbp": "GBP", "£": "GBP", "pound": "GBP", "pounds": "GBP", "pounds sterling": "GBP",
    "kzt": "KZT", "₸": "KZT", "tenge": "KZT", "kazakhstani tenge": "KZT", "kazakhstan tenge": "KZT",
    "aed": "AED", "dirham": "AED", "dirhams": "AED", "chf": "CHF", "swiss francs": "CHF",
    "rub": "RUB", "₽": "RUB", "rouble": "RUB", "roubles": "RUB", "ruble": "RUB", "rubles": "RUB",
    "cny": "CNY", "jpy": "JPY", "sgd": "SGD", "hkd": "HKD",
}
_CUR_PREFIX = r"(?P<cur>US\$|U\.S\.\s?\$|USD|EUR|GBP|KZT|AED|CHF|RUB|CNY|JPY|SGD|HKD|\$|€|£|₸|₽)"
_CUR_SUFFIX = (
    r"(?P<cur2>USD|EUR|GBP|KZT|AED|CHF|RUB|CNY|JPY|SGD|HKD|₸|(?:united states |u\.s\. |us )?dollars?|euros?|"
    r"pounds?(?: sterling)?|(?:kazakhstani? )?tenge|dirhams?|swiss francs|roubles?|rubles?)\b"
)
_SCALE_WORD = r"(?:[ \t]*(?P<scale>thousand|million|mln|billion)\b|(?P<tight>k|m|mn|bn)\b)?"
_AMOUNT = re.compile(
    rf"{_CUR_PREFIX}\s?(?P<n>{_NUM}){_SCALE_WORD}"
    rf"|(?P<n2>{_NUM}){_SCALE_WORD.replace('scale', 'scale2').replace('tight', 'tight2')}{_RESTATED}[ \t]?{_CUR_SUFFIX}",
    re.IGNORECASE,
)
_PERIOD_WORD = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year", "annum": "year",
                "daily": "day", "weekly": "week", "monthly": "month", "quarterly": "quarter", "annually": "year",
                "yearly": "year", "annual": "year"}
_PER_AFTER = re.compile(
    r"^\s*(?:\([^()]*\)\s*)?(?:(?:per|a|an|each|every|in any|in a|in each|in one|within|within one|within a|within any|"
    r"within each|over any|over a|over one)\s+(?:single\s+)?(?:calendar\s+)?(?P<per>day|week|month|quarter|year|annum)\b"
    r"|(?P<adv>daily|weekly|monthly|quarterly|annually|yearly)\b)",
    re.IGNORECASE,
)
_PER_BEFORE = re.compile(r"\b(?P<adj>daily|weekly|monthly|quarterly|annual|yearly)\s+(?:[\w-]+\s+){0,3}$", re.IGNORECASE)


_TOTAL_BEFORE = re.compile(r"\b(?:total|totalling|aggregate|overall|lifetime|cumulative|combined)\b", re.IGNORECASE)
_TOTAL_AFTER = re.compile(r"^\s*(?:in total|in aggregate|in all|overall|cumulatively|altogether)\b", re.IGNORECASE)


def amounts(text: str) -> list[Mention]:
    """Sums of money with their currency, and the period they apply to if one is stated."""
    out: list[Mention] = []
    for m in _AMOUNT.finditer(text):
        raw = m.group("n") or m.group("n2")
        n = parse_number(raw)
        cur = _CURRENCY.get(re.sub(r"\s+", " ", (m.group("cur") or m.group("cur2") or "").lower()))
        if n is None or cur is None:
            continue
        scale = (m.group("scale") or m.group("tight") or m.group("scale2") or m.group("tight2") or "").lower()
        n *= _SUFFIX_SCALE.get(scale, 1)
        per = None
        after = _PER_AFTER.match(text[m.end() : m.end() + 40])
        if after:
            per = _PERIOD_WORD[(after.group("per") or after.group("adv")).lower()]
        else:
            before = _PER_BEFORE.search(text[max(0, m.start() - 48) : m.start()])
            if before:
                per = _PERIOD_WORD[before.group("adj").lower()]
        end = m.end() + (after.end() if after else 0)
        total = bool(_TOTAL_BEFORE.search(text[max(0, m.start() - 60) : m.start()]) or _TOTAL_AFTER.match(text[end : end + 30]))
        out.append(_mention("amount", text, m.start(), end, lo=n, hi=n, currency=cur, per=per, aggregate=total))
    return out


# --- frequencies ----------------------------------------------------------------------------

_PERIOD_DAYS = {"day": (1.0, 1.0), "week": (7.0, 7.0), "fortnight": (14.0, 14.0), "month": (28.0, 31.0),
                "quarter": (89.0, 92.0), "half-year": (181.0, 184.0), "year": (365.0, 366.0),
                "two years": (730.0, 731.0), "three years": (1095.0, 1096.0), "business day": (1.0, 3.0)}
_ADVERB = {"daily": "day", "weekly": "week", "fortnightly": "fortnight", "monthly": "month", "quarterly": "quarter",
           "half-yearly": "half-year", "semi-annually": "half-year", "semi-annual": "half-year", "annually": "year",
           "yearly": "year", "annual": "year", "biennially": "two years", "biennial": "two years",
           "triennially": "three years", "triennial": "three years"}
# Adjectives count only before a noun naming an activity ("annual review"), never "annual income" or "annual leave".
_ACTIVITY = (
    r"(?:reviews?|audits?|assessments?|tests?|testing|attestations?|checks?|updates?|approvals?|re-?approvals?|"
    r"reconciliations?|reports?|reporting|disclosures?|publications?|statements?|returns?|meetings?|training|"
    r"refreshers?|certifications?|inspections?|evaluations?|verifications?|re-?assessments?|sign-?offs?|"
    r"revalidations?|renewals?|exercises?|screenings?|rescreening|monitoring|basis)"
)
_FREQ = re.compile(
    rf"\b(?P<times>{_NUM}|twice|thrice)\s+(?:times\s+)?(?:a|per|each|every|in a)\s+(?P<tp>day|week|month|quarter|year)\b"
    rf"|\b(?:once\s+)?every\s+(?P<en>{_NUM}|other|second|third)\s+(?P<eadj>calendar\s+|business\s+|working\s+)?(?P<ep>days?|weeks?|months?|quarters?|years?)\b"
    r"|\b(?:once\s+)?(?:every|each|once a|once per|once an?|per)\s+(?P<eadj1>calendar\s+|business\s+|working\s+|financial\s+)?(?P<p1>day|week|month|quarter|year|annum)\b"
    r"|\bon an? (?P<basis>daily|weekly|fortnightly|monthly|quarterly|half[- ]yearly|semi[- ]annual|annual|yearly|biennial) basis\b"
    rf"|\b(?P<adj>daily|weekly|fortnightly|monthly|quarterly|half[- ]yearly|semi[- ]annual|annual|yearly|biennial|triennial)\s+{_ACTIVITY}\b"
    r"|\b(?P<adv>daily|weekly|fortnightly|monthly|quarterly|half[- ]yearly|semi[- ]?annually|annually|yearly|biennially|triennially)\b",
    re.IGNORECASE,
)
_ORDINAL = {"other": 2, "second": 2, "third": 3}


def frequencies(text: str) -> list[Mention]:
    """How often something happens, as the range of days between two occurrences."""
    out: list[Mention] = []
    for m in _FREQ.finditer(text):
        g = m.groupdict()
        if g["times"]:
            k = {"twice": 2.0, "thrice": 3.0}.get(g["times"].lower()) or parse_number(g["times"])
            if not k:
                continue
            lo, hi = _PERIOD_DAYS[g["tp"].lower()]
            interval = (lo / k, hi / k)
        elif g["en"]:
            k = _ORDINAL.get(g["en"].lower()) or parse_number(g["en"])
            if not k:
                continue
            unit = g["ep"].lower().rstrip("s")
            if unit == "quarter":
                k, unit = k * 3, "month"
            adj = (g["eadj"] or "").strip().lower()
            h = _span_bounds(k, unit, adj)
            interval = (h[0] / 24, h[1] / 24)
        elif g["p1"]:
            p = g["p1"].lower()
            p = "year" if p == "annum" else p
            adj = (g["eadj1"] or "").strip().lower()
            interval = _PERIOD_DAYS["business day" if p == "day" and adj in ("business", "working") else p]
        else:
            key = re.sub(r"[\s-]+", "-", (g["basis"] or g["adj"] or g["adv"]).lower()).replace("semiannual", "semi-annual")
            if g["adv"] and re.match(r"\s+(?:income|salary|turnover|revenue|leave|budget|accounts|fees?|bonus|interest|"
                                     r"limit|cap|allowance|volume|subscription|holiday)", text[m.end() : m.end() + 20], re.IGNORECASE):
                continue  # "monthly income" is not how often anything happens
            interval = _PERIOD_DAYS[_ADVERB[key]]
        out.append(_mention("frequency", text, m.start(), m.end(), lo=interval[0], hi=interval[1]))
    return out


# --- places ---------------------------------------------------------------------------------

_ALIASES: dict[str, str] = {
    # Kazakhstan: the country, its usual abbreviations, cities and the AIFC
    "kazakhstan": "KZ", "republic of kazakhstan": "KZ", "rk": "KZ", "kz": "KZ", "astana": "KZ", "nur-sultan": "KZ",
    "nur sultan": "KZ", "almaty": "KZ", "shymkent": "KZ", "karaganda": "KZ", "aktau": "KZ", "atyrau": "KZ",
    "aktobe": "KZ", "aifc": "KZ", "astana international financial centre": "KZ",
    "astana international financial center": "KZ",
    # frequent places for a Central Asian virtual-asset firm's staff and servers
    "uae": "AE", "u.a.e.": "AE", "emirates": "AE", "dubai": "AE", "abu dhabi": "AE", "sharjah": "AE", "difc": "AE",
    "adgm": "AE", "uk": "GB", "u.k.": "GB", "britain": "GB", "great britain": "GB", "england": "GB", "scotland": "GB",
    "london": "GB", "edinburgh": "GB", "usa": "US", "u.s.": "US", "u.s.a.": "US", "united states": "US",
    "america": "US", "new york": "US", "san francisco": "US", "miami": "US", "eu": "EU", "european union": "EU",
    "singapore": "SG", "hong kong": "HK", "zurich": "CH", "zug": "CH", "geneva": "CH", "frankfurt": "DE",
    "berlin": "DE", "munich": "DE", "paris": "FR", "amsterdam": "NL", "dublin": "IE", "valletta": "MT",
    "limassol": "CY", "nicosia": "CY", "tallinn": "EE", "vilnius": "LT", "riga": "LV", "warsaw": "PL",
    "vienna": "AT", "prague": "CZ", "madrid": "ES", "lisbon": "PT", "milan": "IT", "rome": "IT", "stockholm": "SE",
    "moscow": "RU", "saint petersburg": "RU", "st petersburg": "RU", "tashkent": "UZ", "bishkek": "KG",
    "dushanbe": "TJ", "ashgabat": "TM", "baku": "AZ", "tbilisi": "GE", "yerevan": "AM", "istanbul": "TR",
    "ankara": "TR", "türkiye": "TR", "kyiv": "UA", "minsk": "BY", "beijing": "CN", "shanghai": "CN",
    "shenzhen": "CN", "tokyo": "JP", "seoul": "KR", "mumbai": "IN", "bangalore": "IN", "riyadh": "SA",
    "doha": "QA", "manama": "BH", "cayman islands": "KY", "cayman": "KY", "bvi": "VG",
    "british virgin islands": "VG", "seychelles": "SC", "bahamas": "BS", "gibraltar": "GI", "bermuda": "BM",
    "labuan": "MY", "toronto": "CA", "sydney": "AU",
}
_PLACE_NAMES = {"EU": "the European Union"}
_LOC_VERB = (
    r"(?:based|resident|residing|resides?|located|domiciled|living|lives?|stationed|situated|seated|headquartered|"
    r"stor(?:e|es|ing)|host(?:s|ing)|keep(?:s|ing)?|hold(?:s|ing)?|"
    r"hosted|stored|kept|held|housed|maintained|sits?|works?|working|operates?|operating|employed|relocat\w*)"
)
_VERB = re.compile(rf"\b{_LOC_VERB}\b", re.IGNORECASE)
_PREP_PLACE = re.compile(
    r"\b(?P<prep>in|within|at|from|out of|to|outside(?:\s+of)?)\s+(?=(?P<place>[\w'’.-]+(?:\s+[\w'’.-]+){0,5}))",
    re.IGNORECASE,
)
_RESIDENT_OF = re.compile(r"\bresidents?\s+of\s+(?P<place>[\w'’.-]+(?:\s+[\w'’.-]+){0,5})", re.IGNORECASE)
_PLACE_BASED = re.compile(r"\b(?P<place>[A-Z][\w'’.]*(?:[ -][A-Z][\w'’.]*){0,2})[- ](?:based|resident)\b")
_NEGATED_VERB = re.compile(r"\b(?:not|never|no longer|nor)\s+(?:\w+\s+)?$", re.IGNORECASE)
_LEAD = re.compile(
    r"^(?:(?:the|our|its|their|a|an|one of our|territory of|soil of|(?:group|company|firm|bank)['’]s)\s+)+", re.IGNORECASE
)


@lru_cache(maxsize=1)
def _places() -> dict[str, str]:
    """Lower-cased place name → ISO alpha-2: pycountry's country names plus the alias table."""
    import pycountry

    names: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(c, attr, None)
            if value:
                names[value.lower()] = c.alpha_2
    names.update(_ALIASES)
    return names


def place_code(name: str) -> str | None:
    """'Dubai' → 'AE', 'the Republic of Kazakhstan' → 'KZ', 'AIFC' → 'KZ'; None when unknown."""
    words = re.split(r"\s+", _LEAD.sub("", name.strip()))
    return _longest_place(words)[0]


def _longest_place(words: list[str]) -> tuple[str | None, int]:
    places = _places()
    for k in range(min(len(words), 5), 0, -1):
        key = " ".join(words[:k]).lower().strip(",;:()'\"’")
        if key.endswith("'s") or key.endswith("’s"):
            key = key[:-2]
        for candidate in (key, key.rstrip(".")):  # "Kazakhstan." at the end of a sentence; "U.S." keeps its dots
            if candidate in places:
                return places[candidate], k
    return None, 0


def place_name(code: str) -> str:
    if code in _PLACE_NAMES:
        return _PLACE_NAMES[code]
    import pycountry

    c = pycountry.countries.get(alpha_2=code)
    return getattr(c, "common_name", None) or (c.name if c else code)


def _resolve(text: str, m: re.Match[str]) -> Mention | None:
    """The mention for a matched place phrase, if its words name a known place."""
    raw = m.group("place")
    lead = _LEAD.match(raw)
    words = raw[lead.end() if lead else 0 :].split()
    code, k = _longest_place(words)
    if code is None:
        return None
    if (m.groupdict().get("prep") or "").lower().startswith("outside"):
        code = "!" + code
    phrase = " ".join(words[:k])
    if phrase.lower() not in _places():
        phrase = phrase.rstrip(".,;:")  # the full stop ending the sentence is not part of the place
    # the span ends after the place, and after "office", "branch" or "team" when one follows
    place_end = m.start("place") + (lead.end() if lead else 0) + len(phrase)
    tail = re.match(r"\s+(?:office|branch|headquarters|hub|team|premises|data cent(?:re|er)s?|region)\b", text[place_end:], re.IGNORECASE)
    end = max(m.end(), place_end + (tail.end() if tail else 0)) if m.re is _PLACE_BASED else place_end + (tail.end() if tail else 0)
    start = m.start("place") + (lead.end() if lead else 0) if m.re is _PLACE_BASED else m.start()
    return Mention(kind="location", start=start, end=end, text="", place=code)


def locations(text: str) -> list[Mention]:
    """Where someone or something is said to be: "based in our Dubai office", "resident in Kazakhstan"."""
    found: list[tuple[int, Mention]] = []
    for v in _VERB.finditer(text):
        if _NEGATED_VERB.search(text[max(0, v.start() - 24) : v.start()]):
            continue
        window = text[: min(len(text), v.end() + 120)]
        for p in _PREP_PLACE.finditer(window, v.end()):
            if len(text[v.end() : p.start()].split()) > 4:
                break  # too far from the verb to be where it happens
            hit = _resolve(text, p)
            if hit is not None:
                found.append((v.start(), hit))
                break
    for rx in (_RESIDENT_OF, _PLACE_BASED):
        for m in rx.finditer(text):
            if not _NEGATED_VERB.search(text[max(0, m.start() - 24) : m.start()]) and (hit := _resolve(text, m)):
                found.append((hit.start, hit))
    out: list[Mention] = []
    for start, hit in sorted(found, key=lambda x: x[0]):
        if any(o.start <= start < o.end for o in out):
            continue
        words = " ".join(text[start : hit.end].split())
        out.append(hit.model_copy(update={"start": start, "text": words}))
    return out


# --- the rule's side ------------------------------------------------------------------------


def mentions_for(q: Quantity, text: str) -> list[Mention]:
    """The figures of a sentence that can be compared with this kind of rule figure."""
    if q.kind in ("duration", "deadline"):
        return times(text)
    if q.kind in ("amount", "threshold"):
        return amounts(text)
    if q.kind == "frequency":
        return frequencies(text)
    return locations(text)


def compare(q: Quantity, m: Mention) -> Verdict:
    """Does the policy's figure meet the rule's, fall short of it, or say nothing comparable?"""
    if q.kind == "location":
        if m.kind != "location" or not m.place:
            return "unknown"
        if m.place == q.place:
            return "meets"
        return "unknown" if m.place.startswith("!") and m.place[1:] != q.place else "short"
    if q.kind in ("duration", "deadline"):
        return _compare_time(q, m)
    if q.kind == "frequency":
        if m.kind != "frequency" or m.lo is None or m.hi is None:
            return "unknown"
        return "short" if m.lo > time_rule_bounds(q)[1] else "meets"
    return _compare_amount(q, m)


def _plural(unit: str) -> str:
    return {"quarter": "months", "day": "days", "week": "weeks", "month": "months", "year": "years"}.get(unit, unit)


def time_rule_bounds(q: Quantity) -> tuple[float, float]:
    if q.kind == "frequency":
        n, unit = (q.value or 1) * (3 if q.unit == "quarter" else 1), _plural(q.unit or "year")
        lo, hi = time_bounds(n, unit)
        return lo / 24, hi / 24
    return time_bounds(q.value or 0, q.unit or "days")


def _compare_time(q: Quantity, m: Mention) -> Verdict:
    # A deadline is met or missed by any time word; a length of time ("kept for five years") only by a
    # figure stated as such, never by "within 48 hours" (how fast records are produced) or "every two years".
    kinds: tuple[str, ...]
    wanted: tuple[str | None, ...]
    if q.kind == "deadline" and q.qualifier != "advance":
        kinds, wanted = ("time", "day", "immediate"), (None, "deadline")
    elif q.qualifier == "advance":
        kinds, wanted = ("time",), ("advance",)
    else:
        kinds, wanted = ("time",), (None, "period")
    if m.kind not in kinds or m.qualifier not in wanted or m.lo is None or m.hi is None:
        return "unknown"
    lo, hi = time_bounds(q.value or 0, q.unit or "days")
    if q.comparator == "at_least":
        return "short" if m.hi < lo else "meets"
    return "short" if m.lo > hi else "meets"


_PERIOD_SPAN = {"day": (1.0, 1.0), "week": (7.0, 7.0), "month": (28.0, 31.0), "quarter": (89.0, 92.0), "year": (365.0, 366.0)}


def _compare_amount(q: Quantity, m: Mention) -> Verdict:
    if m.kind != "amount" or m.currency != q.unit or m.lo is None or q.value is None:
        return "unknown"
    if q.comparator == "at_least":  # capital: a period means some other figure (a monthly cost)
        return "unknown" if m.per else ("short" if m.lo < q.value else "meets")
    if q.per is None:
        if m.per is not None:
            return "unknown"  # "USD 5,000 per month" says nothing about a one-off threshold or an aggregate cap
        return "short" if m.lo > q.value else "meets"
    if m.per is None and m.aggregate:
        return "unknown"  # a total over time ("an aggregate cap of USD 100,000") is another limit than a monthly one
    if m.per is None or _PERIOD_SPAN[m.per][0] >= _PERIOD_SPAN[q.per][0]:
        allowed = m.lo  # a cap over the rule's period or longer lets all of it through within one rule period
    else:
        allowed = m.lo * math.floor(_PERIOD_SPAN[q.per][0] / _PERIOD_SPAN[m.per][1])
    return "short" if allowed > q.value else "meets"


_NUM_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine",
              10: "ten", 11: "eleven", 12: "twelve"}


def _count(value: float, unit: str) -> str:
    n = int(value) if float(value).is_integer() else value
    word = _NUM_WORDS.get(n, f"{n:,}") if isinstance(n, int) else str(n)
    unit = unit.replace("_", " ")
    return f"{word} {unit[:-1] if n == 1 and unit.endswith('s') else unit}"


def rule_text(q: Quantity) -> str:
    """The rule's figure in words: 'at least six years', 'immediately', 'USD 1,000 or less', 'in Kazakhstan'."""
    if q.kind == "location":
        text = f"in {place_name(q.place or '')}"
    elif q.kind in ("duration", "deadline"):
        if q.unit == "immediately":
            text = "immediately"
        else:
            cmp = {"at_least": "at least", "at_most": "within" if q.kind == "deadline" else "at most"}[q.comparator]
            text = f"{cmp} {_count(q.value or 0, q.unit or '')}"
            if q.qualifier == "advance":
                text += " in advance"
    elif q.kind == "frequency":
        text = "at least once a " + (q.unit or "") if q.value == 1 else f"at least once every {_count(q.value or 0, (q.unit or '') + 's')}"
    else:
        amount = f"{q.unit} {q.value:,.0f}"
        per = f" per {q.per}" if q.per else ""
        if q.kind == "threshold":
            text = f"{amount}{per} or less"
        else:
            text = f"{'at least' if q.comparator == 'at_least' else 'at most'} {amount}{per}"
    return f"{text} ({q.note})" if q.note else text


def policy_text(m: Mention) -> str:
    """The policy's figure as quoted, with the place it resolves to."""
    if m.kind == "location" and m.place:
        where = place_name(m.place.lstrip("!"))
        if where.lower() in m.text.lower():
            return m.text
        return f"{m.text} ({'outside ' if m.place.startswith('!') else ''}{where})"
    return m.text
