"""What each compliance domain means for a policy: category, owners, procedures, monitoring.

These are drafting conventions, not statements of law: legal content always comes from the
cited requirements.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DomainProfile:
    label: str
    category: str  # used in file names: <category>_GAP-NNN.md
    policy_title: str
    owner: str
    roles: tuple[tuple[str, str], ...]
    monitoring: tuple[str, ...]
    records: tuple[str, ...]
    impact: str


_BOARD = ("Board of Directors", "Approves this policy and its material changes; receives the annual compliance report.")
_CO = ("Compliance Officer", "Maintains this policy, monitors adherence, reports breaches to senior management and, where required, to the regulator.")
_IA = ("Internal Audit (or outsourced equivalent)", "Tests the design and operation of the controls in this policy at least annually.")

PROFILES: dict[str, DomainProfile] = {
    "licensing_and_authorization": DomainProfile(
        "Licensing and authorisation", "Licensing", "Regulatory Licensing and Authorisation Policy",
        "Compliance Officer",
        (_BOARD, ("Chief Executive Officer", "Ensures no regulated activity starts or changes before the required authorisation is held."), _CO,
         ("Legal Counsel", "Maintains the regulatory perimeter analysis and the licence conditions register.")),
        ("Quarterly review of the activity-to-licence map against products actually offered.",
         "Tracking of every licence condition, renewal date and regulatory fee in the licence register.",
         "Pre-launch compliance sign-off for every new product, market or service."),
        ("Licence applications, approvals and correspondence with the regulator.",
         "Perimeter analysis and licence conditions register, with change history."),
        "Carrying on a regulated activity without the required authorisation exposes the company to enforcement, fines, orders to cease the activity and personal liability of management.",
    ),
    "reserve_requirements": DomainProfile(
        "Reserve management", "Reserves", "Stablecoin Reserve Management Policy", "Chief Financial Officer",
        (_BOARD, ("Chief Financial Officer", "Owns the reserve: composition, custody, daily reconciliation to tokens in circulation."),
         ("Treasury", "Executes reserve investments within the approved asset list and concentration limits."), _CO,
         ("Independent auditor / assurance provider", "Attests to the reserve at the frequency set in this policy.")),
        ("Daily reconciliation of reserve assets to tokens in circulation; any shortfall escalated the same day.",
         "Monthly review of reserve composition against the approved asset list and limits.",
         "Publication of independent attestation reports at the set frequency."),
        ("Daily reserve reconciliations and their sign-off.", "Custody statements for reserve assets.",
         "Attestation and audit reports, and redemption requests with their settlement times."),
        "Reserves that are not fully backed, segregated and independently verified expose holders to loss, invite a run on redemptions and expose the issuer to enforcement.",
    ),
    "aml_ctf_compliance": DomainProfile(
        "AML/CTF", "AML_CTF", "Anti-Money Laundering and Counter-Terrorist Financing Policy",
        "Money Laundering Reporting Officer (MLRO)",
        (_BOARD, ("MLRO", "Owns the AML/CTF programme, decides on and files suspicious transaction reports, reports to the Board at least annually."),
         ("First-line operations", "Perform customer due diligence and escalate unusual activity to the MLRO."), _IA),
        ("Monthly MI on alerts raised, closed and escalated; overdue reviews.",
         "Annual business-wide risk assessment refresh and independent AML audit.",
         "Quality-assurance sampling of customer files and alert decisions."),
        ("Customer identification and due diligence records.", "Transaction records and monitoring alerts with their disposition.",
         "Reports filed with the financial intelligence unit and their acknowledgements.", "Training records."),
        "Weak AML/CTF controls expose the company to criminal misuse, regulatory sanctions, loss of banking relationships and personal liability of the MLRO and management.",
    ),
    "consumer_protection": DomainProfile(
        "Consumer protection", "Consumer_Protection", "Client Protection, Disclosure and Complaints Policy", "Head of Client Services",
        (_BOARD, ("Head of Client Services", "Owns client communications, disclosures and complaint handling."), _CO,
         ("Product Owner", "Ensures each product's disclosures and limits are implemented before launch.")),
        ("Monthly complaint statistics, root-cause analysis and time-to-resolution.",
         "Review of every client-facing disclosure before publication and at least annually.",
         "Testing that retail limits and appropriateness checks are enforced by the platform."),
        ("Disclosures and risk warnings as published, with version dates.", "Complaint files and outcomes.", "Client classification and appropriateness records."),
        "Missing disclosures, retail safeguards or complaint handling expose clients to unsuitable risk and the company to enforcement, redress orders and reputational harm.",
    ),
    "cybersecurity": DomainProfile(
        "Cybersecurity and operational resilience", "Cybersecurity", "Information Security and Operational Resilience Policy", "Chief Information Security Officer",
        (_BOARD, ("Chief Information Security Officer", "Owns the security programme, key management standards and incident response."),
         ("IT Operations", "Operates access control, patching, backups and monitoring."), _CO),
        ("Quarterly access reviews and key-ceremony audits.", "Annual penetration test and disaster-recovery test.",
         "Incident log review and notification deadlines tracking."),
        ("Incident register and notifications made.", "Key generation, rotation and access logs.", "Penetration-test and DR-test reports."),
        "Security failures can cause irreversible loss of client assets, regulatory action and loss of licence.",
    ),
    "reporting_transparency": DomainProfile(
        "Regulatory reporting and transparency", "Regulatory_Reporting", "Regulatory Reporting and Public Disclosure Policy", "Compliance Officer",
        (_BOARD, _CO, ("Finance", "Prepares prudential and financial returns and their reconciliations."),
         ("Data owners", "Certify the data they supply for each return.")),
        ("Regulatory reporting calendar with owners, deadlines and four-eyes sign-off.",
         "Reconciliation of each return to the books before submission.",
         "Post-submission review of late or corrected filings."),
        ("Every return submitted, with its sign-off and acknowledgement.", "Public disclosures as published."),
        "Late, missing or inaccurate reports to the regulator are breaches in their own right and undermine the regulator's trust in the firm.",
    ),
    "cross_border_compliance": DomainProfile(
        "Cross-border compliance", "Cross_Border", "Cross-Border Activity and Sanctions Policy", "Compliance Officer",
        (_BOARD, _CO, ("Legal Counsel", "Assesses the regulatory perimeter of each market before clients from it are accepted.")),
        ("Review of the permitted/restricted jurisdiction list at least quarterly.", "Monitoring of client residency and IP/geolocation controls."),
        ("Jurisdiction assessments and decisions.", "Geo-blocking and residency control evidence."),
        "Serving clients in jurisdictions where the company is not permitted exposes it to foreign enforcement and sanctions breaches.",
    ),
    "custody_and_client_assets": DomainProfile(
        "Custody and client assets", "Custody", "Client Asset Custody and Safeguarding Policy", "Head of Custody Operations",
        (_BOARD, ("Head of Custody Operations", "Owns wallet architecture, reconciliations and client asset records."),
         ("Key custodians", "Hold key shares under dual control; never a single person able to move client assets."), _CO, _IA),
        ("Daily reconciliation of on-chain balances to the client ledger; breaks escalated the same day.",
         "Quarterly review of hot/cold allocation limits.", "Annual independent client-asset audit."),
        ("Client asset ledger and daily reconciliations.", "Wallet inventory, key ceremonies and access logs."),
        "Client assets that are not segregated, reconciled and securely held may be lost or become available to the company's creditors on insolvency.",
    ),
    "governance_and_fit_proper": DomainProfile(
        "Governance and fit-and-proper", "Governance", "Corporate Governance and Fit-and-Proper Policy", "Company Secretary",
        (_BOARD, ("Nomination function", "Assesses fitness and propriety of directors and key persons before appointment and annually."), _CO),
        ("Annual fitness and propriety attestation of approved persons.", "Board effectiveness review."),
        ("Fit-and-proper assessments and supporting checks.", "Board and committee minutes."),
        "Unfit management or weak governance is a ground for refusing or withdrawing authorisation.",
    ),
    "market_conduct": DomainProfile(
        "Market conduct", "Market_Conduct", "Market Integrity and Conflicts of Interest Policy", "Compliance Officer",
        (_BOARD, _CO, ("Trade surveillance", "Reviews alerts for manipulation, insider dealing and wash trading.")),
        ("Daily trade-surveillance alert review.", "Annual conflicts-of-interest register review."),
        ("Surveillance alerts and investigations.", "Conflicts register and personal-account dealing records."),
        "Market abuse on the platform or unmanaged conflicts harm clients and expose the company to enforcement.",
    ),
    "data_protection": DomainProfile(
        "Data protection", "Data_Protection", "Personal Data Protection Policy", "Data Protection Officer",
        (_BOARD, ("Data Protection Officer", "Owns the processing register, data-subject requests and breach handling."), _CO),
        ("Annual review of the processing register and retention schedule.", "Tracking of data-subject requests and breach notifications."),
        ("Processing register and consents.", "Data breach log and notifications."),
        "Unlawful processing or data breaches expose the company to fines, claims and reputational harm.",
    ),
    "tax": DomainProfile(
        "Tax", "Tax", "Tax Compliance Policy", "Chief Financial Officer",
        (_BOARD, ("Chief Financial Officer", "Owns tax registration, filings and tax risk."), ("External tax adviser", "Reviews positions on digital-asset transactions.")),
        ("Tax filing calendar with owners and deadlines.", "Annual review of tax positions on digital-asset income."),
        ("Tax returns and supporting workpapers.",),
        "Incorrect tax treatment of digital-asset activity leads to assessments, penalties and interest.",
    ),
}
