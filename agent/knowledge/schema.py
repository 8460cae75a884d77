"""Schema of the knowledge pack: every item sourced, dated and stamped "as of"."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal, get_args

from pydantic import Field, field_validator, model_validator

from agent.models import (
    ACTIVITIES,
    CLIENT_TYPES,
    Activity,
    ClientType,
    Domain,
    Frozen,
    Legislation,
    Priority,
    Tier,
    Topic,
)

Section = Literal["status", "pillar", "analysis", "consideration", "uncertainty"]


class PackQuote(Frozen):
    """A verbatim passage, where and when it was seen, and the stored text around it."""

    text: str = Field(min_length=1)
    url: str = Field(description="The page where the quote was read (a section page, not the act's home page)")
    retrieved: dt.date = Field(description="When the page text was read")
    locator: str | None = None
    excerpt: str = Field(description="The quote with the text around it, as it appeared on the page")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the excerpt's UTF-8 bytes")


class Amendment(Frozen):
    """A known later change the source's quotes may predate."""

    title: str
    date: dt.date | None = None
    reference: str = Field(description="URL or legal identifier of the amending text")
    note: str = ""
    incorporated: bool = Field(default=False, description="True once the quotes were checked against the amended text")


class PackSource(Frozen):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    url: str | None = None
    legal_id: str | None = None
    publisher: str
    tier: Tier
    published: dt.date | None = Field(default=None, description="Date of the document (enacted, adopted, issued)")
    retrieved: dt.date = Field(description="Latest retrieval of its quotes (or when its identifier was checked)")
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    official_url: str | None = Field(default=None, description="For a repost: where the official text lives")
    amendments: tuple[Amendment, ...] = ()
    quotes: tuple[PackQuote, ...] = Field(
        default=(), description="Verbatim passages from the source the pack relies on"
    )

    @model_validator(mode="after")
    def _locatable(self) -> PackSource:
        if not (self.url or self.legal_id):
            raise ValueError(f"source {self.id!r} needs a url or a legal identifier")
        for url in (self.url, self.official_url, *(q.url for q in self.quotes)):
            if url and not url.startswith("https://"):
                raise ValueError(f"source {self.id!r}: url must be https ({url})")
        return self

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(q.text for q in self.quotes)

    @property
    def stored_text(self) -> str:
        """Everything stored from the source: the excerpts its quotes were read in."""
        return "\n".join(q.excerpt for q in self.quotes)

    def page_of(self, quote: str | None) -> str | None:
        """The page where a cited quote (or part of one) was seen."""
        if quote:
            for q in self.quotes:
                if norm(quote) in norm(q.text):
                    return q.url
        return None


class PackCitation(Frozen):
    source_id: str
    quote: str | None = Field(default=None, description="Verbatim; must be (part of) one of the source's quotes")
    locator: str | None = None


class PackFact(Frozen):
    id: str
    regimes: tuple[str, ...] = Field(min_length=1)
    topics: tuple[Topic, ...] = Field(min_length=1)
    section: Section
    text: str
    citations: tuple[PackCitation, ...] = Field(min_length=1)
    as_of: dt.date


QuantityKind = Literal["duration", "deadline", "amount", "threshold", "frequency", "location"]
TimeUnit = Literal["years", "months", "weeks", "days", "business_days", "hours", "immediately"]
Period = Literal["day", "week", "month", "quarter", "year"]


class Quantity(Frozen):
    """A figure the rule states for an element: "at least six years", "immediately", "USD 1,000", "in Kazakhstan".

    ``subject`` names the element's ``all_of`` groups that say what the figure is about (records kept; the
    MLRO), so a sentence about that subject stating another figure is found even though it does not
    evidence the element. ``near`` (default: ``subject``) are the groups a figure must share a clause with.
    ``extra`` are further groups such a sentence must hit, ``exclude`` patterns that rule it out. The figure
    must be stated by ``quote``, which must be part of one of the requirement's cited quotes.
    """

    kind: QuantityKind
    comparator: Literal["at_least", "at_most", "in"] = Field(
        description="at_least: the policy's figure may not be lower (retention, capital, how often); "
        "at_most: may not be higher (deadline, limit, threshold); in: the place named"
    )
    value: float | None = Field(default=None, description="The number, in `unit` (0 with unit 'immediately')")
    unit: str | None = Field(
        default=None,
        description="duration/deadline: years, months, weeks, days, business_days, hours, immediately; "
        "amount/threshold: ISO 4217 code; frequency: day, week, month, quarter or year (value = every N of them)",
    )
    per: Period | None = Field(default=None, description="amount per period (a monthly limit)")
    place: str | None = Field(default=None, description="location: ISO 3166-1 alpha-2 code")
    qualifier: Literal["advance"] | None = Field(
        default=None, description="advance: only figures stated as notice given before something count"
    )
    subject: tuple[int, ...] = Field(min_length=1)
    near: tuple[int, ...] = ()
    extra: tuple[tuple[str, ...], ...] = ()
    exclude: tuple[str, ...] = ()
    source_id: str
    quote: str = Field(description="Verbatim words of the cited rule that state the figure")
    locator: str | None = None
    note: str | None = Field(default=None, description="Said after the figure when a conflict is reported")

    @model_validator(mode="after")
    def _typed(self) -> Quantity:
        time_units, periods = get_args(TimeUnit), get_args(Period)
        kind, unit = self.kind, self.unit
        if kind == "location":
            if self.comparator != "in" or not (self.place and re.fullmatch(r"[A-Z]{2}", self.place)):
                raise ValueError("a location needs comparator 'in' and an ISO alpha-2 place")
            return self
        if self.comparator == "in" or self.value is None or self.value < 0:
            raise ValueError(f"a {kind} needs comparator at_least/at_most and a value >= 0")
        if kind in ("duration", "deadline") and unit not in time_units:
            raise ValueError(f"a {kind} unit is one of {time_units}")
        if kind == "deadline" and self.comparator != "at_most":
            raise ValueError("a deadline is at_most")
        if (unit == "immediately") != (kind == "deadline" and self.value == 0):
            raise ValueError("'immediately' is a deadline of value 0")
        if kind in ("amount", "threshold") and not (unit and re.fullmatch(r"[A-Z]{3}", unit)):
            raise ValueError(f"a {kind} unit is an ISO 4217 currency code")
        if kind == "frequency" and (unit not in periods or self.comparator != "at_least"):
            raise ValueError(f"a frequency is at_least, every `value` {periods}")
        if self.per is not None and kind not in ("amount", "threshold"):
            raise ValueError("only amounts have a period")
        return self


class CoverageElement(Frozen):
    """One thing a policy must say. Matched per sentence: every group must hit."""

    name: str
    all_of: tuple[tuple[str, ...], ...] = Field(min_length=1)
    exclude: tuple[str, ...] = ()
    quantity: Quantity | None = None

    @field_validator("all_of")
    @classmethod
    def _groups_nonempty(cls, v: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        if any(not g for g in v):
            raise ValueError("every all_of group needs at least one pattern")
        return v

    @model_validator(mode="after")
    def _quantity_groups(self) -> CoverageElement:
        q = self.quantity
        if q is not None and any(not 0 <= i < len(self.all_of) for i in (*q.subject, *q.near)):
            raise ValueError(f"{self.name}: quantity subject/near must index all_of groups")
        return self


class AppliesTo(Frozen):
    """Who a requirement binds: any of these activities, client types and regimes ("any": no limit)."""

    activities: tuple[Activity | Literal["any"], ...] = Field(min_length=1)
    clients: tuple[ClientType | Literal["any"], ...] = Field(min_length=1)
    regimes: tuple[str, ...] = Field(min_length=1, description="Pack regime keys, or 'any'")


# Profile facts an `unless` condition may name (agent.models.FirmProfile.facts()).
UNLESS_FACTS = frozenset(
    {"third_party_custodians"} | {f"activities.{a}" for a in ACTIVITIES} | {f"clients.{c}" for c in CLIENT_TYPES}
)


class Unless(Frozen):
    """A statement about the firm that switches a requirement off, e.g. no third-party custodians."""

    fact: str = Field(description="Profile fact, e.g. 'third_party_custodians'")
    equals: bool
    statement: str = Field(description="The statement in words, for the reason shown in reports")

    @field_validator("fact")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in UNLESS_FACTS:
            raise ValueError(f"unknown profile fact {v!r}; one of {sorted(UNLESS_FACTS)}")
        return v


class PackRequirement(Frozen):
    id: str = Field(pattern=r"^[A-Z]{2,4}(-[A-Z0-9]+)+$")
    regime: str
    topics: tuple[Topic, ...] = Field(min_length=1)
    domain: Domain
    title: str
    obligation: str
    priority: Priority
    citations: tuple[PackCitation, ...] = Field(min_length=1)
    elements: tuple[CoverageElement, ...] = Field(min_length=1)
    as_of: dt.date
    applies_to: AppliesTo | None = Field(
        default=None, description="Whom it binds; required in a pack (None, outside one, binds everyone)")
    unless: tuple[Unless, ...] = ()


class PackLegislation(Legislation):
    id: str
    topics: tuple[Topic, ...] = Field(min_length=1)


class TopicStatus(Frozen):
    topic: Topic
    status: str = Field(description="e.g. Allowed-Regulated, Restricted, Prohibited, Unclear")
    confidence: Literal["High", "Medium", "Low"]
    citations: tuple[PackCitation, ...] = Field(min_length=1)


class PackAuthority(Frozen):
    """A regulator or supervisor, what it does for virtual-asset firms, and where (regime keys)."""

    name: str
    role: str = Field(description="What it does, no more than its citations say")
    regimes: tuple[str, ...] = Field(min_length=1)
    citations: tuple[PackCitation, ...] = Field(min_length=1)


class Pack(Frozen):
    """One jurisdiction (or the international baseline, code 'INTL')."""

    code: str
    name: str
    version: str
    as_of: dt.date
    regimes: dict[str, str] = Field(description="regime key -> human description")
    authorities: tuple[PackAuthority, ...] = ()
    statuses: tuple[TopicStatus, ...] = ()
    sources: tuple[PackSource, ...] = Field(min_length=1)
    facts: tuple[PackFact, ...] = ()
    legislation: tuple[PackLegislation, ...] = ()
    requirements: tuple[PackRequirement, ...] = ()

    def source(self, source_id: str) -> PackSource | None:
        return next((s for s in self.sources if s.id == source_id), None)

    @model_validator(mode="after")
    def _integrity(self) -> Pack:
        from agent.knowledge.lexicon import compile_pattern

        by_id = {s.id: s for s in self.sources}
        if len(by_id) != len(self.sources):
            raise ValueError(f"{self.code}: duplicate source ids")
        ids = [f.id for f in self.facts] + [r.id for r in self.requirements]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{self.code}: duplicate fact/requirement ids")

        def check(owner: str, cites: tuple[PackCitation, ...]) -> None:
            for c in cites:
                src = by_id.get(c.source_id)
                if src is None:
                    raise ValueError(f"{owner}: unknown source {c.source_id!r}")
                if c.quote and not any(norm(c.quote) in norm(q) for q in src.texts):
                    raise ValueError(f"{owner}: quote not found in the quotes of source {c.source_id!r}")

        for f in self.facts:
            check(f.id, f.citations)
        for r in self.requirements:
            check(r.id, r.citations)
            if r.regime not in self.regimes:
                raise ValueError(f"{r.id}: unknown regime {r.regime!r}")
            if r.applies_to is None:
                raise ValueError(f"{r.id}: applies_to is required (activities, clients, regimes)")
            unknown = set(r.applies_to.regimes) - set(self.regimes) - {"any"}
            if unknown:
                raise ValueError(f"{r.id}: applies_to names unknown regime(s) {sorted(unknown)}")
            for el in r.elements:
                if el.quantity is not None:
                    _check_quantity(r, el.quantity, by_id)
                q_pats = (*(p for g in el.quantity.extra for p in g), *el.quantity.exclude) if el.quantity else ()
                for pat in (*(p for g in el.all_of for p in g), *el.exclude, *q_pats):
                    try:  # compiled as the assessment will use it, so the work is done once per process
                        compile_pattern(pat)
                    except (re.error, KeyError) as exc:
                        raise ValueError(f"{r.id}: bad pattern {pat!r}: {exc}") from exc
        for t in self.statuses:
            check(f"status:{t.topic}", t.citations)
        for a in self.authorities:
            check(a.name, a.citations)
            if set(a.regimes) - set(self.regimes):
                raise ValueError(f"{a.name}: unknown regime(s) {sorted(set(a.regimes) - set(self.regimes))}")
        for leg in self.legislation:
            if leg.source_id not in by_id:
                raise ValueError(f"{leg.id}: unknown source {leg.source_id!r}")
        return self


def _check_quantity(r: PackRequirement, q: Quantity, sources: dict[str, PackSource]) -> None:
    """A figure must come from the requirement's own cited, verbatim quote."""
    if q.source_id not in sources:
        raise ValueError(f"{r.id}: quantity cites unknown source {q.source_id!r}")
    if not any(c.source_id == q.source_id and c.quote and norm(q.quote) in norm(c.quote) for c in r.citations):
        raise ValueError(f"{r.id}: quantity quote is not part of a quote the requirement cites from {q.source_id!r}")


QUOTE_MARKS = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                              "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"'})


def norm(text: str) -> str:
    """Case, whitespace and curly quote marks folded, for finding a quote in stored text."""
    return " ".join(text.translate(QUOTE_MARKS).lower().split())
