"""Authority tiers: the label a reader sees next to every source."""

from __future__ import annotations

import pytest

from tools.authority import tier_for

CASES = [
    # legislation databases
    ("https://adilet.zan.kz/rus/docs/Z2300000193", "law"),
    ("https://www.legislation.gov.uk/ukpga/2023/29/contents", "law"),
    ("https://eur-lex.europa.eu/eli/reg/2023/1114/oj", "law"),
    ("https://www.ecfr.gov/current/title-17", "law"),
    ("https://www.federalregister.gov/documents/2024/01/01/x", "law"),
    ("https://www.gesetze-im-internet.de/kwg/", "law"),
    ("https://www.legifrance.gouv.fr/codes/", "law"),
    # regulators, incl. subdomains
    ("https://afsa.aifc.kz/rules", "regulator"),
    ("https://www.afsa.aifc.kz/rules", "regulator"),
    ("https://aifc.kz/legal-framework", "regulator"),
    ("https://nationalbank.kz/en/news", "regulator"),
    ("https://www.finreg.kz/?switch=english", "regulator"),
    ("https://www.fca.org.uk/firms/cryptoassets", "regulator"),
    ("https://www.sec.gov/rules", "regulator"),
    ("https://www.esma.europa.eu/esmas-activities/digital-finance-and-innovation/markets-crypto-assets-regulation-mica", "regulator"),
    ("https://www.mas.gov.sg/regulation", "regulator"),
    ("https://www.vara.ae/en/rulebooks/", "regulator"),
    ("https://www.bafin.de/EN/", "regulator"),
    # one domain, many bodies: the path decides
    ("https://www.gov.kz/memleket/entities/afm/press/news", "regulator"),
    ("https://www.gov.kz/memleket/entities/ardfm?lang=en", "regulator"),
    ("https://www.gov.kz/memleket/entities/afmx/about", "official"),
    ("https://www.gov.kz/memleket/entities/kgd", "official"),
    # other government and intergovernmental bodies
    ("https://www.gov.uk/government/publications/x", "official"),
    ("https://stat.gov.kz/en/", "official"),
    ("https://www.treasury.gov/x", "official"),
    ("https://europa.eu/youreurope", "official"),
    ("https://www.fatf-gafi.org/en/publications.html", "official"),
    ("https://www.bis.org/bcbs/publ/d545.htm", "official"),
    ("https://www.imf.org/en/Publications", "official"),
    # news
    ("https://www.reuters.com/technology/", "news"),
    ("https://www.coindesk.com/policy/", "news"),
    ("https://kz.kursiv.media/en/", "news"),
    ("https://www.inform.kz/en/", "news"),
    ("https://astanatimes.com/2024/01/x/", "news"),
    # everything else, incl. commercial legal databases
    ("https://online.zakon.kz/Document/?doc_id=1", "secondary"),
    ("https://www.law.cornell.edu/uscode/text/15", "secondary"),
    ("https://www.binance.com/en/blog", "secondary"),
    ("https://some-law-firm.com/insights/kazakhstan-crypto", "secondary"),
    # lookalikes must not inherit authority
    ("https://afsa.aifc.kz.evil.com/rules", "secondary"),
    ("https://fatf-gafi.org.example.net/report", "secondary"),
    ("https://sec.gov.attacker.io/", "secondary"),
    ("https://notsec.gov-filings.com/", "secondary"),
    ("https://fakeaifc.kz/", "secondary"),
    # malformed or non-web
    ("not a url", "secondary"),
    ("", "secondary"),
    ("ftp://adilet.zan.kz/file", "secondary"),
    ("https://[::1", "secondary"),
]


@pytest.mark.parametrize(("url", "tier"), CASES)
def test_tier_for(url: str, tier: str) -> None:
    assert tier_for(url) == tier


def test_host_case_and_trailing_dot_do_not_change_the_tier() -> None:
    assert tier_for("HTTPS://WWW.FCA.ORG.UK./news") == "regulator"
