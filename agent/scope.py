"""Turn the free text of ``agent run "<query>"`` into a :class:`~agent.models.Scope`.

A query names one or more topics and exactly one jurisdiction, in any order, with filler words
allowed around them: ``"stablecoin KZ"``, ``"crypto tax in Kazakhstan"``, ``"AIFC custody"``,
``"stablecoins in the EU"``. Matching is greedy, longest phrase first, so multi-word names
("United Kingdom", "retail trading", "Astana International Financial Centre") win over the
single words inside them.

Two-letter and three-letter ISO codes that are also everyday English words ("in", "is", "it",
"to", "us", "and", "are", "can" ...) count as a jurisdiction only when written in capitals, and
only when no other jurisdiction is named: ``"stablecoin IN"`` is India, ``"stablecoins in kz"``
is Kazakhstan.

Anything the parser cannot place raises :class:`ScopeError`, whose ``message`` is one paragraph
for the user and whose ``suggestions`` are short lines to print under it.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .models import TOPICS, Scope, Topic

MAX_QUERY_CHARS = 200

EXAMPLES: tuple[str, ...] = (
    "stablecoin Kazakhstan",
    "custody AIFC",
    "aml/ctf KZ",
    "payments UAE",
    "stablecoins in the EU",
)


class ScopeError(ValueError):
    """Bad input; ``.message`` is one paragraph for the user, ``.suggestions`` a list of strings."""

    def __init__(self, message: str, suggestions: list[str] | tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.suggestions = list(suggestions)

    def __str__(self) -> str:
        return self.message


# --- vocabulary -----------------------------------------------------------------------------

# Surface phrases per topic. Plurals, case, punctuation and hyphens are normalised away, so
# "Stablecoins", "stable-coin" and "stable coins" all match "stable coin".
TOPIC_PHRASES: dict[Topic, tuple[str, ...]] = {
    "stablecoin": (
        "stablecoin", "stable coin", "fiat backed token", "fiat referenced token",
        "e-money token", "emt", "asset referenced token", "payment stablecoin", "payment token",
    ),
    "exchange": (
        "exchange", "crypto exchange", "trading", "trade", "trading platform", "exchange platform",
        "datf", "digital asset trading facility", "trading facility", "trading venue", "broker",
        "dealer", "broker dealer", "brokerage", "otc", "otc desk", "over the counter",
    ),
    "custody": (
        "custody", "custodian", "custodial", "safekeeping", "safe keeping", "safe-keeping",
        "wallet", "wallet provider", "custodial wallet", "hosted wallet", "wallet service",
    ),
    "licensing": (
        "licence", "license", "licensing", "licencing", "licensed", "licenced", "authorisation",
        "authorization", "authorised", "authorized", "registration", "permit",
    ),
    "regulatory_status": (
        "regulatory status", "legal status", "status", "legality", "is crypto legal",
        "is cryptocurrency legal", "is bitcoin legal", "overview", "regulatory overview", "banned",
        "ban",
    ),
    "retail_trading": (
        "retail trading", "retail", "retail investor", "retail client", "retail customer",
        "retail access",
    ),
    "aml_ctf": (
        "aml", "ctf", "cft", "aml ctf", "aml cft", "kyc", "anti money laundering",
        "money laundering", "counter terrorist financing", "countering terrorist financing",
        "terrorist financing", "terrorism financing", "countering the financing of terrorism",
        "travel rule", "sanction", "sanctions screening", "know your customer",
        "customer due diligence", "due diligence", "cdd", "edd", "financial monitoring",
    ),
    "mining": ("mining", "miner", "digital mining", "crypto mining", "mining farm"),
    "tax": ("tax", "taxation", "taxed", "taxable", "vat", "capital gain"),
    "payments": (
        "payment", "psp", "payment service", "payment service provider", "remittance", "on ramp",
        "off ramp", "onramp", "offramp", "fiat on ramp", "money transfer", "money transmission",
        "money transmitter", "e-money", "emi",
    ),
}

# Subjects without a topic of their own, read as the nearest topics; the report says so.
NEAREST_TOPICS: dict[str, tuple[tuple[Topic, ...], tuple[str, ...]]] = {
    "staking and lending": (("custody", "retail_trading"), (
        "staking", "stake", "staking service", "lending", "crypto lending", "lend", "borrowing", "yield", "earn",
        "staking lending")),
    "DeFi": (("regulatory_status", "exchange"), (
        "defi", "decentralised finance", "decentralized finance", "dex", "decentralised exchange",
        "decentralized exchange", "liquidity pool", "amm")),
    "NFTs": (("regulatory_status",), ("nft", "non fungible token", "nft marketplace")),
    "token offerings": (("regulatory_status", "licensing"), (
        "ico", "initial coin offering", "token offering", "token sale", "white paper", "whitepaper", "ieo", "sto")),
    "derivatives": (("exchange", "retail_trading"), (
        "derivative", "perpetual", "perp", "margin trading", "leverage", "leveraged trading", "cfd")),
    "crypto ATMs": (("payments", "aml_ctf"), ("atm", "crypto atm", "bitcoin atm", "crypto kiosk")),
}

# Words that may appear around the topic and the jurisdiction without changing the scope.
FILLER_PHRASES: tuple[str, ...] = (
    # the asset class itself
    "crypto", "cryptocurrency", "cryptoasset", "crypto asset", "virtual asset", "virtual currency",
    "digital asset", "digital currency", "digital financial asset", "dfa", "va", "vasp", "casp",
    "bitcoin", "btc", "ether", "ethereum", "token", "coin", "blockchain", "dlt", "web3", "asset",
    "digital", "virtual", "fiat",
    # the business
    "service", "provider", "service provider", "business", "company", "firm", "activity",
    "operation", "operate", "operating", "operator", "issuer", "issuance", "issuing", "issue",
    "launch", "launching", "setup", "set up", "setting up", "start", "starting", "platform",
    "run", "running", "open", "opening", "offer", "offering", "provide", "providing", "sell", "selling",
    "do business", "doing business", "want", "plan", "planning", "customer", "client", "user",
    # the law in general
    "requirement", "requirements", "rule", "rules", "regulation", "regulations", "regulatory", "regulated", "regulating", "regulator",
    "law", "legal", "lawful", "allowed", "permitted", "legislation", "framework", "landscape",
    "regime", "compliance", "compliant", "obligation", "guide", "guidance", "treatment",
    # the question around it
    "what", "whats", "which", "how", "are", "is", "does", "do", "can", "could", "should", "must",
    "need", "needed", "get", "obtain", "apply", "i", "we", "you", "our", "my", "me", "us", "a",
    "an", "and", "or", "with", "under", "within", "about", "regarding", "on", "in", "for", "of",
    "the", "to", "at", "by", "from", "into", "it", "be", "no", "so", "this", "that", "there",
    "any", "all", "when", "where", "who", "why", "will", "would", "have", "has", "new", "current", "latest", "country", "jurisdiction",
    "market", "local", "please", "show", "tell", "give", "explain", "summary", "check", "analysis",
    "analyse", "analyze", "gap", "policy", "eg", "ie", "etc", "if", "as", "like", "know", "help",
    "required", "necessary", "they", "their", "them", "its", "one", "own", "here", "there", "do i need",
    # comparisons
    "vs", "v", "versus", "compared with", "compared to", "compare", "comparing", "comparison", "between", "against",
    "side by side",
)

# ISO codes that are also English words; such a code counts only when written in capitals.
# Codes that are filler or topic words (in, to, us, and, are, can, vat ...) are added to this set
# automatically when the index is built.
_ENGLISH_CODES: frozenset[str] = frozenset(
    {
        "ad", "ag", "ai", "al", "am", "as", "at", "be", "by", "co", "cv", "do", "eg", "er", "hr",
        "id", "ie", "in", "is", "it", "la", "ma", "me", "mo", "my", "no", "pa", "pm", "pr", "ps",
        "re", "so", "st", "to", "tv", "um", "us", "ye",
        "ago", "and", "are", "arm", "ben", "bra", "can", "cod", "cog", "col", "com", "cub", "dom",
        "fin", "fro", "gab", "gin", "gum", "guy", "jam", "ken", "lie", "mac", "mar", "nor", "pan",
        "per", "pol", "pry", "ton", "tun", "vat",
    }
)

# (phrase, code, regime hint, hint is strong). A strong hint names the regime itself; a weak one
# names a city that hosts it, and gives way to a strong hint for the same country.
JURISDICTION_ALIASES: tuple[tuple[str, str, str | None, bool], ...] = (
    ("aifc", "KZ", "AIFC", True),
    ("astana international financial centre", "KZ", "AIFC", True),
    ("astana international financial center", "KZ", "AIFC", True),
    ("afsa", "KZ", "AIFC", True),
    ("astana financial services authority", "KZ", "AIFC", True),
    ("astana", "KZ", "AIFC", False),
    ("difc", "AE", "DIFC", True),
    ("dubai international financial centre", "AE", "DIFC", True),
    ("dubai international financial center", "AE", "DIFC", True),
    ("adgm", "AE", "ADGM", True),
    ("abu dhabi global market", "AE", "ADGM", True),
    ("vara", "AE", "VARA", True),
    ("virtual assets regulatory authority", "AE", "VARA", True),
    ("dubai", "AE", "VARA", False),
    ("abu dhabi", "AE", None, False),
    ("uae", "AE", None, False),
    ("emirates", "AE", None, False),
    ("fsra", "AE", "ADGM", True),
    ("financial services regulatory authority", "AE", "ADGM", True),
    ("dfsa", "AE", "DIFC", True),
    ("dubai financial services authority", "AE", "DIFC", True),
    ("cbuae", "AE", "federal", True),
    ("central bank of the uae", "AE", "federal", True),
    ("central bank of the united arab emirates", "AE", "federal", True),
    ("securities and commodities authority", "AE", "federal", True),
    ("onshore uae", "AE", "federal", True),
    ("almaty", "KZ", None, False),
    ("national bank of kazakhstan", "KZ", "national", True),
    ("ardfm", "KZ", "national", True),
    ("mas", "SG", "MAS", True),
    ("monetary authority of singapore", "SG", "MAS", True),
    ("sfc", "HK", "SFC", True),
    ("securities and futures commission", "HK", "SFC", True),
    ("hkma", "HK", "HKMA", True),
    ("hong kong monetary authority", "HK", "HKMA", True),
    ("stablecoins ordinance", "HK", "HKMA", True),
    ("fincen", "US", "federal", True),
    ("genius act", "US", "federal", True),
    ("nydfs", "US", "NY", True),
    ("bitlicense", "US", "NY", True),
    ("new york", "US", "NY", False),
    ("fca", "GB", "FCA", True),
    ("financial conduct authority", "GB", "FCA", True),
    ("eu", "EU", None, False),
    ("european union", "EU", None, False),
    ("europe", "EU", None, False),
    ("mica", "EU", None, False),
    ("markets in crypto assets", "EU", None, False),
    ("markets in crypto assets regulation", "EU", None, False),
    ("tfr", "EU", None, False),
    ("transfer of funds regulation", "EU", None, False),
    ("esma", "EU", None, False),
    ("european securities and markets authority", "EU", None, False),
    ("eba", "EU", None, False),
    ("european banking authority", "EU", None, False),
    ("amla", "EU", None, False),
    ("uk", "GB", None, False),
    ("great britain", "GB", None, False),
    ("britain", "GB", None, False),
    ("england", "GB", None, False),
    ("usa", "US", None, False),
    ("america", "US", None, False),
    ("south korea", "KR", None, False),
    ("republic of korea", "KR", None, False),
    ("korea", "KR", None, False),
    ("north korea", "KP", None, False),
    ("russia", "RU", None, False),
    ("turkey", "TR", None, False),
    ("holland", "NL", None, False),
    ("ivory coast", "CI", None, False),
    ("vatican", "VA", None, False),
    ("vatican city", "VA", None, False),
    ("macau", "MO", None, False),
    ("burma", "MM", None, False),
    ("swaziland", "SZ", None, False),
    ("cape verde", "CV", None, False),
    ("east timor", "TL", None, False),
    ("ksa", "SA", None, False),
    ("hongkong", "HK", None, False),
    ("mainland china", "CN", None, False),
    ("prc", "CN", None, False),
    ("drc", "CD", None, False),
    ("dr congo", "CD", None, False),
    ("bvi", "VG", None, False),
    ("cayman", "KY", None, False),
    ("palestine", "PS", None, False),
    ("micronesia", "FM", None, False),
)

# Names shown to the user where pycountry has no short common name.
_DISPLAY_OVERRIDES: dict[str, str] = {
    "EU": "European Union",
    "RU": "Russia",
    "CD": "Democratic Republic of the Congo",
    "FK": "Falkland Islands",
    "FM": "Micronesia",
    "MF": "Saint Martin",
    "PS": "Palestine",
    "SX": "Sint Maarten",
    "VA": "Holy See",
    "VG": "British Virgin Islands",
    "VI": "US Virgin Islands",
}

# Names of aliases when offered as a correction ("Did you mean AIFC?").
_ALIAS_DISPLAY: dict[str, str] = {
    "aifc": "AIFC", "afsa": "AFSA", "difc": "DIFC", "adgm": "ADGM", "vara": "VARA", "uae": "UAE",
    "eu": "EU", "uk": "UK", "usa": "USA", "ksa": "KSA", "prc": "PRC", "drc": "DRC", "bvi": "BVI",
}


# --- normalisation ----------------------------------------------------------------------------

_APOSTROPHE = re.compile(r"['\u2019`\u00b4]")
_DOTTED_ACRONYM = re.compile(r"\b[A-Za-z](?:\.[A-Za-z])+\.?")  # U.K., U.S.A., e.g.
_TOKEN = re.compile(r"[^\W_]+")


def _prepare(text: str) -> str:
    text = _DOTTED_ACRONYM.sub(lambda m: m.group(0).replace(".", ""), text)
    return _APOSTROPHE.sub("", text)


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _stem(word: str) -> str:
    """Crude singular: enough to make "stablecoins", "taxes", "licences" match their singular."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("xes", "ches", "shes", "sses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _key(phrase: str) -> tuple[str, ...]:
    return tuple(_fold(w) for w in _TOKEN.findall(_prepare(phrase)))


def _stem_key(phrase: str) -> tuple[str, ...]:
    return tuple(_stem(w) for w in _key(phrase))


# --- index --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    code: str
    hint: str | None = None
    strong_hint: bool = False


@dataclass(frozen=True)
class _Index:
    names: dict[tuple[str, ...], _Place]  # unstemmed name keys -> place
    codes: dict[str, str]  # lower-case alpha-2 / alpha-3 -> alpha-2
    english_codes: frozenset[str]
    display: dict[str, str]  # alpha-2 / "EU" -> name shown to the user
    topics: dict[tuple[str, ...], Topic]  # stemmed key -> topic
    filler: frozenset[tuple[str, ...]]  # stemmed keys
    max_len: int
    corrections: dict[str, str]  # folded phrase -> how to write it, for difflib
    nearest: dict[tuple[str, ...], str]  # stemmed key of a subject without a topic -> NEAREST_TOPICS label


def _country_display(country: object) -> str:
    code = country.alpha_2  # type: ignore[attr-defined]
    if code in _DISPLAY_OVERRIDES:
        return _DISPLAY_OVERRIDES[code]
    return getattr(country, "common_name", None) or country.name  # type: ignore[attr-defined]


@lru_cache(maxsize=1)
def _index() -> _Index:
    import pycountry  # ~50 ms; only paid when a query is parsed

    names: dict[tuple[str, ...], _Place] = {}
    codes: dict[str, str] = {}
    display: dict[str, str] = {"EU": _DISPLAY_OVERRIDES["EU"]}
    corrections: dict[str, str] = {}

    def add_name(phrase: str, place: _Place, shown: str | None = None) -> None:
        key = _key(phrase)
        if key and key not in names:
            names[key] = place
            corrections.setdefault(" ".join(key), shown or phrase)

    for country in pycountry.countries:
        code = country.alpha_2
        shown = _country_display(country)
        display[code] = shown
        codes[code.lower()] = code
        codes[country.alpha_3.lower()] = code
        place = _Place(code)
        add_name(shown, place)
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if not value:
                continue
            add_name(value, place, shown)
            if "(" in value:  # "Holy See (Vatican City State)" -> "Holy See"
                add_name(re.sub(r"\s*\(.*?\)", "", value), place, shown)

    for phrase, code, hint, strong in JURISDICTION_ALIASES:
        shown = _ALIAS_DISPLAY.get(phrase) or (
            phrase.title() if hint else display.get(code, phrase.title())
        )
        add_name(phrase, _Place(code, hint, strong), shown)

    topics: dict[tuple[str, ...], Topic] = {}
    for topic, phrases in TOPIC_PHRASES.items():
        assert topic in TOPICS, topic
        for phrase in phrases:
            topics.setdefault(_stem_key(phrase), topic)
            corrections.setdefault(" ".join(_key(phrase)), phrase)
    nearest: dict[tuple[str, ...], str] = {}
    for label, (near, phrases) in NEAREST_TOPICS.items():
        for phrase in phrases:
            topics.setdefault(_stem_key(phrase), near[0])
            nearest[_stem_key(phrase)] = label
            corrections.setdefault(" ".join(_key(phrase)), phrase)
    filler = frozenset(_stem_key(p) for p in FILLER_PHRASES)
    for phrase in FILLER_PHRASES:
        if len(phrase) >= 4:
            corrections.setdefault(" ".join(_key(phrase)), phrase)

    single_words = {k[0] for k in topics if len(k) == 1} | {k[0] for k in filler if len(k) == 1}
    english_codes = frozenset(
        c for c in codes if c in _ENGLISH_CODES or c in single_words or _stem(c) in single_words
    )
    max_len = max(len(k) for k in (*names, *topics, *filler))
    return _Index(names, codes, english_codes, display, topics, filler, max_len, corrections, nearest)


# --- parsing ------------------------------------------------------------------------------------


@dataclass
class _Token:
    raw: str
    word: str  # folded
    stem: str
    start: int
    end: int


@dataclass
class _Match:
    kind: str  # "place" | "weak_place" | "topic" | "filler" | "unknown"
    first: int  # token indices, end exclusive
    last: int
    place: _Place | None = None
    topic: Topic | None = None
    fallback: str = "unknown"  # what a weak place becomes when another jurisdiction is named
    fallback_topic: Topic | None = None


def _topic_list() -> str:
    return "Supported topics: " + ", ".join(TOPICS) + "."


def _examples() -> str:
    return "Examples: " + ", ".join(f'"{e}"' for e in EXAMPLES) + "."


def _single_meaning(index: _Index, tok: _Token) -> tuple[str, Topic | None]:
    """Meaning of one token when it is not a place: ("topic", t), ("filler", None) or unknown."""
    key = (tok.stem,)
    if key in index.topics:
        return "topic", index.topics[key]
    if key in index.filler or tok.word.isdigit():
        return "filler", None
    return "unknown", None


def _scan(index: _Index, tokens: list[_Token]) -> list[_Match]:
    matches: list[_Match] = []
    i = 0
    n = len(tokens)
    while i < n:
        found: _Match | None = None
        for length in range(min(index.max_len, n - i), 1, -1):
            words = tuple(t.word for t in tokens[i : i + length])
            stems = tuple(t.stem for t in tokens[i : i + length])
            if words in index.names:
                found = _Match("place", i, i + length, place=index.names[words])
            elif stems in index.topics:
                found = _Match("topic", i, i + length, topic=index.topics[stems])
            elif stems in index.filler:
                found = _Match("filler", i, i + length)
            if found:
                break
        if found is None:
            tok = tokens[i]
            kind, topic = _single_meaning(index, tok)
            if (tok.word,) in index.names:
                found = _Match("place", i, i + 1, place=index.names[(tok.word,)])
            elif tok.word in index.codes:
                place = _Place(index.codes[tok.word])
                if tok.word not in index.english_codes:
                    found = _Match("place", i, i + 1, place=place)
                elif tok.raw.isupper():
                    found = _Match(
                        "weak_place", i, i + 1, place=place, fallback=kind, fallback_topic=topic
                    )
            if found is None:
                found = _Match(kind, i, i + 1, topic=topic)
        matches.append(found)
        i = found.last
    return matches


def _text(prepared: str, tokens: list[_Token], m: _Match) -> str:
    return prepared[tokens[m.first].start : tokens[m.last - 1].end]


def _unknown_runs(matches: list[_Match]) -> list[tuple[int, int]]:
    """Consecutive unknown tokens, as (first, last) token ranges."""
    runs: list[tuple[int, int]] = []
    for m in matches:
        if m.kind != "unknown":
            continue
        if runs and runs[-1][1] == m.first:
            runs[-1] = (runs[-1][0], m.last)
        else:
            runs.append((m.first, m.last))
    return runs


def _closest(index: _Index, phrase: str) -> str | None:
    hits = difflib.get_close_matches(phrase, index.corrections.keys(), n=1, cutoff=0.78)
    return index.corrections[hits[0]] if hits else None


def _corrections(
    index: _Index, prepared: str, tokens: list[_Token], runs: list[tuple[int, int]]
) -> list[str]:
    """One 'Did you mean ...?' line per recognised typo, then the query with all of them fixed."""
    lines: list[str] = []
    fixes: list[tuple[int, int, str]] = []  # character spans of ``prepared`` and their fix
    for first, last in runs:
        pieces = [(first, last)]
        if last - first > 1:
            pieces += [(k, k + 1) for k in range(first, last)]
        for a, b in pieces:
            better = _closest(index, " ".join(t.word for t in tokens[a:b]))
            if not better:
                continue
            start, end = tokens[a].start, tokens[b - 1].end
            lines.append(f'Did you mean "{better}" instead of "{_echo(prepared[start:end])}"?')
            fixes.append((start, end, better))
            if (a, b) == (first, last):
                break  # the whole run was recognised; skip its single words
    if fixes:
        fixed = prepared
        for start, end, better in sorted(fixes, reverse=True):
            fixed = fixed[:start] + better + fixed[end:]
        lines.append(f'Try "{_echo(fixed)}".')
    return lines


def _echo(text: str) -> str:
    """The query as quoted back in a message: one line, printable characters only."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _join_names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _quote_words(words: list[str]) -> str:
    return _join_names([f'"{w}"' for w in words])


def parse_scope(query: str) -> Scope:
    """Parse a free-text query into a :class:`Scope`, or raise :class:`ScopeError`."""
    return _parse(query, many=False)[0]


_LISTING = re.compile(r",|\b(?:and|or|vs|versus|compared|against|between)\b|\bv\.? ", re.IGNORECASE)


def parse_scopes(query: str) -> list[Scope]:
    """One scope per jurisdiction or regime the query names: "stablecoin EU vs Singapore" gives two."""
    return _parse(query, many=True)


def _parse(query: str, many: bool) -> list[Scope]:
    stripped = (query or "").strip()
    if not stripped:
        raise ScopeError(
            'Tell me a topic and a jurisdiction, e.g. "stablecoin Kazakhstan" or "custody AIFC".',
            [_examples(), _topic_list()],
        )
    if len(stripped) > MAX_QUERY_CHARS:
        raise ScopeError(
            f"That query is {len(stripped)} characters long; keep it under {MAX_QUERY_CHARS} "
            'characters: one or more topics and one jurisdiction, e.g. "stablecoin Kazakhstan".',
            [_examples(), _topic_list()],
        )

    index = _index()
    echo = _echo(stripped)
    prepared = _prepare(stripped)
    tokens = [
        _Token(m.group(0), _fold(m.group(0)), _stem(_fold(m.group(0))), m.start(), m.end())
        for m in _TOKEN.finditer(prepared)
    ]
    if not tokens:
        raise ScopeError(
            'Tell me a topic and a jurisdiction, e.g. "stablecoin Kazakhstan" or "custody AIFC".',
            [_examples(), _topic_list()],
        )

    matches = _scan(index, tokens)

    # Capitalised English-word codes ("IN", "US") count only when nothing else is a place.
    strong = [m for m in matches if m.kind == "place"]
    weak = [m for m in matches if m.kind == "weak_place"]
    # In a comparison ("exchange UK, US and SG") a capitalised code is a place beside the others.
    listing = many and bool(_LISTING.search(stripped))
    if strong and not listing:
        for m in weak:
            m.kind, m.topic = m.fallback, m.fallback_topic
    else:
        for m in weak:
            m.kind = "place"
    places = [m.place for m in matches if m.kind == "place" and m.place is not None]

    runs = _unknown_runs(matches)
    unknown_words = [_echo(prepared[tokens[a].start : tokens[b - 1].end]) for a, b in runs]

    if not places:
        if unknown_words:
            message = (
                f'I could not find a jurisdiction in "{echo}": I did not understand '
                f"{_quote_words(unknown_words)}. Name one country or regime by its English name or "
                "ISO code, for example Kazakhstan, KZ, KAZ, AIFC, UAE or EU."
            )
        else:
            message = (
                f'I could not find a jurisdiction in "{echo}". Name one country or regime by '
                "its English name or ISO code, for example Kazakhstan, KZ, KAZ, AIFC, UAE or EU."
            )
        suggestions = _corrections(index, prepared, tokens, runs)
        suggestions += [_examples(), _topic_list()]
        raise ScopeError(message, suggestions)

    if unknown_words:
        message = (
            f'I did not understand {_quote_words(unknown_words)} in "{echo}". A query is one or '
            "more topics and one jurisdiction, with ordinary words such as \"in\", \"for\" or "
            '"requirements" around them, e.g. "stablecoin custody Kazakhstan".'
        )
        suggestions = _corrections(index, prepared, tokens, runs)
        suggestions.append(_topic_list())
        raise ScopeError(message, suggestions)

    topic_words = " ".join(_text(prepared, tokens, m) for m in matches if m.kind == "topic")
    topics, notes = _topics(index, prepared, tokens, matches)
    if many:
        keys = list(dict.fromkeys((p.code, p.hint) for p in places))
        # "Abu Dhabi ADGM": the country is named with one of its regimes; the regime is meant.
        keys = [(c, h) for c, h in keys if h is not None or not any(c2 == c and h2 for c2, h2 in keys)]
        if len(keys) > 1:
            return [Scope(query=stripped, topics=topics or ("regulatory_status",), jurisdiction=c,
                          jurisdiction_name=index.display[c], regime_hint=h, notes=notes) for c, h in keys]
    codes = list(dict.fromkeys(p.code for p in places))
    if len(codes) > 1:
        names = [index.display[c] for c in codes]
        raise ScopeError(
            f"Your query is ambiguous: found {_join_names(names)}; run one jurisdiction at a time.",
            [f'"{(topic_words + " " + name).strip()}"' for name in names],
        )

    code = codes[0]
    strong_hints = list(dict.fromkeys(p.hint for p in places if p.hint and p.strong_hint))
    weak_hints = [p.hint for p in places if p.hint and not p.strong_hint]
    if len(strong_hints) > 1:
        raise ScopeError(
            f"Your query is ambiguous: found {_join_names(strong_hints)} "
            f"({'both' if len(strong_hints) == 2 else 'all'} in "
            f"{index.display[code]}); run one regime at a time.",
            [f'"{(topic_words + " " + hint).strip()}"' for hint in strong_hints],
        )
    hint = strong_hints[0] if strong_hints else (weak_hints[0] if weak_hints else None)

    return [Scope(
        query=stripped,
        topics=topics or ("regulatory_status",),
        jurisdiction=code,
        jurisdiction_name=index.display[code],
        regime_hint=hint,
        notes=notes,
    )]


def _topics(index: _Index, prepared: str, tokens: list[_Token], matches: list[_Match]) -> tuple[tuple[Topic, ...], tuple[str, ...]]:
    """The topics named, in order, and a note for each subject read as its nearest topics."""
    found: list[Topic] = []
    notes: list[str] = []
    for m in matches:
        if m.kind != "topic" or m.topic is None:
            continue
        label = index.nearest.get(tuple(t.stem for t in tokens[m.first : m.last]))
        if label is None:
            found.append(m.topic)
            continue
        near = NEAREST_TOPICS[label][0]
        found += near
        note = (f'"{_text(prepared, tokens, m)}" has no topic of its own ({label}); it was read as the nearest: '
                f"{', '.join(t.replace('_', ' ') for t in near)}.")
        notes.append(note)
    return tuple(dict.fromkeys(found)), tuple(dict.fromkeys(notes))


def places_in(text: str) -> list[tuple[str, str | None]]:
    """Jurisdictions named anywhere in free text, e.g. a chat question: (alpha-2 code or "EU", regime hint)."""
    index = _index()
    prepared = _prepare((text or "")[:2000])
    tokens = [
        _Token(m.group(0), _fold(m.group(0)), _stem(_fold(m.group(0))), m.start(), m.end())
        for m in _TOKEN.finditer(prepared)
    ]
    places = [m.place for m in _scan(index, tokens) if m.kind == "place" and m.place is not None]
    return list(dict.fromkeys((p.code, p.hint) for p in places))
