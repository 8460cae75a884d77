"""Typed data model shared by every node, tool and report."""

from __future__ import annotations

import datetime as dt
from typing import Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

Tier = Literal["law", "regulator", "official", "secondary", "news"]
Priority = Literal["critical", "high", "medium", "low"]
Status = Literal["met", "partial", "not_met", "insufficient_evidence"]
Engine = Literal["embedded", "live"]
StepStatus = Literal["completed", "degraded", "skipped", "failed"]

Domain = Literal[
    "licensing_and_authorization",
    "reserve_requirements",
    "aml_ctf_compliance",
    "consumer_protection",
    "cybersecurity",
    "reporting_transparency",
    "cross_border_compliance",
    "custody_and_client_assets",
    "governance_and_fit_proper",
    "market_conduct",
    "data_protection",
    "tax",
]
DOMAINS: tuple[Domain, ...] = get_args(Domain)

Topic = Literal[
    "stablecoin",
    "exchange",
    "custody",
    "licensing",
    "regulatory_status",
    "retail_trading",
    "aml_ctf",
    "mining",
    "tax",
    "payments",
]
TOPICS: tuple[Topic, ...] = get_args(Topic)

# What a firm does: the activities a requirement can be limited to (pack `applies_to`).
Activity = Literal[
    "stablecoin_issuer",
    "trading_venue",
    "broker_dealer",
    "custodian",
    "money_services",
    "advisory",
    "staking_lending",
    "mining",
]
ACTIVITIES: tuple[Activity, ...] = get_args(Activity)
ClientType = Literal["retail", "professional"]
CLIENT_TYPES: tuple[ClientType, ...] = get_args(ClientType)
Origin = Literal["file", "inferred", "default"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- scope -----------------------------------------------------------------


class Scope(Frozen):
    query: str
    topics: tuple[Topic, ...]
    jurisdiction: str = Field(description="ISO 3166-1 alpha-2 code, or a pack alias such as 'EU'")
    jurisdiction_name: str
    regime_hint: str | None = Field(
        default=None, description="Sub-regime named in the query, e.g. 'AIFC'"
    )
    notes: tuple[str, ...] = Field(default=(), description="How the query was read, e.g. a subject mapped to the nearest topic")


# --- sources and citations --------------------------------------------------


class Source(Frozen):
    id: str
    title: str
    url: str | None = None
    legal_id: str | None = None
    publisher: str
    tier: Tier
    date: dt.date | None = None
    retrieved_at: dt.date | None = None
    as_of: dt.date | None = None
    content_hash: str | None = None
    origin: Literal["pack", "baseline", "web"] = "pack"

    @model_validator(mode="after")
    def _locatable(self) -> Source:
        if not (self.url or self.legal_id):
            raise ValueError(f"source {self.id!r} needs a url or a legal identifier")
        return self


class Citation(Frozen):
    source_id: str
    quote: str | None = None
    locator: str | None = Field(default=None, description="Article, rule or section")
    verified: bool = False
    url: str | None = Field(default=None, description="The page or section where the quote was seen")


# --- analysis ---------------------------------------------------------------


class Legislation(Frozen):
    name: str
    identifier: str | None = None
    date_enacted: dt.date | None = None
    summary: str
    url: str | None = None
    source_id: str


class KeyQuoteSource(Frozen):
    source_id: str
    title: str
    url: str | None = None
    legal_id: str | None = None
    date: dt.date | None = None
    source_type: Tier
    key_quote: str
    verified: bool


class Claim(Frozen):
    text: str
    citations: tuple[Citation, ...]


class RegulatoryAnalysis(Frozen):
    """Seed 001 fields, with every claim bound to source ids."""

    jurisdiction: str
    topics: tuple[Topic, ...]
    status: str
    confidence_level: Literal["High", "Medium", "Low"]
    executive_summary: str
    detailed_analysis: tuple[Claim, ...]
    key_regulatory_pillars: tuple[Claim, ...]
    landmark_legislation: tuple[Legislation, ...]
    primary_sources: tuple[KeyQuoteSource, ...]
    secondary_sources: tuple[KeyQuoteSource, ...]
    important_considerations: tuple[Claim, ...]
    remaining_uncertainties: tuple[str, ...]
    grounding_urls: tuple[str, ...]
    notes_and_comments: str
    baseline_only: bool = Field(
        default=False,
        description="True when no local law was available and the analysis rests on the international baseline",
    )
    awaiting_verification: tuple[str, ...] = ()


# --- requirements and assessment ---------------------------------------------


class Requirement(Frozen):
    id: str
    domain: Domain
    title: str
    obligation: str
    regime: str
    priority: Priority
    citations: tuple[Citation, ...]
    baseline: bool = False


class Evidence(Frozen):
    file: str
    line_start: int
    line_end: int
    quote: str
    element: str | None = None


class Conflict(Frozen):
    """A policy sentence about an element's subject that states a figure falling short of the rule's."""

    element: str
    kind: Literal["duration", "deadline", "amount", "threshold", "frequency", "location"]
    policy_says: str = Field(description="The policy's figure in its own words, e.g. 'at least five years'")
    rule_requires: str = Field(description="The rule's figure, e.g. 'at least six years'")
    file: str
    line_start: int
    line_end: int
    section: str | None = Field(default=None, description="Heading of the policy section holding the sentence")
    quote: str = Field(description="The policy sentence")
    source_id: str
    locator: str | None = None


class Assessment(Frozen):
    requirement_id: str
    status: Status
    evidence: tuple[Evidence, ...] = ()
    missing: tuple[str, ...] = Field(default=(), description="Elements not evidenced")
    rationale: str
    conflicts: tuple[Conflict, ...] = Field(default=(), description="Policy statements that contradict the rule's figures; a requirement with one is never met")


class Gap(Frozen):
    id: str
    priority: Priority
    category: str
    domain: Domain
    requirement: str
    current_status: str
    gap: str
    impact: str
    recommendation: str
    requirement_ids: tuple[str, ...]
    citations: tuple[Citation, ...]
    existing_files: tuple[str, ...] = ()


class DraftTable(Frozen):
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


class DraftClause(Frozen):
    """One numbered obligation of a policy, tied to the requirement it implements."""

    text: str
    requirement_id: str | None = None
    title: str | None = None
    basis: str | None = Field(default=None, description="Source ids and locators the clause rests on")
    notes: tuple[str, ...] = Field(default=(), description="Amendments to existing policies, what is already stated")
    steps: tuple[str, ...] = Field(default=(), description="Operating steps proposed for this firm")


class DraftSection(Frozen):
    heading: str
    paragraphs: tuple[str, ...] = ()
    clauses: tuple[DraftClause, ...] = ()
    bullets: tuple[str, ...] = ()
    table: DraftTable | None = None


class DraftCitation(Frozen):
    source_id: str
    title: str
    publisher: str
    tier: str
    where: str | None = None
    locator: str | None = None
    as_of: str | None = None
    quote: str | None = None
    verified: bool = False
    page: str | None = Field(default=None, description="The page or section where the quote was seen")


class DraftDocument(Frozen):
    """A policy draft as structure: rendered to Markdown and to Word by agent.render."""

    title: str
    company: str
    control: tuple[tuple[str, str], ...] = Field(description="Document control table: field, value")
    notice: str
    sections: tuple[DraftSection, ...]
    citations: tuple[DraftCitation, ...] = ()
    placeholders: tuple[str, ...] = Field(default=(), description="What the reviewer must fill in")


class PolicyDraft(Frozen):
    gap_ids: tuple[str, ...]
    category: str
    title: str
    file_name: str
    body: str
    kind: Literal["new", "modifies_existing"]
    modifies: tuple[str, ...] = ()
    document: DraftDocument | None = None

    @property
    def docx_name(self) -> str:
        return self.file_name.rsplit(".", 1)[0] + ".docx"


class WriteResult(Frozen):
    path: str
    action: Literal["written", "unchanged", "kept_human_edit"]
    written_as: str | None = Field(default=None, description="Where the new version went when a human edit was kept")
    sha256: str


# --- run record ---------------------------------------------------------------


class StepRecord(Frozen):
    step: str
    engine: Engine
    status: StepStatus
    duration_s: float
    tokens_in: int = 0
    tokens_out: int = 0
    detail: str = ""
    version: int = Field(default=1, description="Run version that executed this step; lower than the run's own version when a re-run reused it")




# --- research findings and the run report ------------------------------------


class Finding(Frozen):
    """A sourced statement gathered by research (pack fact or web extract)."""

    id: str
    section: Literal["status", "pillar", "analysis", "consideration", "uncertainty"]
    text: str
    regimes: tuple[str, ...] = ()
    citations: tuple[Citation, ...]
    baseline: bool = False


class DraftOutput(Frozen):
    gap_ids: tuple[str, ...]
    title: str
    category: str
    kind: Literal["new", "modifies_existing"]
    modifies: tuple[str, ...] = ()
    path: str
    action: Literal["written", "unchanged", "kept_human_edit", "proposed"] = Field(description="proposed: held for confirmation (chat), not written")
    written_as: str | None = None
    docx: WriteResult | None = Field(default=None, description="The same draft as a Word document, written beside the Markdown")


class PolicyInput(Frozen):
    folder: str | None
    documents: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


class RunInfo(Frozen):
    id: str
    version: int = Field(default=1, description="1 for a run; 2, 3, ... for re-runs of it (agent runs rerun)")
    rerun_from: str | None = Field(default=None, description="Step a re-run started from; earlier steps were reused")
    query: str
    scope: Scope
    started_at: str
    finished_at: str
    pack: str
    pack_version: str
    pack_as_of: dt.date
    baseline_only: bool
    policies: PolicyInput
    output_dir: str
    report_files: tuple[str, ...] = ()
    steps: tuple[StepRecord, ...]
    warnings: tuple[str, ...]
    tokens_in: int = 0
    tokens_out: int = 0
    estimated_cost_usd: float | None = Field(default=None, description="From AGENT_PRICE_*_PER_MTOK; null when no price is set")


class StatusChange(Frozen):
    domain: str
    before: Status | None
    after: Status | None


class Comparison(Frozen):
    """What changed since the previous run of the same scope (or the version a re-run started from)."""

    previous_run_id: str
    previous_version: int = 1
    previous_finished_at: str
    requirements_added: tuple[str, ...] = ()
    requirements_removed: tuple[str, ...] = ()
    requirement_status_changes: tuple[tuple[str, str, str], ...] = Field(default=(), description="(requirement id, before, after)")
    status_changes: tuple[StatusChange, ...] = ()
    gaps_opened: tuple[str, ...] = ()
    gaps_closed: tuple[str, ...] = ()
    sources_added: tuple[str, ...] = ()
    sources_removed: tuple[str, ...] = ()

    @property
    def unchanged(self) -> bool:
        return not any((self.requirements_added, self.requirements_removed, self.requirement_status_changes,
                        self.status_changes, self.gaps_opened, self.gaps_closed, self.sources_added, self.sources_removed))


# --- firm profile and applicability ---------------------------------------------


class TextFact(Frozen):
    """One profile field: its value and where it came from (inferred values quote the policy)."""

    value: str | None = None
    origin: Origin = "default"
    evidence: tuple[Evidence, ...] = ()


class ListFact(Frozen):
    value: tuple[str, ...] = ()
    origin: Origin = "default"
    evidence: tuple[Evidence, ...] = ()


class FlagFact(Frozen):
    """A yes/no fact; ``None`` means not known (nothing stated, or statements disagree)."""

    value: bool | None = None
    origin: Origin = "default"
    evidence: tuple[Evidence, ...] = ()


_K = TypeVar("_K", bound=str)


def _unknown(keys: tuple[_K, ...]) -> dict[_K, FlagFact]:
    return {k: FlagFact() for k in keys}


class FirmProfile(Frozen):
    """Who the firm is: from company.toml, else inferred from its policies, else unknown (default)."""

    legal_name: TextFact = TextFact()
    jurisdictions: ListFact = ListFact()
    regime: TextFact = Field(default=TextFact(), description="Pack regime key, e.g. 'AIFC' (AIFC participant) or 'national'")
    licences: ListFact = ListFact()
    activities: dict[Activity, FlagFact] = Field(default_factory=lambda: _unknown(ACTIVITIES))
    clients: dict[ClientType, FlagFact] = Field(default_factory=lambda: _unknown(CLIENT_TYPES))
    third_party_custodians: FlagFact = FlagFact()
    roles: dict[str, TextFact] = Field(default_factory=dict, description="Key role (mlro, ciso, ...) -> the title the firm uses")
    file: str | None = Field(default=None, description="The company.toml that was read, if any")

    def facts(self) -> dict[str, TextFact | ListFact | FlagFact]:
        """Every field by a dotted name (activities.custodian, roles.mlro, ...)."""
        out: dict[str, TextFact | ListFact | FlagFact] = {
            "legal_name": self.legal_name, "jurisdictions": self.jurisdictions, "regime": self.regime,
            "licences": self.licences,
        }
        out.update({f"activities.{k}": v for k, v in self.activities.items()})
        out.update({f"clients.{k}": v for k, v in self.clients.items()})
        out["third_party_custodians"] = self.third_party_custodians
        out.update({f"roles.{k}": v for k, v in self.roles.items()})
        return out

    @property
    def is_empty(self) -> bool:
        """Nothing known: no file and nothing inferred."""
        return all(f.origin == "default" for f in self.facts().values())

    @property
    def restricts(self) -> bool:
        """Does the profile know anything applicability depends on (regime, activities, clients, custodians)?"""
        return bool(self.regime.value) or self.third_party_custodians.value is not None or any(
            f.value is not None for f in (*self.activities.values(), *self.clients.values()))


class NotApplicable(Frozen):
    """A requirement the firm's profile puts out of scope, with the reason (and the statement behind it)."""

    requirement_id: str
    title: str
    domain: Domain
    reason: str
    evidence: tuple[Evidence, ...] = ()


class RunReport(Frozen):
    """The document printed by `agent run --json` (schema: agent/schemas/report.schema.json)."""

    schema_version: Literal["1"] = "1"
    analysis: RegulatoryAnalysis
    requirements: tuple[Requirement, ...]
    assessments: tuple[Assessment, ...]
    compliance_status: dict[str, Status]
    gaps: tuple[Gap, ...]
    drafts: tuple[DraftOutput, ...]
    sources: tuple[Source, ...]
    run: RunInfo
    comparison: Comparison | None = Field(default=None, description="Changes since the previous run of the same scope; null for the first")
    profile: FirmProfile = Field(default_factory=FirmProfile, description="The firm profile the run used: each field's value and origin")
    not_applicable: tuple[NotApplicable, ...] = Field(default=(), description="Requirements the profile puts out of scope, with the reason")


# --- comparison of jurisdictions -------------------------------------------------


class ComparisonCell(Frozen):
    text: str = Field(description="What the jurisdiction's pack holds for the row; '—' when nothing")
    citations: tuple[Citation, ...] = ()


class ComparisonRow(Frozen):
    key: str
    label: str
    cells: tuple[ComparisonCell, ...] = Field(description="One per column, in column order")


class ComparisonColumn(Frozen):
    label: str = Field(description="Jurisdiction, and regime when the query named one")
    jurisdiction: str
    regime: str | None = None
    pack: str
    baseline: bool = False
    run_id: str = Field(description="The jurisdiction's own run")
    report: str | None = Field(default=None, description="Path of its report, relative to the output folder")


class SharedControl(Frozen):
    """One control area with open gaps in several jurisdictions: one policy can close them together."""

    domain: str
    label: str
    gaps: tuple[str, ...] = Field(description="'<column>: <gap id> (<priority>)'")
    requirement_ids: tuple[str, ...]


class ComparisonReport(Frozen):
    """The document a comparison run writes (comparison.json)."""

    query: str
    run_id: str
    topics: tuple[Topic, ...]
    finished_at: str
    columns: tuple[ComparisonColumn, ...]
    comparison_matrix: tuple[ComparisonRow, ...]
    shared_controls: tuple[SharedControl, ...] = ()
    summaries: tuple[str, ...] = Field(default=(), description="Each column's answer (its executive summary)")
    sources: tuple[Source, ...] = ()
    warnings: tuple[str, ...] = ()
