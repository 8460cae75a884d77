"""Authority tier of a source, judged from its URL's domain (and a path where one domain hosts many bodies).

The tables below are data, not logic: add a domain to the right table and every caller picks it up.
A host matches a table entry when it *is* that domain or a subdomain of it; the most specific entry
wins, so ``eur-lex.europa.eu`` (law) beats ``europa.eu`` (official). Only the end of the host counts,
so lookalikes such as ``afsa.aifc.kz.evil.com`` fall through to "secondary".
"""

from __future__ import annotations

from urllib.parse import urlsplit

from agent.models import Tier

# Official databases of enacted legislation.
LAW: frozenset[str] = frozenset(
    {
        "adilet.zan.kz",  # Kazakhstan, Ministry of Justice
        "legislation.gov.uk",
        "eur-lex.europa.eu",
        "ecfr.gov",
        "federalregister.gov",
        "govinfo.gov",
        "uscode.house.gov",
        "gesetze-im-internet.de",
        "legifrance.gouv.fr",
        "sso.agc.gov.sg",  # Singapore Statutes Online
        "elegislation.gov.hk",
        "uaelegislation.gov.ae",
        "legislation.gov.au",
        "laws-lois.justice.gc.ca",
        "fedlex.admin.ch",
        "boe.es",
        "normattiva.it",
        "wetten.overheid.nl",
        "elaws.e-gov.go.jp",
    }
)

# Financial regulators and supervisors (incl. self-regulatory bodies with rule-making power).
REGULATOR: frozenset[str] = frozenset(
    {
        # Kazakhstan and the AIFC
        "afsa.aifc.kz",
        "aifc.kz",
        "myafsa.com",
        "nationalbank.kz",
        "finreg.kz",  # Agency for Regulation and Development of the Financial Market (ARDFM)
        # United Kingdom
        "fca.org.uk",
        "bankofengland.co.uk",  # PRA
        # United States
        "sec.gov",
        "cftc.gov",
        "finra.org",
        "fincen.gov",
        "occ.gov",
        "occ.treas.gov",
        "federalreserve.gov",
        "fdic.gov",
        "consumerfinance.gov",
        "dfs.ny.gov",
        # European Union and member states
        "esma.europa.eu",
        "eba.europa.eu",
        "eiopa.europa.eu",
        "bankingsupervision.europa.eu",
        "ecb.europa.eu",
        "bafin.de",
        "amf-france.org",
        "consob.it",
        "cnmv.es",
        "afm.nl",
        "dnb.nl",
        "cssf.lu",
        "centralbank.ie",
        # Elsewhere
        "finma.ch",
        "mas.gov.sg",
        "sfc.hk",
        "hkma.gov.hk",
        "vara.ae",
        "dfsa.ae",
        "fsra.ae",
        "adgm.com",  # FSRA publishes under adgm.com
        "centralbank.ae",
        "sca.gov.ae",
        "fsa.go.jp",
        "asic.gov.au",
        "austrac.gov.au",
        "osc.ca",
        "fintrac-canafe.canada.ca",
        "fsc.go.kr",
        "fss.or.kr",
    }
)

# Other government and intergovernmental bodies. Entries such as "gov" or "gov.kz" act as
# suffixes: every *.gov host is official unless a more specific entry says otherwise.
OFFICIAL: frozenset[str] = frozenset(
    {
        "gov",
        "mil",
        "gov.kz",
        "egov.kz",
        "akorda.kz",
        "primeminister.kz",
        "parlam.kz",
        "gov.uk",
        "parliament.uk",
        "europa.eu",
        "gouv.fr",
        "bund.de",
        "admin.ch",
        "gov.sg",
        "gov.hk",
        "gov.ae",
        "go.jp",
        "gov.au",
        "gc.ca",
        "canada.ca",
        "congress.gov",
        "fatf-gafi.org",
        "fsb.org",
        "iosco.org",
        "bis.org",
        "imf.org",
        "worldbank.org",
        "oecd.org",
        "un.org",
        "unodc.org",
        "egmontgroup.org",
        "coe.int",
        "ebrd.com",
        "adb.org",
    }
)

NEWS: frozenset[str] = frozenset(
    {
        "reuters.com",
        "bloomberg.com",
        "ft.com",
        "wsj.com",
        "cnbc.com",
        "bbc.com",
        "bbc.co.uk",
        "nytimes.com",
        "economist.com",
        "coindesk.com",
        "cointelegraph.com",
        "theblock.co",
        "decrypt.co",
        "dlnews.com",
        "kursiv.media",
        "kapital.kz",
        "inform.kz",  # state news agency: news, not an official source
        "tengrinews.kz",
        "forbes.kz",
        "astanatimes.com",
        "caspiannews.com",
    }
)

# Listed explicitly so that nobody "fixes" them upward: commercial legal databases and annotated
# mirrors are useful but are not the official text.
SECONDARY: frozenset[str] = frozenset({"zakon.kz", "law.cornell.edu", "lexology.com"})

# One domain hosting many bodies: (domain, path prefix) -> tier. The prefix matches whole path
# segments, so "/memleket/entities/afm" does not match "/memleket/entities/afmx".
PATH_RULES: dict[str, tuple[tuple[str, Tier], ...]] = {
    "gov.kz": (
        ("/memleket/entities/afm", "regulator"),  # Financial Monitoring Agency (AML/CFT)
        ("/memleket/entities/ardfm", "regulator"),  # ARDFM
        ("/memleket/entities/nationalbank", "regulator"),
        ("/memleket/entities/mdai", "regulator"),  # licenses digital mining
    ),
}


def _build_table() -> dict[str, Tier]:
    table: dict[str, Tier] = {}
    for tier, domains in (
        ("official", OFFICIAL),
        ("news", NEWS),
        ("secondary", SECONDARY),
        ("regulator", REGULATOR),
        ("law", LAW),
    ):
        for domain in domains:
            table[domain] = tier  # type: ignore[assignment]
    return table


_TABLE: dict[str, Tier] = _build_table()


def _host(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except (ValueError, AttributeError):
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return host.rstrip(".").lower() or None


def _path_tier(domain: str, path: str) -> Tier | None:
    for prefix, tier in PATH_RULES.get(domain, ()):
        if path == prefix or path.startswith(prefix + "/"):
            return tier
    return None


def tier_for(url: str) -> Tier:
    """The authority tier of ``url``; unknown or malformed URLs are "secondary"."""
    host = _host(url)
    if host is None:
        return "secondary"
    path = urlsplit(url.strip()).path.lower().rstrip("/") or "/"
    labels = host.split(".")
    # Most specific first: a.b.example.kz, b.example.kz, example.kz, kz.
    for i in range(len(labels)):
        candidate = ".".join(labels[i:])
        path_tier = _path_tier(candidate, path)
        if path_tier is not None:
            return path_tier
        if candidate in _TABLE:
            return _TABLE[candidate]
    return "secondary"
