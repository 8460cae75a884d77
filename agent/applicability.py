"""Which requirements bind this firm: the pack's `applies_to` / `unless` rules read against its profile.

The rules live in the pack; this module only reads them. A requirement is not applicable when:

- the firm's regime is known and is not one the requirement applies under (an AIFC participant and the
  National Bank's licensing rules);
- every activity it applies to is known not to be carried on ("the Company does not issue…"), or the
  profile states what the firm does, none of those activities is among them, and the query does not ask
  about them either (a custodian asking about custody gets no issuer obligations);
- every client type it applies to is known not to be served;
- an `unless` statement holds (no third-party custodians).

An empty profile (no company.toml, nothing inferred) changes nothing: every requirement applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath

from agent.knowledge.schema import PackRequirement
from agent.models import (
    ACTIVITIES,
    Evidence,
    FirmProfile,
    FlagFact,
    NotApplicable,
    Requirement,
    TextFact,
)
from agent.profile import ACTIVITY_LABELS

# The activities a query's topic asks about: an activity the profile leaves open counts as carried on
# when the query names it.
TOPIC_ACTIVITIES: dict[str, tuple[str, ...]] = {
    "stablecoin": ("stablecoin_issuer",),
    "exchange": ("trading_venue", "broker_dealer"),
    "retail_trading": ("trading_venue", "broker_dealer"),
    "custody": ("custodian",),
    "payments": ("money_services",),
    "mining": ("mining",),
}
REGIME_LABELS = {"AIFC": "an AIFC participant (AFSA regime)", "national": "under the national regime (Kazakhstan outside the AIFC)"}
CLIENT_LABELS = {"retail": "retail clients", "professional": "professional clients"}


@dataclass(frozen=True)
class Decision:
    applies: bool
    reason: str = ""
    evidence: tuple[Evidence, ...] = ()
    assumed: tuple[str, ...] = ()  # activities taken as carried on only because the query asks about them


def _where(fact: FlagFact | TextFact, profile: FirmProfile) -> str:
    if fact.origin == "file":
        return PurePath(profile.file).name if profile.file else "company.toml"
    if fact.evidence:
        e = fact.evidence[0]
        return f"{e.file} L{e.line_start}-{e.line_end}"
    return "the profile"


def _labels(keys: Sequence[str], labels: Mapping[str, str]) -> str:
    names = [labels.get(k, k) for k in keys]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def implied(topics: Sequence[str]) -> set[str]:
    return {a for t in topics for a in TOPIC_ACTIVITIES.get(t, ())}


def decide(req: PackRequirement, profile: FirmProfile, topics: Sequence[str]) -> Decision:
    """Does the requirement bind this firm, and if not, why (with the statements behind the reason)."""
    to = req.applies_to
    if to is None:
        return Decision(True)
    regime = profile.regime
    if regime.value and "any" not in to.regimes and regime.value not in to.regimes:
        return Decision(False, (
            f"Applies under the {_labels(to.regimes, {'national': 'national', 'AIFC': 'AIFC'})} regime; the firm is "
            f"{REGIME_LABELS.get(regime.value, regime.value)} (stated in {_where(regime, profile)})."), regime.evidence)

    assumed: tuple[str, ...] = ()
    if "any" not in to.activities:
        facts = {a: profile.activities[a] for a in to.activities if a != "any"}  # "any" is not among them here
        if not any(f.value for f in facts.values()):
            unknown = [a for a, f in facts.items() if f.value is None]
            does = [a for a in ACTIVITIES if profile.activities[a].value]
            asked = [a for a in unknown if a in implied(topics)]
            if not unknown:
                ev = tuple(e for f in facts.values() for e in f.evidence[:1])
                where = "; ".join(dict.fromkeys(_where(f, profile) for f in facts.values()))
                return Decision(False, (
                    f"Applies to a {_labels(list(facts), ACTIVITY_LABELS)}; the firm is not one (stated in {where})."), ev)
            if does and not asked:
                ev = tuple(profile.activities[a].evidence[0] for a in does if profile.activities[a].evidence)[:2]
                return Decision(False, (
                    f"Applies to a {_labels(list(facts), ACTIVITY_LABELS)}; the firm's profile describes it as a "
                    f"{_labels(does, ACTIVITY_LABELS).replace(' or ', ' and ')}, and neither the profile nor the query "
                    f"says it is a {_labels(unknown, ACTIVITY_LABELS)}."), ev)
            assumed = tuple(asked) if does else ()

    if "any" not in to.clients:
        facts_c = {c: profile.clients[c] for c in to.clients if c != "any"}  # "any" is not among them here
        if all(f.value is False for f in facts_c.values()):
            ev = tuple(e for f in facts_c.values() for e in f.evidence[:1])
            where = "; ".join(dict.fromkeys(_where(f, profile) for f in facts_c.values()))
            return Decision(False, (
                f"Applies to firms serving {_labels(list(facts_c), CLIENT_LABELS)}; the firm does not serve them (stated in {where})."), ev)

    facts_all = profile.facts()
    for cond in req.unless:
        fact = facts_all.get(cond.fact)
        if isinstance(fact, FlagFact) and fact.value is cond.equals:
            return Decision(False, f"Does not apply when {cond.statement}, as stated in {_where(fact, profile)}.",
                            fact.evidence[:1])
    return Decision(True, assumed=assumed)


@dataclass(frozen=True)
class Split:
    applicable: list[Requirement]
    not_applicable: list[NotApplicable]
    notes: list[str]


def split(
    requirements: Sequence[Requirement],
    pack_reqs: Mapping[str, PackRequirement],
    profile: FirmProfile,
    topics: Sequence[str],
) -> Split:
    """Applicable requirements (in order) and the rest with their reasons; web requirements always apply."""
    applicable: list[Requirement] = []
    out: list[NotApplicable] = []
    assumed: dict[str, list[str]] = {}
    for r in requirements:
        pr = pack_reqs.get(r.id)
        d = decide(pr, profile, topics) if pr is not None and profile.restricts else Decision(True)
        if d.applies:
            applicable.append(r)
            for a in d.assumed:
                assumed.setdefault(a, []).append(r.id)
        else:
            out.append(NotApplicable(requirement_id=r.id, title=r.title, domain=r.domain, reason=d.reason, evidence=d.evidence))
    notes = [
        f"The profile does not say whether the firm acts as a {ACTIVITY_LABELS[a]}; {len(ids)} requirement(s) for it "
        f"({', '.join(ids)}) were kept because the query asks about it. Set `activities` in company.toml to settle it."
        for a, ids in assumed.items()
    ]
    return Split(applicable, out, notes)
