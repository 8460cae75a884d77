"""Generated policy folders of several kinds of firm, for the profile and applicability tests.

Each folder mixes ordinary policy prose with the statements a profile is inferred from, worded in one
of several ways (picked by a seed), and records where each statement landed (file, line) so a test can
check the evidence the run quotes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

NAMES = ("Kestrel Vault Ltd", "Orda Markets LLP", "Tumar Digital Custody JSC", "Saryk Exchange Ltd", "Baiterek Coin Ltd")

PHRASES: dict[str, tuple[str, ...]] = {
    "aifc": (
        "{name} is a private company incorporated in the Astana International Financial Centre.",
        "{name} (\"the Company\") is an Authorised Firm regulated by the AFSA.",
        "The Company is registered in the AIFC and supervised by the Astana Financial Services Authority.",
    ),
    "national": (
        "{name} is licensed by the National Bank of Kazakhstan as a digital asset trading platform operator.",
        "The Company holds a licence issued by the National Bank to operate outside the AIFC.",
    ),
    "custodian": (
        "The Company provides custody of digital assets for institutional clients.",
        "We hold client digital assets in segregated cold wallets on behalf of our clients.",
        "The Company safeguards client assets in wallets it controls.",
    ),
    "exchange": (
        "The Company operates a digital asset trading facility for its members.",
        "We operate a digital asset exchange on which clients trade stablecoins and other digital assets.",
    ),
    "not_issuer": (
        "The Company does not issue stablecoins or any other digital asset.",
        "We do not issue our own tokens; the stablecoins traded on the platform are issued by third parties.",
        "The Company is not an issuer of stablecoins.",
    ),
    "issuer": (
        "The Company issues a fiat-referenced stablecoin backed by US dollar deposits.",
        "We issue two stablecoins referenced to the tenge and the US dollar.",
    ),
    "no_third_party": (
        "The Company does not use third-party custodians.",
        "We do not use third-party custodians: every client asset stays in wallets we control.",
        "No third-party custodian is used for client assets.",
    ),
    "no_retail": (
        "Our services are not offered to retail clients.",
        "The Company does not accept retail clients.",
        "Services are offered exclusively to professional clients.",
    ),
}

FILLER: dict[str, tuple[str, ...]] = {
    "AML_Policy.md": (
        "We identify and verify every customer and beneficial owner before establishing a business relationship.",
        "The MLRO files suspicious transaction reports with the Agency for Financial Monitoring.",
        "Customers and transfers are screened against sanctions lists before any transfer is made.",
        "Records of customer due diligence are retained for at least six years.",
    ),
    "Security_Policy.md": (
        "Access to production systems requires multi-factor authentication.",
        "The incident response plan is tested twice a year.",
        "Backups are encrypted and restored in a test every quarter.",
    ),
    "Operations_Manual.md": (
        "Client statements are issued monthly.",
        "The operations team reconciles balances every business day.",
        "Complaints are acknowledged within five business days.",
    ),
}


@dataclass
class Folder:
    path: Path
    name: str
    where: dict[str, tuple[str, int, str]] = field(default_factory=dict)  # statement -> (file, line, text)


def firm_folder(root: Path, statements: list[str], seed: int = 0, name: str | None = None) -> Folder:
    """A policy folder whose prose carries the given statements (keys of PHRASES), among filler text."""
    rng = random.Random(seed)
    name = name or NAMES[seed % len(NAMES)]
    root.mkdir(parents=True, exist_ok=True)
    folder = Folder(root, name)
    files = {f: [f"# {f[:-3].replace('_', ' ')}", "", f"**{name}**", ""] for f in FILLER}
    order = list(files)
    for f, lines in FILLER.items():
        for text in rng.sample(lines, len(lines)):
            files[f] += [text, ""]
    for key in statements:
        f = order[rng.randrange(len(order))]
        text = rng.choice(PHRASES[key]).format(name=name)
        # insert at a random paragraph boundary after the title block
        slots = [i for i in range(4, len(files[f]) + 1) if i == len(files[f]) or files[f][i - 1] == ""]
        at = rng.choice(slots)
        files[f][at:at] = [text, ""]
        folder.where[key] = (f, 0, text)
    for f, lines in files.items():
        (root / f).write_text("\n".join(lines) + "\n", encoding="utf-8")
        for key, (wf, _, text) in folder.where.items():
            if wf == f:
                folder.where[key] = (f, lines.index(text) + 1, text)
    return folder
