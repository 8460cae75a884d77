"""Shared vocabulary for coverage patterns.

Pack patterns are regular expressions matched case-insensitively against one sentence of a
policy. ``{name}`` inside a pattern expands to the alternation below, so that paraphrases are
kept in one place instead of being repeated in every requirement.
"""

from __future__ import annotations

import re
from functools import lru_cache

MACROS: dict[str, str] = {
    # who regulates
    "regulator": (
        r"(?:afsa|astana financial services authority|national bank|\bnbk\b|ardfm|"
        r"agency (?:of the republic of kazakhstan )?for (?:the )?regulation and development|"
        r"financial (?:services|conduct|supervisory|market) authority|regulators?\b|supervisors?\b|"
        r"supervisory authorit|competent authorit|regulatory authorit|financial regulator|"
        r"aifc authority|ministry of digital|central bank|\bfiu\b|financial intelligence unit|"
        r"financial monitoring agency|\bafm\b|\bfma\b|(?:relevant|appropriate|competent) (?:law enforcement |regulatory )?authorit(?:y|ies)|"
        r"law enforcement authorit(?:y|ies))"
    ),
    "fiu": (
        r"(?:financial monitoring agency|agency for financial monitoring|\bafm\b|\bfma\b|\bfiu\b|"
        r"financial intelligence unit|authorised body for financial monitoring|"
        r"authorized body for financial monitoring)"
    ),
    # licensing vocabulary; "software licence" style uses are excluded by {not_reg_licence}
    "licence": r"(?:licen[cs](?:e|es|ed|ing)\b|authori[sz](?:ation|ed|e)\b|permission|registration|registered with|permit\b)",
    "not_reg_licence": (
        r"(?:software licen|licen[cs]e key|open[- ]source licen|driver'?s licen|licen[cs]e agreement|"
        r"end[- ]user licen|\beula\b|font licen|seat licen|subscription licen|music licen|"
        r"trademark licen|licensing of (?:software|content|images)|licensed (?:software|fonts?|images?|tools?))"
    ),
    "virtual_asset": (
        r"(?:digital assets?|virtual assets?|crypto(?:currenc(?:y|ies)|[- ]assets?)?|tokens?\b|"
        r"stablecoins?|\bvasps?\b|coins?\b|digital financial assets?|\bdfas?\b)"
    ),
    "stablecoin": r"(?:stablecoins?|stable coins?|fiat[- ]backed tokens?|fiat[- ]referenced tokens?|e-money tokens?|asset[- ]referenced tokens?|digital financial assets?|\bdfas?\b|payment tokens?)",
    "client_assets": (
        r"(?:client|customer|user|investor)s?'? (?:digital |virtual |crypto[- ]?)?(?:assets?|funds?|money|holdings?|coins?|tokens?|balances?)"
    ),
    "segregate": (
        r"(?:segregat\w*|ring[- ]?fenc\w*|kept separate|held separately|separately from|separate from|separate (?:wallets?|accounts?)|"
        r"never (?:be )?(?:commingled|co-mingled|mixed)|not (?:be )?(?:commingled|co-mingled)|"
        r"distinct from (?:our|the firm'?s|the company'?s) own|bankruptcy[- ]remote|held (?:on|in) trust|"
        r"omnibus client (?:wallet|account))"
    ),
    "reserve": r"(?:reserves?\b|reserve assets?|backing assets?|backed|collateral\w*|1\s*:\s*1|par value|fully[- ]backed)",
    "attest": (
        r"(?:attest\w*|independent(?:ly)? (?:audit\w*|assur\w*|verif\w*|review\w*)|external audit\w*|"
        r"(?:third[- ]party|independent) (?:accountant|auditor|assurance)|proof[- ]of[- ]reserves?|assurance report|audited)"
    ),
    "report_verb": r"(?:report\w*|notif\w*|fil(?:e|es|ed|ing)\b|submit\w*|disclos\w*|inform\w*|send\w*)",
    "suspicious": r"(?:suspicious|\bstrs?\b|\bsars?\b|unusual transactions?|threshold transactions?|reportable transactions?|transactions? subject to financial monitoring)",
    "kyc": (
        r"(?:know[- ]your[- ]customer|\bkyc\b|customer due diligence|\bcdd\b|client due diligence|identity verification|"
        r"verify (?:the )?(?:identity|identities)|identif(?:y|ication) (?:of )?(?:customers?|clients?)|onboarding checks?)"
    ),
    "edd": r"(?:enhanced due diligence|\bedd\b|politically exposed|\bpeps?\b|higher[- ]risk customers?|high[- ]risk (?:customers?|clients?|jurisdictions?))",
    "monitor": r"(?:monitor\w*|surveil\w*|screen\w*|alerts?\b|blockchain analytics|chain analysis|on-chain analysis)",
    "travel_rule": (
        r"(?:travel rule|originator (?:and|&) beneficiary|originator information|beneficiary information|"
        r"recommendation 16|\br\.?\s?16\b|transfer of funds regulation)"
    ),
    "sanctions": r"(?:sanction\w*|\bofac\b|\bun\b (?:security council )?lists?|designated persons?|asset freez\w*|freezing)",
    "keys": r"(?:private keys?|keys?\b|seed phrases?|mnemonic|key shares?|signing keys?|hsms?\b|hardware security modules?|multi[- ]?sig\w*|\bmpc\b|multi[- ]party computation)",
    "cold": r"(?:cold (?:storage|wallets?)|offline (?:storage|wallets?)|air[- ]gapped|hot (?:and|/) cold|hot wallets?)",
    "incident": r"(?:incidents?\b|breach\w*|compromise\w*|cyber[- ]?attacks?|security events?)",
    "retail": r"(?:retail (?:clients?|customers?|investors?)|non[- ]professional|consumers?)",
    "limit": r"(?:limits?\b|caps?\b|ceilings?|maximum|not exceed|no more than|up to)",
    "disclose": r"(?:disclos\w*|risk warnings?|warn\w*|key information|white ?paper|inform(?:s|ed)? (?:clients|customers|users)|plain language)",
    "complaint": r"(?:complaints?|grievances?|disputes?|ombudsman|redress)",
    "record": r"(?:records?\b|record[- ]keeping|retain\w*|retention|archiv\w*|kept for|stored for)",
    "years": r"(?:\d+|five|six|seven|ten) (?:\(\d+\) )?years?",
    "governance": r"(?:board of directors|board\b|senior management|directors?\b|governing body|management body|supervisory board|management board)",
    "fit_proper": r"(?:fit and proper|fitness and propriety|integrity|competence|competency|competencies|background checks?|good repute|reputation)",
    "compliance_officer": (
        r"(?:compliance officer|\bmlro\b|money laundering reporting officer|head of compliance|chief compliance officer|\bcco\b|"
        r"nominated officer|(?:aml|bsa|money laundering) (?:compliance )?officer)"
    ),
    "capital": r"(?:capital\b|own funds|financial resources|net assets|regulatory capital|capital adequacy)",
    "redeem": r"(?:redeem\w*|redemption\w*|buy[- ]?back|convert\w* (?:back )?(?:in)?to fiat|repay\w*)",
    "market_abuse": r"(?:market abuse|market manipulation|manipulat\w*|insider (?:dealing|trading|information)|wash trad\w*|front[- ]running|spoofing)",
    "conflict": r"(?:conflicts? of interest|conflicted|proprietary trading|own[- ]account trading)",
    "personal_data": r"(?:personal data|personal information|data subjects?|privacy)",
    "tax_terms": r"(?:tax\w*|\bcit\b|corporate income tax|withholding|tax authorit\w*|state revenue)",
    "mining": r"(?:mining|miners?|hash(?:ing)? power|data cent(?:er|re)s?|electricity)",
    "cross_border": r"(?:cross[- ]border|foreign|non[- ]resident|international transfers?|other jurisdictions?|overseas|outside (?:the )?(?:aifc|kazakhstan|country))",
    "risk_assessment": r"(?:risk assessment|risk[- ]based approach|business[- ]wide risk|risk scoring|risk rating|\bewra\b|\bbwra\b)",
    "training": r"(?:training|trained|awareness)",
    "review": r"(?:review\w*|updat\w*|revis\w*|assess\w*)",
    "periodic": r"(?:annual\w*|every (?:year|twelve months|12 months|quarter|month)|at least once a year|quarterly|monthly|periodic\w*|regular(?:ly)?)",
    # phrasings found in real published policies, each used by several elements
    'access_restricted': 'access (?:\\S+ ){0,4}(?:is|are) (?:only |tightly |strictly )?(?:granted|given|restricted|limited|controlled)\\b|\\bcredentials (?:are|is) (?:\\S+ ){0,3}revoked\\b|\\brevok\\w* (?:their |his |her |all )?(?:access|credentials)\\b',
    'authorities': '(?:relevant |appropriate |competent )?authorities\\b',
    'backup_resilience': '(?:backed up|back-?ups?)\\b(?:\\s+\\S+){0,8}\\s+(?:several|multiple|different|geographic\\w*|separate|redundant|secondary|off-?site)\\b|\\b(?:replicat\\w*|redundan\\w*)\\b(?:\\s+\\S+){0,5}\\s+(?:locations|sites|data cent(?:re|er)s|regions)\\b|\\b(?:daily|hourly|regular|real-time) (?:encrypted )?back-?ups?\\b|\\b(?:ddos|distributed denial[- ]of[- ]service) protection\\b',
    'on_behalf': "on (?:someone|somebody|another person)'?s? (?:else'?s? )?behalf\\b|\\bthe person on whose behalf\\b",
    'pep_refused': "(?:do not|don't|will not|won't|does not|never) (?:allow|accept|onboard|serve|work with|deal with)\\b(?:\\s+\\S+){0,3}\\s+(?:politically exposed|peps?\\b)",
    'security_safeguard': '(?:multi[- ]?factor authentication|two[- ]factor authentication|\\b(?:mfa|2fa)\\b|encrypt(?:ed|s|ion)\\b|firewalls?\\b|intrusion (?:detection|prevention)|penetration test\\w*|vulnerability (?:scan\\w*|management|assessments?)|anti[- ]?(?:virus|malware)\\b|endpoint (?:protection|detection)|security patch\\w*|(?:ddos|denial[- ]of[- ]service) (?:protection|mitigation)|secure (?:software )?development|least privilege|access (?:controls?|management)\\b)|\\baccess to (?:\\S+\\s+){0,4}(?:is|are) (?:strictly |tightly )?(?:controlled|restricted|limited|monitored)|\\b(?:technical|physical|organi[sz]ational)\\W+(?:\\S+\\W+){0,3}(?:security )?measures (?:designed |in place )?to (?:secure|protect|safeguard)',
}

_MACRO_RE = re.compile(r"\{([a-z_]+)\}")


def expand(pattern: str) -> str:
    """Replace ``{macro}`` with its alternation (anchored at a word start); unknown names raise KeyError."""
    return _MACRO_RE.sub(lambda m: r"\b" + MACROS[m.group(1)], pattern)


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(expand(pattern), re.IGNORECASE)
