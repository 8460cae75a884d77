"""The firm profile: who the firm is, from `company.toml` or inferred from what its policies state.

Three origins, per field: ``file`` (company.toml, authoritative), ``inferred`` (a deterministic,
negation-aware rule matched a policy sentence, quoted with file and lines) and ``default`` (unknown).
Inference is conservative: a fact needs the firm as the actor of the sentence ("the Company does not
issue…", "we use no third-party custodians") or an explicit statement about clients; statements that
disagree leave the field unknown. See README "Firm profile and applicability".
"""

from __future__ import annotations

import functools
import os
import re
import stat
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    ValidationError,
    field_validator,
)

from agent.models import (
    ACTIVITIES,
    CLIENT_TYPES,
    Evidence,
    FirmProfile,
    FlagFact,
    ListFact,
    TextFact,
)
from tools.policies import PROFILE_FILE

MAX_PROFILE_BYTES = 64 * 1024
REGIMES = {"aifc": "AIFC", "national": "national"}
MAX_QUOTE = 320

ACTIVITY_LABELS: dict[str, str] = {
    "stablecoin_issuer": "stablecoin issuer",
    "trading_venue": "trading venue (exchange)",
    "broker_dealer": "broker-dealer",
    "custodian": "custodian of client assets",
    "money_services": "money services (payments) provider",
    "advisory": "investment adviser",
    "staking_lending": "staking/lending provider",
    "mining": "digital miner",
}
# Names people write in company.toml for an activity, besides its key.
ACTIVITY_ALIASES: dict[str, str] = {
    "issuer": "stablecoin_issuer", "stablecoin": "stablecoin_issuer", "exchange": "trading_venue",
    "trading": "trading_venue", "broker": "broker_dealer", "dealer": "broker_dealer", "custody": "custodian",
    "payments": "money_services", "payment_services": "money_services", "advice": "advisory",
    "staking": "staking_lending", "lending": "staking_lending",
}
ROLE_TITLES: dict[str, str] = {
    "mlro": "Money Laundering Reporting Officer",
    "deputy_mlro": "Deputy MLRO",
    "compliance_officer": "Compliance Officer",
    "ciso": "Chief Information Security Officer",
    "cto": "Chief Technology Officer",
    "ceo": "Chief Executive Officer",
    "cfo": "Chief Financial Officer",
    "dpo": "Data Protection Officer",
    "internal_audit": "Head of Internal Audit",
}


class ProfileError(ValueError):
    """company.toml cannot be used; the message names the file and the field."""


# --- company.toml -----------------------------------------------------------------------------------


def _key(text: str) -> str:
    return re.sub(r"[\s/-]+", "_", text.strip().lower())


def _jurisdiction(item: str) -> str:
    from agent.scope import places_in

    found = {code for code, _ in places_in(item)}
    if len(found) != 1:
        raise ValueError(f"{item!r} is not a jurisdiction (use an ISO code such as KZ, or a name)")
    return found.pop()


def _activity(item: str) -> str:
    k = ACTIVITY_ALIASES.get(_key(item), _key(item))
    if k not in ACTIVITIES:
        raise ValueError(f"{item!r} is not an activity; use any of: {', '.join(ACTIVITIES)}")
    return k


def _client(item: str) -> str:
    k = _key(item).removesuffix("_clients")
    if k not in CLIENT_TYPES:
        raise ValueError(f"{item!r} is not a client type; use any of: {', '.join(CLIENT_TYPES)}")
    return k


def _text(item: str) -> str:
    if not item.strip():
        raise ValueError("must not be empty")
    return item.strip()


Text = Annotated[str, AfterValidator(_text)]


class CompanyFile(BaseModel):
    """What company.toml may say. Every field is optional; what is omitted is inferred or unknown."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    legal_name: Text | None = None
    jurisdictions: list[Annotated[str, AfterValidator(_jurisdiction)]] | None = None
    regime: str | None = None
    licences: list[Text] | None = None
    activities: list[Annotated[str, AfterValidator(_activity)]] | None = None
    clients: list[Annotated[str, AfterValidator(_client)]] | None = None
    third_party_custodians: bool | None = None
    roles: dict[str, Text] | None = None

    @field_validator("regime")
    @classmethod
    def _regime(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if v.strip().lower() not in REGIMES:
            raise ValueError(f"{v!r} is not a regime; use \"AIFC\" (AIFC participant) or \"national\" (Kazakhstan outside the AIFC)")
        return REGIMES[v.strip().lower()]

    @field_validator("jurisdictions", "activities", "clients")
    @classmethod
    def _unique(cls, v: list[str] | None) -> list[str] | None:
        return list(dict.fromkeys(v)) if v is not None else v

    @field_validator("roles")
    @classmethod
    def _roles(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is None:
            return v
        out = {}
        for role, title in v.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", _key(role)):
                raise ValueError(f"{role!r} is not a role key (letters, digits and _; e.g. mlro, ciso)")
            out[_key(role)] = title
        return out


def _loc(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def read_profile_file(path: Path) -> CompanyFile:
    """Parse and validate company.toml; ProfileError names the file and the field."""
    shown = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ProfileError(f"{shown}: cannot read the firm profile ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise ProfileError(f"{shown}: the firm profile is not a regular file")
        data = fh.read(MAX_PROFILE_BYTES + 1)
    if len(data) > MAX_PROFILE_BYTES:
        raise ProfileError(f"{shown}: the firm profile is larger than {MAX_PROFILE_BYTES // 1024} KB")
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProfileError(f"{shown}: not valid TOML (the file is not UTF-8 text)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{shown}: not valid TOML: {exc}") from None
    try:
        return CompanyFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_loc(e['loc'])}: {_message(e)}" for e in exc.errors())
        raise ProfileError(f"{shown}: {problems}") from None


# How a profile given as fields rather than a file (the served graph's input) is named in reports.
INLINE_PROFILE = "profile fields given with the run"


def read_profile_fields(values: Any) -> CompanyFile:
    """Profile fields given inline (JSON), validated as company.toml is; ProfileError names the field."""
    if not isinstance(values, dict):
        raise ProfileError("profile: give the path of a company.toml or its fields as an object")
    try:
        return _validated(values)
    except ProfileError as exc:
        raise ProfileError(f"profile: {exc}") from None


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return ("unknown field; the fields are legal_name, jurisdictions, regime, licences, activities, clients, "
                "third_party_custodians and [roles]")
    return str(err["msg"]).removeprefix("Value error, ")


def profile_path(explicit: Path | None, policies: Path | None) -> Path | None:
    """The company.toml a run uses: --profile, else one in the policy folder's root, else none."""
    if explicit is not None:
        return explicit
    if policies is not None:
        candidate = Path(policies) / PROFILE_FILE
        if candidate.is_symlink():
            raise ProfileError(f"{candidate}: the firm profile in the policy folder is a symlink; give it with --profile")
        if candidate.exists():
            return candidate
    return None


def from_file(cf: CompanyFile, path: str) -> FirmProfile:
    """A profile holding only what the file states (origin ``file``); the rest stays default."""
    flag = lambda v: FlagFact(value=v, origin="file")  # noqa: E731
    update: dict[str, Any] = {"file": path}
    if cf.legal_name is not None:
        update["legal_name"] = TextFact(value=cf.legal_name, origin="file")
    if cf.jurisdictions is not None:
        update["jurisdictions"] = ListFact(value=tuple(cf.jurisdictions), origin="file")
    if cf.regime is not None:
        update["regime"] = TextFact(value=cf.regime, origin="file")
    if cf.licences is not None:
        update["licences"] = ListFact(value=tuple(cf.licences), origin="file")
    base = FirmProfile()
    # A list of activities (or clients) is complete: what it does not name, the firm does not do.
    update["activities"] = (
        {a: flag(a in cf.activities) for a in ACTIVITIES} if cf.activities is not None else base.activities
    )
    update["clients"] = {c: flag(c in cf.clients) for c in CLIENT_TYPES} if cf.clients is not None else base.clients
    if cf.third_party_custodians is not None:
        update["third_party_custodians"] = flag(cf.third_party_custodians)
    update["roles"] = {k: TextFact(value=v, origin="file") for k, v in (cf.roles or {}).items()}
    return base.model_copy(update=update)


def merge(file: FirmProfile | None, inferred: FirmProfile) -> FirmProfile:
    """Field by field: the file wins, then what was inferred, then the default."""
    if file is None:
        return inferred

    def pick(a: Any, b: Any) -> Any:
        return a if a.origin == "file" else b

    return FirmProfile(
        legal_name=pick(file.legal_name, inferred.legal_name),
        jurisdictions=pick(file.jurisdictions, inferred.jurisdictions),
        regime=pick(file.regime, inferred.regime),
        licences=pick(file.licences, inferred.licences),
        activities={k: pick(file.activities[k], inferred.activities[k]) for k in ACTIVITIES},
        clients={k: pick(file.clients[k], inferred.clients[k]) for k in CLIENT_TYPES},
        third_party_custodians=pick(file.third_party_custodians, inferred.third_party_custodians),
        roles={**inferred.roles, **file.roles},
        file=file.file,
    )


# --- inference ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Said:
    """One sentence of a policy, as inference sees it."""

    file: str
    line_start: int
    line_end: int
    text: str


def sentences_of(docs: Iterable[Any]) -> list[Said]:
    """Sentences of prepared documents (agent.assess.Doc), in folder order."""
    return [Said(s.file, s.line_start, s.line_end, s.text) for d in docs for s in d.sentences]


_NEG = re.compile(r"\b(?:not|never|no longer|neither|nor|cannot|no)\b|n't\b", re.I)
_CLAUSE = re.compile(r"[,;:()]|\b(?:but|however|although|whereas|unless|and)\b", re.I)
_BASE_SUBJECTS = (r"the company", r"the firm", r"we", r"our (?:company|firm|business)")
_COMPANY_SUFFIX = r"(?:Ltd\.?|Limited|LLP|LLC|JSC|PLC|plc|Inc\.?|GmbH|AG|S\.A\.|B\.V\.|Corp\.?|Corporation)"
_NAME = re.compile(
    r"\b((?:[A-Z][A-Za-z0-9&'’.-]*\s+){1,5}" + _COMPANY_SUFFIX + r")(?![A-Za-z])"
)
_DEFINED = re.compile(r"\(\s*[\"“]the ([A-Z][A-Za-z]+)[\"”]")


def _negated_gap(gap: str) -> bool:
    """Is the last clause between the firm and the predicate negated ("the Company does not ...")?"""
    return bool(_NEG.search(_CLAUSE.split(gap)[-1]))


@dataclass(frozen=True)
class Rule:
    """A statement about the firm: ``SUBJECT (gap) PREDICATE``; negated in the gap → ``if_negated``."""

    fact: str
    predicate: str
    if_stated: bool | str
    if_negated: bool | str | None = None
    subject: bool = True  # False: the predicate alone is a statement about the firm (client rules)
    # Lower-case fragments one of which every match contains: a cheap test that skips most sentences.
    triggers: tuple[str, ...] = ()


def _p(*alts: str) -> str:
    return "(?:" + "|".join(alts) + ")"


_W = r"(?:[\w'’/-]+\s+)"  # one word and its space
_STABLECOINS = _p(r"stable\s?coins?", r"fiat[- ](?:referenced|backed)\s+tokens?", r"e-money\s+tokens?",
                  r"(?:its|our)\s+own\s+(?:tokens?|coins?|digital\s+assets?)", r"(?:fiat|asset)[- ]referenced\s+(?:tokens?|coins?)")
_CLIENT_ASSETS = _p(r"(?:client|customer)s?['’]?\s+(?:digital\s+)?(?:assets|coins|tokens|funds|money|crypto(?:[- ]?assets)?)",
                    r"(?:assets|coins|tokens|digital assets) (?:of|for|belonging to) (?:its |our )?(?:clients|customers)")
_RETAIL = r"retail\s+(?:clients?|customers?|investors?|users?)"
_PRO = r"(?:professional|institutional|corporate|business)\s+(?:clients?|customers?|investors?)"
_THIRD_PARTY = _p(r"third[- ]party\s+(?:custodians?|custody\s+providers?|account\s+providers?|wallet\s+providers?)",
                  r"sub[- ]?custodians?", r"external\s+custodians?", r"outsourced\s+custody")

RULES: tuple[Rule, ...] = (
    # activities
    Rule("activities.stablecoin_issuer",
         _p(rf"(?:issues?|issuing|mints?|minting)\s+{_W}{{0,4}}?{_STABLECOINS}",
            r"(?:is|acts?\s+as|are)\s+(?:not\s+)?(?:an?|the)\s+" + _W + r"{0,2}?issuer\s+of\s+" + _W + r"{0,3}?" + _STABLECOINS,
            rf"(?:engages?\s+in|carr(?:y|ies)\s+(?:on|out)|conducts?|undertakes?)\s+{_W}{{0,3}}?(?:stablecoin|token)\s+issuance"),
         True, False, triggers=("issu", "mint")),
    Rule("activities.trading_venue",
         _p(r"operates?\s+" + _W + r"{0,4}?(?:(?:crypto(?:currency)?|digital[- ]asset|virtual[- ]asset)\s+)?"
            r"(?:exchange(?!\s+rate)|trading\s+(?:facility|platform|venue)|multilateral\s+trading|marketplace|order\s+book)",
            r"(?:is|acts?\s+as)\s+(?:an?|the)\s+" + _W + r"{0,3}?(?:exchange(?!\s+rate)|trading\s+(?:facility|platform|venue)|DATF)\b",
            r"(?:admits?|lists?)\s+" + _W + r"{0,6}?(?:to|for)\s+trading"),
         True, False, triggers=("exchange", "trading", "marketplace", "order book", "datf")),
    Rule("activities.broker_dealer",
         _p(r"deals?\s+(?:in\s+investments\s+)?as\s+(?:principal|agent)",
            r"(?:acts?|is)\s+as\s+(?:an?\s+)?(?:broker|dealer|market\s+maker)",
            r"(?:offers?|provides?)\s+" + _W + r"{0,3}?(?:brokerage|broking|OTC\s+(?:trading|desk))",
            r"(?:executes?|arranges?)\s+" + _W + r"{0,2}?(?:client|customer)s?['’]?\s+(?:orders|trades)"),
         True, False, triggers=("principal", "agent", "broker", "dealer", "market maker", "otc", "orders", "trades")),
    Rule("activities.custodian",
         _p(r"(?:provides?|offers?|operates?)\s+" + _W + r"{0,4}?(?:custody|custodial\s+services?|safekeeping|wallet\s+service)",
            r"(?:holds?|keeps?|safeguards?|safekeeps?|stores?|controls?)\s+" + _W + r"{0,3}?" + _CLIENT_ASSETS,
            r"(?:holds?|keeps?)\s+" + _W + r"{0,3}?in\s+custody"),
         True, False, triggers=("custod", "safekeep", "wallet service", "client", "customer")),
    Rule("activities.custodian",
         r"(?:is|operates?|provides?|offers?)\s+" + _W + r"{0,3}?non[- ]custodial", False, None, triggers=("custodial",)),
    Rule("activities.money_services",
         r"(?:provides?|offers?)\s+" + _W + r"{0,3}?(?:money\s+services|payment\s+services|remittance|money\s+transfers?|fiat\s+on[- ]ramp|on[- ]ramp|off[- ]ramp)",
         True, False, triggers=("money", "payment", "remittance", "ramp")),
    Rule("activities.advisory",
         _p(r"(?:provides?|offers?|gives?)\s+" + _W + r"{0,3}?(?:investment\s+advice|advice\s+on\s+investments|advisory\s+services|financial\s+advice)",
            r"advises?\s+(?:clients|customers)\s+on\s+investments?"),
         True, False, triggers=("advi",)),
    Rule("activities.staking_lending",
         _p(r"(?:offers?|provides?)\s+" + _W + r"{0,4}?(?:staking|lending|yield|earn\s+products?|margin)",
            r"lends?\s+" + _W + r"{0,2}?(?:client|customer)"),
         True, False, triggers=("staking", "lend", "yield", "earn", "margin")),
    Rule("activities.mining",
         _p(r"(?:engages?\s+in|carr(?:y|ies)\s+(?:on|out)|conducts?|operates?)\s+" + _W + r"{0,3}?(?:digital\s+|crypto(?:currency)?\s+)?mining",
            r"mines?\s+(?:bitcoin|digital\s+assets|crypto)"),
         True, False, triggers=("mining", "mine")),
    # clients: a statement of who may be a client is about the firm, whoever the grammatical subject is
    Rule("clients.retail",
         _p(r"(?:offered|available|provided|open)\s+(?:only\s+)?to\s+" + _RETAIL,
            r"(?:accepts?|onboards?|serves?|takes?\s+on|deals?\s+with|admits?)\s+" + _W + r"{0,2}?" + _RETAIL,
            _RETAIL + r"\s+(?:are|is)\s+(?:\w+\s+)?(?:accepted|onboarded|served|admitted|taken\s+on)"),
         True, False, subject=False, triggers=("retail",)),
    Rule("clients.professional",
         _p(r"(?:offered|available|provided|open)\s+(?:(?:only|exclusively|solely)\s+)?to\s+(?:eligible\s+)?" + _PRO,
            r"(?:accepts?|onboards?|serves?|takes?\s+on|deals?\s+with|admits?)\s+" + _W + r"{0,2}?" + _PRO),
         True, False, subject=False, triggers=("professional", "institutional", "corporate", "business")),
    # services offered only to professional clients: retail clients are not served
    Rule("clients.retail",
         _p(r"(?:offered|available|provided|open|accept\w*|onboard\w*|serv\w*|admit\w*|deal\w*\s+with)\s+" + _W
            + r"{0,3}?(?:only|exclusively|solely)\s+(?:to\s+|with\s+)?(?:eligible\s+)?" + _PRO,
            r"(?:only|exclusively|solely)\s+(?:accepts?|onboards?|serves?|deals?\s+with|admits?|takes?\s+on)\s+(?:eligible\s+)?" + _PRO,
            r"(?:accepts?|onboards?|serves?|admits?)\s+" + _W + r"{0,2}?" + _PRO + r"\s+only"),
         False, None, subject=False, triggers=("only", "exclusively", "solely")),
    Rule("third_party_custodians",
         _p(r"(?:uses?|appoints?|engages?|relies?\s+on|rely\s+on|places?\s+" + _W + r"{0,3}?with)\s+" + _W + r"{0,2}?" + _THIRD_PARTY,
            r"(?:holds?|keeps?|deposits?)\s+" + _W + r"{0,4}?(?:with|at)\s+(?:an?\s+|one\s+or\s+more\s+)?" + _THIRD_PARTY),
         True, False, triggers=("third", "custod", "external", "outsourced")),
    Rule("third_party_custodians",
         _p(_THIRD_PARTY + r"\s+(?:is|are)\s+(?:\w+\s+)?(?:used|appointed|engaged)",
            r"(?:assets|coins|tokens)\s+(?:is|are)\s+(?:\w+\s+)?(?:held|kept|deposited)\s+(?:with|by|at)\s+(?:an?\s+|any\s+)?" + _THIRD_PARTY),
         True, False, subject=False, triggers=("third", "custod", "external", "outsourced")),
    # regime
    Rule("regime",
         _p(r"(?:incorporated|registered|established|licensed|authori[sz]ed|regulated)\s+" + _W + r"{0,3}?(?:in|by|under)\s+(?:the\s+)?"
            r"(?:Astana\s+International\s+Financial\s+Cent(?:re|er)|AIFC|AFSA|Astana\s+Financial\s+Services\s+Authority)",
            r"(?:is|are)\s+(?:an?\s+)?(?:AIFC\s+participant|Authori[sz]ed\s+Firm)"),
         "AIFC", None, triggers=("aifc", "afsa", "astana", "authorised firm", "authorized firm")),
    Rule("regime",
         _p(r"(?:licensed|registered|authori[sz]ed)\s+" + _W + r"{0,3}?by\s+the\s+National\s+Bank",
            r"holds?\s+" + _W + r"{0,4}?licen[cs]e\s+(?:issued\s+)?(?:by|from)\s+the\s+National\s+Bank",
            r"operates?\s+" + _W + r"{0,3}?outside\s+the\s+(?:AIFC|Astana\s+International\s+Financial\s+Cent(?:re|er))"),
         "national", None, triggers=("national bank", "outside the")),
)

_LICENCE = re.compile(
    r"(?:licensed|authori[sz]ed|regulated)\s+(?:\w+\s+){0,3}?by\s+(?:the\s+)?(?P<reg>AFSA|Astana\s+Financial\s+Services\s+Authority|National\s+Bank(?:\s+of\s+Kazakhstan)?)"
    r"(?:\s+(?:to|for)\s+(?P<what>[^.;:()]{3,120}))?"
    r"|holds?\s+(?:an?\s+|the\s+)?(?P<reg2>AFSA|National\s+Bank)\s+licen[cs]e(?:\s+(?:to|for)\s+(?P<what2>[^.;:()]{3,120}))?",
    re.I,
)
_INCORPORATED = re.compile(r"(?:incorporated|registered|established|headquartered)\s+(?:in|under\s+the\s+laws\s+of)\s+(?P<where>[^.;:()]{2,80})", re.I)
_ROLE_PATTERNS: dict[str, re.Pattern[str]] = {
    "deputy_mlro": re.compile(r"\bDeputy\s+(?:MLRO|Money\s+Laundering\s+Reporting\s+Officer)\b", re.I),
    "mlro": re.compile(r"(?<!Deputy )\b(?:Money\s+Laundering\s+Reporting\s+Officer|MLRO)\b"),
    "compliance_officer": re.compile(r"\b(?:(?:Chief|Group)\s+Compliance\s+Officer|Head\s+of\s+Compliance|Compliance\s+Officer|Compliance\s+Director|Director\s+of\s+Compliance)\b"),
    "ciso": re.compile(r"\b(?:Chief\s+Information\s+Security\s+Officer|CISO|Head\s+of\s+(?:Information\s+|Cyber\s+)?Security|Information\s+Security\s+Officer)\b"),
    "cto": re.compile(r"\b(?:Chief\s+Technology\s+Officer|CTO)\b"),
    "ceo": re.compile(r"\b(?:Chief\s+Executive\s+Officer|CEO)\b"),
    "cfo": re.compile(r"\b(?:Chief\s+Financial\s+Officer|CFO)\b"),
    "dpo": re.compile(r"\b(?:Data\s+Protection\s+Officer|DPO)\b"),
    "internal_audit": re.compile(r"\b(?:Head\s+of\s+Internal\s+Audit|Chief\s+Internal\s+Auditor|Internal\s+Auditor)\b"),
}
_PERSON = re.compile(r"([A-Z][a-zà-ÿ'’-]+(?:\s+[A-Z][a-zà-ÿ'’-]+){1,2}),\s+(?:the\s+|our\s+)?$")
# Words that make a capitalised phrase a title or a body, not a person's name.
_NOT_A_NAME = re.compile(r"\b(?:Officer|Director|Manager|Head|Chief|Board|Committee|Company|Exchange|Firm|Team|Lead|"
                         r"Secretary|Analyst|Owner|Controller|Auditor|Counsel|Treasurer|Chair|Deputy|Senior|Executive)\b")
_ROLE_TRIGGERS = {
    "mlro": ("mlro", "money laundering"), "deputy_mlro": ("deputy",), "compliance_officer": ("compliance",),
    "ciso": ("ciso", "security"), "cto": ("cto", "technology"), "ceo": ("ceo", "executive"),
    "cfo": ("cfo", "financial officer"), "dpo": ("dpo", "data protection"), "internal_audit": ("audit",),
}
_ACRONYMS = {"mlro": "MLRO", "deputy_mlro": "Deputy MLRO", "ciso": "CISO", "cto": "CTO", "ceo": "CEO", "cfo": "CFO", "dpo": "DPO"}


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1].rstrip() + "…"


def _evidence(s: Said, what: str) -> Evidence:
    return Evidence(file=s.file, line_start=s.line_start, line_end=s.line_end, quote=_clip(s.text), element=what)


def legal_name(said: Sequence[Said]) -> tuple[str | None, list[Said]]:
    """The firm's name: the company name the folder defines as "the Company", else the most frequent one."""
    defined: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    first: dict[str, Said] = {}
    for s in said:
        for m in _NAME.finditer(s.text):
            name = " ".join(m.group(1).replace("*", "").split())
            seen[name] += 1
            first.setdefault(name, s)
            if _DEFINED.match(s.text[m.end(): m.end() + 40].lstrip(" *")):
                defined[name] += 1
    for counts, least in ((defined, 1), (seen, 2)):
        top = counts.most_common(2)
        if top and top[0][1] >= least and (len(top) == 1 or top[1][1] < top[0][1]):
            return top[0][0], [first[top[0][0]]]
    return None, []


def _subject_re(said: Sequence[Said], name: str | None) -> re.Pattern[str]:
    terms = set(_BASE_SUBJECTS)
    for s in said:
        terms.update(rf"the {re.escape(m.group(1).lower())}" for m in _DEFINED.finditer(s.text))
    if name:
        terms.add(re.escape(name.lower()))
        short = re.sub(rf"\s+{_COMPANY_SUFFIX}$", "", name).strip()
        if len(short) >= 4:
            terms.add(re.escape(short.lower()))
    alts = "|".join(sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alts})(?![\w-])", re.I)


_HYPOTHETICAL = re.compile(r"\b(?:if|where|whether|when|unless|in case|in the event|before|until|once|should)\b", re.I)
_MODAL = re.compile(r"\b(?:may|might|could|would|can)\b", re.I)


def _statements(rule: Rule, s: Said, subject: re.Pattern[str], low: str) -> list[bool | str | None]:
    """Values a rule reads in one sentence (one per match); conditions and possibilities say nothing."""
    out: list[bool | str | None] = []
    if rule.triggers and not any(t in low for t in rule.triggers):
        return out
    for m in _compiled(rule.predicate).finditer(s.text):
        # Only the text just before the predicate matters (the gap is at most 120 characters), so a very
        # long sentence with many matches stays linear.
        before = s.text[max(0, m.start() - _REACH): m.start()]
        if rule.subject:
            subjects = list(subject.finditer(before))
            if not subjects:
                continue
            gap = before[subjects[-1].end():]
            lead = _CLAUSE.split(before[: subjects[-1].start()])[-1]
            if len(gap) > 120 or re.search(r"[.!?]\s", gap) or _HYPOTHETICAL.search(" ".join(lead.split()[-3:])):
                continue
        else:
            gap = before[-60:]
        clause = " ".join(_CLAUSE.split(gap)[-1].split()[-5:])
        if _MODAL.search(clause) or (not rule.subject and _HYPOTHETICAL.search(clause)):
            continue
        negated = bool(_NEG.search(clause) or _NEG.search(m.group(0)))
        out.append(rule.if_negated if negated else rule.if_stated)
    return out


_REACH = 240
_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    if pattern not in _PATTERNS:
        _PATTERNS[pattern] = re.compile(pattern, re.I)
    return _PATTERNS[pattern]


@functools.cache
def _any_trigger() -> re.Pattern[str] | None:
    if any(not rule.triggers for rule in RULES):
        return None  # a rule that reads every sentence: no shortcut
    words = {t for rule in RULES for t in rule.triggers} | {t for ts in _ROLE_TRIGGERS.values() for t in ts}
    return re.compile("|".join(re.escape(t) for t in sorted(words, key=len, reverse=True)))


def relevant(text: str) -> bool:
    """Can this sentence say anything about who the firm is? (What a folder scan keeps for inference.)

    Keeps every sentence any inference rule reads: names and defined terms, activity and client
    statements, incorporation, licences, role titles. ``infer`` on only these sentences gives the same
    profile as on all of them, so a large folder sends a handful of sentences, not its text.
    """
    if _NAME.search(text) or _DEFINED.search(text) or _INCORPORATED.search(text) or _LICENCE.search(text):
        return True
    low = text.lower()
    gate = _any_trigger()
    if gate is not None and not gate.search(low):
        return False  # every rule and role needs one of its trigger words: most sentences stop here
    rules, roles, triggers = _by_trigger()
    present = [t for t in triggers if t in low]
    # only the rules and roles one of whose triggers the sentence holds (and the rules without triggers)
    for k in sorted({k for t in present for k in rules.get(t, ())} | rules.get("", set())):
        if _compiled(RULES[k].predicate).search(text):
            return True
    for role in {role for t in present for role in roles.get(t, ())}:
        if _ROLE_PATTERNS[role].search(text) or (role in _ACRONYMS and _titled(_ACRONYMS[role]).search(text)):
            return True
    return False


@functools.cache
def _by_trigger() -> tuple[dict[str, set[int]], dict[str, set[str]], tuple[str, ...]]:
    """Trigger word -> the rules (by position; "" for rules without triggers) and roles it gates; every trigger."""
    rules: dict[str, set[int]] = {}
    for k, rule in enumerate(RULES):
        for t in rule.triggers or ("",):
            rules.setdefault(t, set()).add(k)
    roles: dict[str, set[str]] = {}
    for role in _ROLE_PATTERNS:
        for t in _ROLE_TRIGGERS[role]:
            roles.setdefault(t, set()).add(role)
    return rules, roles, tuple(sorted((set(rules) | set(roles)) - {""}))


def _settle(found: list[tuple[bool | str, Said]]) -> tuple[bool | str | None, list[Said], bool]:
    """One value when every statement agrees; (None, all, True) when they disagree."""
    values = {v for v, _ in found}
    if not found:
        return None, [], False
    if len(values) > 1:
        return None, [s for _, s in found], True
    return found[0][0], [s for _, s in found][:2], False


def _fact_words(fact: str) -> str:
    kind, _, key = fact.partition(".")
    if kind == "activities":
        return f"whether the firm is a {ACTIVITY_LABELS[key]}"
    if kind == "clients":
        return f"whether it serves {key} clients"
    return {"third_party_custodians": "whether it uses third-party custodians", "regime": "its regime"}.get(fact, fact)


@dataclass(frozen=True)
class Inference:
    profile: FirmProfile
    notes: tuple[str, ...]  # statements that disagree, left unknown


def infer(said: Sequence[Said]) -> Inference:
    """What the policies state about the firm; fields without a clear statement stay default."""
    name, name_ev = legal_name(said)
    subject = _subject_re(said, name)
    found: dict[str, list[tuple[bool | str, Said]]] = {}
    lows = [s.text.lower() for s in said]
    by_trigger, _, triggers = _by_trigger()
    for s, low in zip(said, lows, strict=True):
        # in rule order, the rules one of whose triggers the sentence holds (the others read nothing in it)
        ready = {k for t in triggers if t in low for k in by_trigger.get(t, ())} | by_trigger.get("", set())
        for rule in (RULES[k] for k in sorted(ready)):
            for value in _statements(rule, s, subject, low):
                if value is not None:
                    found.setdefault(rule.fact, []).append((value, s))
    notes: list[str] = []
    settled: dict[str, tuple[bool | str, list[Said]]] = {}
    for fact, items in found.items():
        value, ev, disagree = _settle(items)
        if disagree:
            where = "; ".join(f"{s.file} L{s.line_start}-{s.line_end}" for s in ev[:4])
            notes.append(f"The policies disagree about {_fact_words(fact)} ({where}); it was left unknown. "
                         "State it in company.toml.")
        elif value is not None:
            settled[fact] = (value, ev)

    def flag(fact: str) -> FlagFact:
        if fact not in settled:
            return FlagFact()
        value, ev = settled[fact]
        return FlagFact(value=bool(value), origin="inferred", evidence=tuple(_evidence(s, fact) for s in ev))

    profile = FirmProfile(
        legal_name=TextFact(value=name, origin="inferred", evidence=tuple(_evidence(s, "legal_name") for s in name_ev)) if name else TextFact(),
        activities={a: flag(f"activities.{a}") for a in ACTIVITIES},
        clients={c: flag(f"clients.{c}") for c in CLIENT_TYPES},
        third_party_custodians=flag("third_party_custodians"),
    )
    update: dict[str, Any] = {}
    if "regime" in settled:
        value, ev = settled["regime"]
        evidence = tuple(_evidence(s, "regime") for s in ev)
        update["regime"] = TextFact(value=str(value), origin="inferred", evidence=evidence)
        update["jurisdictions"] = ListFact(value=("KZ",), origin="inferred", evidence=evidence)
    else:
        update.update(_jurisdictions(said, subject))
    update.update(_licences(said, subject))
    update["roles"] = _roles(said, lows)
    return Inference(profile.model_copy(update=update), tuple(notes))


def _jurisdictions(said: Sequence[Said], subject: re.Pattern[str]) -> dict[str, Any]:
    from agent.scope import places_in

    codes: dict[str, Said] = {}
    for s in said:
        for m in _INCORPORATED.finditer(s.text):
            before = s.text[max(0, m.start() - _REACH): m.start()]
            if not subject.search(before) or _negated_gap(before[-40:]):
                continue
            for code, _ in places_in(m.group("where")):
                codes.setdefault(code, s)
    if not codes:
        return {}
    return {"jurisdictions": ListFact(value=tuple(codes), origin="inferred",
                                      evidence=tuple(_evidence(s, "jurisdictions") for s in dict.fromkeys(codes.values())))}


def _licences(said: Sequence[Said], subject: re.Pattern[str]) -> dict[str, Any]:
    held: dict[str, Said] = {}
    for s in said:
        for m in _LICENCE.finditer(s.text):
            before = s.text[max(0, m.start() - _REACH): m.start()]
            subj = list(subject.finditer(before))
            if not subj or len(before) - subj[-1].end() > 80 or _negated_gap(before[subj[-1].end():]):
                continue
            if re.search(r"\b(?:applied|applying|apply|seeks?|seeking|intends?|plans?|will)\b", before[subj[-1].end():], re.I):
                continue  # an application or a plan is not a licence held
            reg = m.group("reg") or m.group("reg2")
            reg = "AFSA" if reg.upper().startswith(("AFSA", "ASTANA")) else "National Bank of Kazakhstan"
            what = (m.group("what") or m.group("what2") or "").strip()
            if len(what) >= 120:  # cut at a word, not inside one
                what = what.rsplit(" ", 1)[0] + "…"
            held.setdefault(f"{reg} licence" + (f": {what}" if what else ""), s)
    if not held:
        return {}
    return {"licences": ListFact(value=tuple(held), origin="inferred",
                                 evidence=tuple(_evidence(s, "licences") for s in held.values()))}


@functools.cache
def _titled(acronym: str) -> re.Pattern[str]:
    """A title written out before the role's acronym: "Head of Financial Crime (MLRO)"."""
    return re.compile(r"((?:[A-Z][\w-]*)(?:\s+(?:of|and|&|for|[A-Z][\w-]*)){0,6})\s*\((?:the\s+)?" + re.escape(acronym) + r"\)")


def _roles(said: Sequence[Said], lows: Sequence[str]) -> dict[str, TextFact]:
    """Each key role with the title the folder uses (spelled out, "Title (ACRONYM)" first), and its holder's name."""
    out: dict[str, TextFact] = {}
    for role, pat in _ROLE_PATTERNS.items():
        titles: Counter[str] = Counter()
        first: dict[str, Said] = {}
        named: tuple[str, Said] | None = None
        titled = _titled(_ACRONYMS[role]) if role in _ACRONYMS else None
        triggers = _ROLE_TRIGGERS[role]
        for s, low in zip(said, lows, strict=True):
            if not any(t in low for t in triggers):
                continue
            hits = [(m.start(), " ".join(m.group(0).split()), 0) for m in pat.finditer(s.text)]
            if titled is not None:
                hits += [(m.start(), " ".join(m.group(0).split()), 1) for m in titled.finditer(s.text)
                         if not m.group(1).strip().endswith(("Deputy",)) or role == "deputy_mlro"]
            for start, title, _ in hits:
                titles[title] += 1
                first.setdefault(title, s)
                person = _PERSON.search(s.text[max(0, start - 60): start])
                if named is None and person and not _NOT_A_NAME.search(person.group(1)):
                    named = (person.group(1), s)
        if not titles:
            continue
        title = max(titles, key=lambda t: (t.endswith(")") and "(" in t, len(t.split()) > 1, titles[t]))
        value = f"{title}, {named[0]}" if named else title
        ev = named[1] if named else first[title]
        out[role] = TextFact(value=value, origin="inferred", evidence=(_evidence(ev, f"roles.{role}"),))
    return out


# --- building the effective profile ---------------------------------------------------------------


def effective(explicit: Path | None, policies: Path | None, said: Sequence[Said],
              fields: dict[str, Any] | None = None) -> tuple[FirmProfile, tuple[str, ...]]:
    """The profile a run uses (company.toml or inline ``fields``, then inference, then defaults) and notes for the report."""
    if fields is not None:
        file_profile: FirmProfile | None = from_file(read_profile_fields(fields), INLINE_PROFILE)
    else:
        path = profile_path(explicit, policies)
        file_profile = from_file(read_profile_file(path), str(path)) if path is not None else None
    inferred = infer(said)
    profile = merge(file_profile, inferred.profile)
    notes = list(inferred.notes)
    given = explicit if fields is None else "the profile given with the run"
    if given is not None and policies is not None and (Path(policies) / PROFILE_FILE).exists():
        notes.append(f"{'--profile ' if fields is None else ''}{given} was used; the {PROFILE_FILE} in the policy folder was not read.")
    return profile, tuple(notes)


def read_folder_sentences(policies: Path) -> tuple[list[Said], list[str]]:
    """Sentences of a policy folder read the way a run reads it (for `agent profile`)."""
    from agent.assess import prepare
    from tools.policies import read_policies

    folder = read_policies(policies)
    return sentences_of(prepare(d.path, d.lines) for d in folder.documents), list(folder.warnings)


# --- showing and writing a profile ------------------------------------------------------------------


def show_value(fact: TextFact | ListFact | FlagFact) -> str:
    if isinstance(fact, FlagFact):
        return {True: "yes", False: "no", None: "unknown"}[fact.value]
    if isinstance(fact, ListFact):
        return ", ".join(fact.value) if fact.value else "unknown"
    return fact.value or "unknown"


def show_origin(fact: TextFact | ListFact | FlagFact, file: str | None = None) -> str:
    if fact.origin == "file":
        return f"file ({file})" if file else "file"
    if fact.origin == "inferred" and fact.evidence:
        e = fact.evidence[0]
        return f"inferred from {e.file} L{e.line_start}-{e.line_end}: “{e.quote}”"
    return fact.origin


def rows(profile: FirmProfile) -> list[tuple[str, str, str]]:
    """(field, value, origin) for every field, as `agent profile show` and the report print them."""
    return [(name, show_value(fact), show_origin(fact, profile.file)) for name, fact in profile.facts().items()]


def _toml_str(text: str) -> str:
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", out)
    return f'"{out}"'


def _toml_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(_toml_str(i) for i in items) + "]"


def _comment(fact: TextFact | ListFact | FlagFact) -> str:
    if fact.origin == "inferred" and fact.evidence:
        e = fact.evidence[0]
        quote = " ".join(e.quote.split())[:120]
        return f"# inferred from {e.file} L{e.line_start}-{e.line_end}: {quote}\n".replace("\r", " ")
    return ""


def to_toml(profile: FirmProfile) -> str:
    """company.toml text for a profile; unknown fields are left as commented examples."""
    out = ["# Firm profile read by `agent run` (see README, \"Firm profile and applicability\").",
           "# Every field is optional: what is left out is inferred from the policies or treated as unknown.", ""]

    def field(name: str, fact: TextFact | ListFact | FlagFact, rendered: str | None, example: str) -> None:
        if rendered is None:
            out.append(f"# {name} = {example}")
        else:
            out.append(_comment(fact) + f"{name} = {rendered}")

    p = profile
    field("legal_name", p.legal_name, _toml_str(p.legal_name.value) if p.legal_name.value else None, '"Example Digital Ltd"')
    field("jurisdictions", p.jurisdictions, _toml_list(p.jurisdictions.value) if p.jurisdictions.value else None, '["KZ"]')
    out.append('# regime: "AIFC" (an AIFC participant, supervised by the AFSA) or "national" (Kazakhstan outside the AIFC)')
    field("regime", p.regime, _toml_str(p.regime.value) if p.regime.value else None, '"AIFC"')
    field("licences", p.licences, _toml_list(p.licences.value) if p.licences.value else None,
          '["AFSA licence: Operating a Digital Asset Trading Facility"]')
    out.append(f"# activities: every activity the firm carries on; one not listed is treated as not carried on. "
               f"Any of: {', '.join(ACTIVITIES)}")
    for a in ACTIVITIES:
        if p.activities[a].origin == "inferred":
            out.append(_comment(p.activities[a]).rstrip("\n").replace("# inferred", f"# {a}: {show_value(p.activities[a])}, inferred", 1))
    acts = [a for a in ACTIVITIES if p.activities[a].value]
    if acts and any(p.activities[a].origin == "inferred" for a in ACTIVITIES):
        out.append("# (read from the policies: add any activity they do not mention)")
    out.append(f"activities = {_toml_list(acts)}" if acts else '# activities = ["trading_venue", "custodian"]')
    out.append("# clients: the client types served (retail, professional); one not listed is not served")
    clients = [c for c in CLIENT_TYPES if p.clients[c].value]
    if all(p.clients[c].value is not None for c in CLIENT_TYPES):
        out.append(f"clients = {_toml_list(clients)}")
    else:
        # a partial list would say the unknown types are not served
        known = ", ".join(f"{c}: {show_value(p.clients[c])}" for c in CLIENT_TYPES)
        out.append(f"# clients = {_toml_list(clients or CLIENT_TYPES)}  ({known}; complete the list before uncommenting)")
    out.append("# third_party_custodians: are client assets placed with custodians outside the firm?")
    t = p.third_party_custodians
    field("third_party_custodians", t, ("true" if t.value else "false") if t.value is not None else None, "false")
    out += ["", "# Key roles and the titles the firm uses for them (mlro, deputy_mlro, compliance_officer, ciso, cto, ceo, cfo, dpo, ...)",
            "[roles]"]
    for role, fact in p.roles.items():
        if fact.value:
            out.append(f"{role} = {_toml_str(fact.value)}")
    if not p.roles:
        out.append('# mlro = "Money Laundering Reporting Officer"')
    return "\n".join(out) + "\n"


# --- agent profile init ---------------------------------------------------------------------------

Ask = Callable[[str, str], str]  # (question, default) -> answer

_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("legal_name", "Legal name"),
    ("jurisdictions", "Jurisdictions (ISO codes or names, comma-separated)"),
    ("regime", "Regime (AIFC for an AIFC participant, national for Kazakhstan outside the AIFC, blank if neither)"),
    ("licences", "Licences or authorisations held (separate with ;)"),
    ("activities", f"Activities carried on, comma-separated ({', '.join(ACTIVITIES)})"),
    ("clients", "Client types served, comma-separated (retail, professional)"),
    ("third_party_custodians", "Are client assets placed with third-party custodians? (y/n, blank if none are held)"),
    ("roles", "Key roles as KEY=Title, separated with ; (e.g. mlro=Head of Financial Crime; ciso=Head of Security)"),
)


def _as_text(name: str, p: FirmProfile) -> str:
    """A field of a profile as prompt default text."""
    if name == "activities":
        return ", ".join(a for a in ACTIVITIES if p.activities[a].value)
    if name == "clients":
        return ", ".join(c for c in CLIENT_TYPES if p.clients[c].value)
    if name == "third_party_custodians":
        return {True: "y", False: "n", None: ""}[p.third_party_custodians.value]
    if name == "roles":
        return "; ".join(f"{k}={v.value}" for k, v in p.roles.items() if v.value)
    fact = getattr(p, name)
    if isinstance(fact, ListFact):
        return ("; " if name == "licences" else ", ").join(fact.value)
    return fact.value or ""


def _parse(name: str, text: str) -> Any:
    """A typed answer for a field (validated by CompanyFile afterwards); None for a blank answer."""
    text = text.strip()
    if not text:
        return None
    if name == "third_party_custodians":
        low = text.lower()
        if low in ("y", "yes", "true"):
            return True
        if low in ("n", "no", "false"):
            return False
        raise ProfileError("third_party_custodians: answer y or n (or leave it blank)")
    if name == "roles":
        out = {}
        for part in filter(None, (x.strip() for x in text.split(";"))):
            key, sep, title = part.partition("=")
            if not sep:
                raise ProfileError(f"roles: {part!r} is not KEY=Title")
            out[key.strip()] = title.strip()
        return out
    if name in ("jurisdictions", "activities", "clients"):
        return [x for x in re.split(r"[,\s]+", text) if x]
    if name == "licences":
        return [x.strip() for x in text.split(";") if x.strip()]
    return text


def _validated(values: dict[str, Any]) -> CompanyFile:
    try:
        return CompanyFile.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        raise ProfileError("; ".join(f"{_loc(e['loc'])}: {_message(e)}" for e in exc.errors())) from None


def profile_init_text(given: dict[str, Any], said: Sequence[Said], ask: Ask | None,
                      say: Callable[[str], None] = print, base: FirmProfile | None = None) -> str:
    """company.toml text from flags (``given``), answers to prompts, then ``base`` (the profile a run on the
    folder would use) or what the policies state."""
    _validated(given)  # flags are checked before any question is asked
    inferred = base if base is not None else (infer(said).profile if said else FirmProfile())
    values = dict(given)
    if ask is not None:
        for name, question in _QUESTIONS:
            if values.get(name) is not None:
                continue
            while True:
                answer = ask(question, _as_text(name, inferred))
                try:
                    parsed = _parse(name, answer)
                    _validated({name: parsed})
                except ProfileError as exc:
                    say(f"error: {exc}")
                    continue
                break
            # Accepting an inferred default keeps it marked as inferred (with its quote) in the file.
            if parsed is not None and answer.strip() != _as_text(name, inferred):
                values[name] = parsed
    stated = from_file(_validated(values), "")
    return to_toml(merge(stated, inferred))
