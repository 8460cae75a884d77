"""Hand labels of bench/eval/corpus, written element by element (see bench/eval/README.md).

Run `python bench/eval/label_source.py` to regenerate labels.json. Each document lists its domain;
every element of the domain's requirements (and of the governance requirements) is labelled: the
line ranges that state it, or nothing when the document does not state it. Elements are written
as "REQUIREMENT-ID#index" (index into the requirement's elements in the pack).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

GOVERNANCE = ("KZ-AIFC-GOV-001", "INTL-FSB-GOV-001")
DOMAINS: dict[str, tuple[str, ...]] = {
    "aml": (
        "KZ-AIFC-AML-001", "KZ-AIFC-AML-002", "KZ-AIFC-AML-003", "KZ-AIFC-AML-004", "KZ-AIFC-AML-005",
        "KZ-AIFC-AML-006", "KZ-AIFC-AML-007", "KZ-AIFC-AML-008", "KZ-AIFC-AML-009", "KZ-AIFC-AML-010",
        "KZ-NAT-AML-001", "KZ-AIFC-XB-001", "KZ-AIFC-XB-002", "KZ-AIFC-DP-001",
        "INTL-FATF-RA-001", "INTL-FATF-CDD-001", "INTL-FATF-EDD-001", "INTL-FATF-MON-001",
        "INTL-FATF-STR-001", "INTL-FATF-TR-001", "INTL-FATF-TFS-001", "INTL-FATF-REC-001",
        "INTL-FATF-CO-001", "INTL-FATF-XB-001",
    ),
    "sanctions": ("KZ-AIFC-AML-007", "INTL-FATF-TFS-001", "KZ-AIFC-XB-002", "KZ-NAT-GOV-001"),
    "complaints": ("KZ-AIFC-CON-004", "INTL-IOSCO-RET-001"),
    "client_assets": (
        "KZ-AIFC-CUST-001", "KZ-AIFC-CUST-002", "KZ-AIFC-CUST-003", "INTL-IOSCO-CUST-001", "INTL-IOSCO-CUST-002",
    ),
    "information_security": (
        "KZ-AIFC-CYB-001", "KZ-AIFC-CYB-002", "KZ-AIFC-CYB-003", "KZ-AIFC-CYB-004", "INTL-IOSCO-OPS-001",
        "INTL-FSB-RM-001", "INTL-FSB-DATA-001", "KZ-NAT-DP-001",
    ),
    "whistleblowing": (),
    "conflicts_of_interest": ("KZ-AIFC-MKT-002", "INTL-IOSCO-COI-001", "KZ-AIFC-MKT-001"),
}
# Only these elements of a requirement are labelled in a domain (others of the same requirement
# belong to another domain): requirement id -> element indexes. Absent: every element.
ONLY: dict[tuple[str, str], tuple[int, ...]] = {
    ("complaints", "INTL-IOSCO-RET-001"): (2,),
    ("conflicts_of_interest", "KZ-AIFC-MKT-001"): (2,),
}

# file -> (domain, {element: [[first line, last line], ...]}); unlisted elements are not stated.
LABELS: dict[str, tuple[str, dict[str, list[list[int]]]]] = {
    # ------------------------------------------------------------------ AML / KYC
    "bcx_exchange_aml_policy.txt": ("aml", {
        "KZ-NAT-AML-001#0": [[4, 4]],
        "KZ-AIFC-AML-005#0": [[16, 16]], "KZ-AIFC-AML-005#2": [[16, 16]], "INTL-FATF-STR-001#0": [[16, 16]],
        "KZ-NAT-AML-001#1": [[16, 16]],
        "KZ-AIFC-AML-002#0": [[8, 8], [11, 11], [12, 12]], "INTL-FATF-CDD-001#0": [[8, 8], [11, 11], [12, 12]],
        "KZ-AIFC-AML-001#1": [[11, 11]],
        "KZ-AIFC-AML-002#2": [[14, 14]], "INTL-FATF-CDD-001#2": [[14, 14]],
        "KZ-AIFC-AML-004#0": [[14, 14]], "INTL-FATF-MON-001#0": [[14, 14]],
        "KZ-AIFC-AML-010#0": [[9, 9], [20, 20]], "INTL-FATF-CO-001#1": [[9, 9], [20, 20]],
        "KZ-AIFC-AML-010#1": [[20, 20]],
        "INTL-FATF-REC-001#0": [[18, 18]],
        "KZ-AIFC-AML-009#0": [[22, 22]], "INTL-FATF-CO-001#0": [[22, 22]],
    }),
    "bitcoinbankamerica_aml_policy.txt": ("aml", {
        "KZ-NAT-AML-001#0": [[1, 1]],
        "KZ-AIFC-AML-009#0": [[2, 2]], "KZ-AIFC-AML-009#3": [[2, 2]], "INTL-FATF-CO-001#0": [[2, 2]],
        "KZ-AIFC-AML-001#0": [[2, 2], [3, 3]], "INTL-FATF-RA-001#0": [[2, 2], [3, 3]], "INTL-FATF-RA-001#1": [[2, 2], [3, 3]],
        "KZ-AIFC-AML-002#0": [[2, 2], [6, 6]], "INTL-FATF-CDD-001#0": [[2, 2], [6, 6]],
        "KZ-AIFC-AML-003#0": [[2, 2]], "KZ-AIFC-AML-003#1": [[2, 2]],
        "INTL-FATF-EDD-001#0": [[2, 2]], "INTL-FATF-EDD-001#1": [[2, 2]],
        "KZ-AIFC-AML-004#0": [[2, 2]], "INTL-FATF-MON-001#0": [[2, 2]],
        "KZ-AIFC-AML-002#2": [[2, 2]], "INTL-FATF-CDD-001#2": [[2, 2]],
        "KZ-AIFC-AML-005#0": [[2, 2]], "KZ-AIFC-AML-005#1": [[2, 2]], "INTL-FATF-STR-001#0": [[2, 2]],
        "KZ-NAT-AML-001#1": [[2, 2]],
        "KZ-AIFC-AML-010#0": [[2, 2]], "INTL-FATF-CO-001#1": [[2, 2]],
        "KZ-AIFC-AML-007#0": [[5, 5]], "INTL-FATF-TFS-001#0": [[5, 5]], "KZ-AIFC-XB-002#0": [[5, 5]],
    }),
    "bitcoinp2p_aml_policy.md": ("aml", {
        "KZ-NAT-AML-001#0": [[1, 1], [5, 5]], "INTL-FATF-RA-001#1": [[1, 1]],
        "KZ-AIFC-AML-002#0": [[9, 9]], "INTL-FATF-CDD-001#0": [[9, 9]],
        "KZ-AIFC-AML-003#1": [[9, 9]], "INTL-FATF-EDD-001#1": [[9, 9]],
        "KZ-AIFC-AML-004#0": [[10, 10]], "INTL-FATF-MON-001#0": [[10, 10]],
        "KZ-AIFC-AML-007#0": [[10, 10]], "INTL-FATF-TFS-001#0": [[10, 10]],
        "KZ-AIFC-AML-001#1": [[11, 11]],
        "INTL-FATF-MON-001#1": [[1, 1], [12, 12]], "KZ-AIFC-AML-004#2": [[1, 1], [12, 12]],
        "KZ-AIFC-AML-005#0": [[17, 17]], "INTL-FATF-STR-001#0": [[17, 17]], "KZ-NAT-AML-001#1": [[17, 17]],
    }),
    "bitswap_aml_compliance_policy.txt": ("aml", {
        "KZ-NAT-AML-001#0": [[2, 2], [6, 6]],
        "KZ-AIFC-AML-002#0": [[4, 4], [18, 18]], "INTL-FATF-CDD-001#0": [[4, 4], [18, 18]],
        "KZ-AIFC-AML-002#1": [[4, 4]], "INTL-FATF-CDD-001#1": [[4, 4]],
        "KZ-AIFC-AML-003#2": [[4, 4]],
        "KZ-AIFC-AML-004#0": [[5, 5]], "INTL-FATF-MON-001#0": [[5, 5]],
    }),
    "dorpay_aml_policy.txt": ("aml", {
        "KZ-NAT-AML-001#0": [[5, 5], [14, 14]],
        "KZ-AIFC-AML-002#0": [[8, 8]], "INTL-FATF-CDD-001#0": [[8, 8]],
        "KZ-AIFC-AML-004#0": [[10, 10]], "INTL-FATF-MON-001#0": [[10, 10]],
        "KZ-AIFC-AML-005#0": [[10, 10]], "INTL-FATF-STR-001#0": [[10, 10]], "KZ-NAT-AML-001#1": [[10, 10]],
        "KZ-AIFC-DP-001#0": [[12, 12]],
        "KZ-AIFC-AML-010#0": [[10, 10], [14, 14]], "INTL-FATF-CO-001#1": [[10, 10], [14, 14]],
        "KZ-AIFC-AML-010#1": [[14, 14]],
        "KZ-AIFC-AML-001#0": [[14, 14]], "INTL-FATF-RA-001#0": [[14, 14]], "KZ-AIFC-AML-001#2": [[14, 14]],
    }),
    "cryptopay24_aml_policy.txt": ("aml", {
        "KZ-NAT-AML-001#0": [[9, 9]],
        "INTL-FATF-RA-001#1": [[23, 23]], "KZ-AIFC-AML-001#1": [[23, 23]],
        "KZ-AIFC-AML-003#1": [[23, 23]], "INTL-FATF-EDD-001#1": [[23, 23]], "KZ-AIFC-XB-002#0": [[23, 23]],
        "KZ-AIFC-AML-002#2": [[23, 23]], "INTL-FATF-CDD-001#2": [[23, 23]],
        "KZ-AIFC-AML-004#0": [[23, 23], [27, 27]], "INTL-FATF-MON-001#0": [[23, 23], [27, 27]],
        "KZ-AIFC-AML-002#0": [[25, 25]], "INTL-FATF-CDD-001#0": [[25, 25]],
        "KZ-AIFC-AML-002#1": [[25, 25]], "INTL-FATF-CDD-001#1": [[25, 25]],
        "KZ-AIFC-AML-003#2": [[25, 25]],
    }),
    "cryptopays_us_aml_policy.txt": ("aml", {
        "KZ-NAT-AML-001#0": [[12, 12], [14, 14]],
        "KZ-AIFC-AML-002#0": [[20, 20], [22, 22]], "INTL-FATF-CDD-001#0": [[20, 20], [22, 22]],
        "KZ-AIFC-AML-001#1": [[20, 20]],
        "KZ-AIFC-AML-002#1": [[24, 24]], "INTL-FATF-CDD-001#1": [[24, 24]],
        "KZ-AIFC-AML-002#2": [[25, 25]], "INTL-FATF-CDD-001#2": [[25, 25]],
        "KZ-AIFC-AML-004#0": [[25, 25], [31, 31]], "INTL-FATF-MON-001#0": [[25, 25], [31, 31]],
        "KZ-AIFC-AML-003#1": [[26, 26]], "INTL-FATF-EDD-001#1": [[26, 26]],
        "KZ-AIFC-AML-005#0": [[43, 43], [46, 46]], "INTL-FATF-STR-001#0": [[43, 43], [46, 46]],
        "KZ-NAT-AML-001#1": [[43, 43], [46, 46]],
        "KZ-AIFC-AML-004#2": [[45, 45]], "INTL-FATF-MON-001#1": [[45, 45]],
        "KZ-AIFC-AML-005#2": [[47, 47], [48, 48]],
    }),
    # ------------------------------------------------------------------ sanctions
    "bitstamp_aml_kyc_excerpt.txt": ("sanctions", {
        "KZ-AIFC-AML-007#0": [[1, 1]], "INTL-FATF-TFS-001#0": [[1, 1]], "KZ-AIFC-XB-002#0": [[1, 1]],
    }),
    "standard_chartered_sanctions_statement.txt": ("sanctions", {
        "KZ-AIFC-AML-007#0": [[12, 13]], "INTL-FATF-TFS-001#0": [[12, 13]], "KZ-AIFC-XB-002#0": [[23, 24]],
    }),
    "bank_of_ireland_sanctions.txt": ("sanctions", {
        "KZ-AIFC-AML-007#0": [[9, 9]], "INTL-FATF-TFS-001#0": [[9, 9]], "KZ-AIFC-XB-002#0": [[13, 13], [14, 14]],
    }),
    "bank_of_scotland_sanctions.txt": ("sanctions", {
        "KZ-AIFC-XB-002#0": [[13, 13]],
    }),
    "op_international_sanctions.txt": ("sanctions", {
        "KZ-AIFC-AML-007#0": [[13, 13], [15, 15]], "INTL-FATF-TFS-001#0": [[13, 13], [15, 15]],
    }),
    "anton_payments_sanctions_policy.txt": ("sanctions", {
        "KZ-AIFC-AML-007#0": [[5, 5], [19, 19], [21, 21], [26, 26], [27, 27], [31, 31]],
        "INTL-FATF-TFS-001#0": [[5, 5], [19, 19], [21, 21], [26, 26], [27, 27], [31, 31]],
        "KZ-AIFC-AML-007#2": [[31, 31]],
        "KZ-AIFC-XB-002#0": [[5, 5], [24, 24]],
    }),
    # ------------------------------------------------------------------ complaints
    "crypto_facilities_complaints.txt": ("complaints", {
        "KZ-AIFC-CON-004#0": [[1, 1], [2, 2], [3, 3]], "INTL-IOSCO-RET-001#2": [[1, 1], [2, 2], [3, 3]],
        "KZ-AIFC-CON-004#1": [[2, 2]], "KZ-AIFC-CON-004#2": [[4, 4]],
    }),
    "financial_design_complaints.txt": ("complaints", {
        "KZ-AIFC-CON-004#0": [[2, 2], [3, 3], [4, 4]], "INTL-IOSCO-RET-001#2": [[2, 2], [3, 3], [4, 4]],
        "KZ-AIFC-CON-004#1": [[3, 3], [6, 6]], "KZ-AIFC-CON-004#2": [[6, 6], [8, 8]],
    }),
    "crypto_mart_complaint_policy.txt": ("complaints", {
        "KZ-AIFC-CON-004#0": [[5, 5], [29, 29]], "INTL-IOSCO-RET-001#2": [[5, 5], [29, 29]],
        "KZ-AIFC-CON-004#2": [[29, 29]],
    }),
    "life_advice_complaints_procedure.txt": ("complaints", {
        "KZ-AIFC-CON-004#0": [[3, 3], [10, 10], [12, 12]], "INTL-IOSCO-RET-001#2": [[3, 3], [10, 10], [12, 12]],
        "KZ-AIFC-CON-004#1": [[10, 10]],
    }),
    "wb_debtcare_complaints.txt": ("complaints", {
        "KZ-AIFC-CON-004#0": [[1, 1], [2, 2], [3, 3]], "INTL-IOSCO-RET-001#2": [[1, 1], [2, 2], [3, 3], [4, 4]],
        "KZ-AIFC-CON-004#1": [[3, 3], [4, 4], [5, 5]], "KZ-AIFC-CON-004#2": [[2, 2]],
    }),
    "sable_international_complaints.txt": ("complaints", {
        "KZ-AIFC-CON-004#0": [[3, 3], [13, 13]], "INTL-IOSCO-RET-001#2": [[3, 3], [13, 13]],
        "KZ-AIFC-CON-004#1": [[3, 3], [7, 7]], "KZ-AIFC-CON-004#2": [[15, 15]],
    }),
    "profit_tree_complaints_policy.txt": ("complaints", {
        "KZ-AIFC-CON-004#0": [[11, 11], [25, 25]], "INTL-IOSCO-RET-001#2": [[11, 11], [25, 25]],
    }),
    "aviva_investors_complaints.txt": ("complaints", {
        "KZ-AIFC-CON-004#0": [[19, 19], [21, 21], [23, 23], [25, 25], [29, 29]],
        "INTL-IOSCO-RET-001#2": [[19, 19], [21, 21], [23, 23], [25, 25], [29, 29]],
        "KZ-AIFC-CON-004#1": [[25, 25]], "KZ-AIFC-CON-004#2": [[35, 35], [37, 37]],
    }),
    # ------------------------------------------------------------------ client assets
    "coperstone_safety_of_funds.txt": ("client_assets", {
        "KZ-AIFC-CUST-001#0": [[3, 3], [8, 8], [10, 10], [14, 14], [18, 18]],
        "INTL-IOSCO-CUST-001#0": [[3, 3], [8, 8], [10, 10], [14, 14], [18, 18]],
        "KZ-AIFC-CUST-001#1": [[8, 8], [10, 10], [22, 22]], "INTL-IOSCO-CUST-001#1": [[8, 8], [10, 10], [22, 22]],
        "KZ-AIFC-CUST-001#2": [[18, 18]],
        "KZ-AIFC-CUST-003#1": [[3, 3], [10, 10], [18, 18]],
    }),
    "eqi_client_money_protection.txt": ("client_assets", {
        "KZ-AIFC-CUST-001#0": [[3, 3]], "INTL-IOSCO-CUST-001#0": [[3, 3]], "KZ-AIFC-CUST-003#1": [[3, 3]],
        "KZ-AIFC-CUST-001#1": [[3, 3]], "INTL-IOSCO-CUST-001#1": [[3, 3], [5, 5]],
        "KZ-AIFC-CUST-001#2": [[5, 5]],
    }),
    "yourinvestore_is_my_money_safe.txt": ("client_assets", {
        "KZ-AIFC-CUST-001#0": [[1, 1]], "INTL-IOSCO-CUST-001#0": [[1, 1]], "KZ-AIFC-CUST-003#1": [[1, 1]],
        "KZ-AIFC-CUST-001#1": [[2, 2]], "INTL-IOSCO-CUST-001#1": [[2, 2]],
    }),
    "mandg_wealth_client_money.txt": ("client_assets", {
        "KZ-AIFC-CUST-001#0": [[3, 3]], "INTL-IOSCO-CUST-001#0": [[3, 3]], "KZ-AIFC-CUST-003#1": [[3, 3]],
        "KZ-AIFC-CUST-001#1": [[3, 3]], "INTL-IOSCO-CUST-001#1": [[3, 3], [5, 5]],
    }),
    # ------------------------------------------------------------------ information security / incidents
    "paysafe_information_security.txt": ("information_security", {
        "KZ-AIFC-CYB-001#0": [[3, 3], [4, 4], [7, 7]], "INTL-IOSCO-OPS-001#0": [[3, 3], [7, 7]],
        "KZ-AIFC-CYB-001#1": [[7, 7]],
        "KZ-AIFC-CYB-002#2": [[9, 9], [10, 10], [12, 12]], "KZ-AIFC-CYB-002#3": [[15, 15]],
        "KZ-AIFC-CYB-004#2": [[8, 8]],
        "INTL-FSB-RM-001#1": [[2, 2], [9, 9], [11, 11], [12, 12]],
        "INTL-FSB-DATA-001#1": [[2, 2], [11, 11]], "KZ-NAT-DP-001#1": [[2, 2], [11, 11]],
    }),
    "kraken_securing_personal_information.txt": ("information_security", {
        "INTL-FSB-DATA-001#1": [[2, 2], [7, 7], [9, 9]], "KZ-NAT-DP-001#1": [[2, 2], [7, 7], [9, 9]],
        "KZ-AIFC-CYB-002#2": [[4, 4], [5, 5], [9, 9]], "INTL-FSB-RM-001#1": [[4, 4], [9, 9]],
        "KZ-AIFC-CYB-001#0": [[11, 11]], "INTL-IOSCO-OPS-001#0": [[11, 11]], "KZ-AIFC-CYB-001#3": [[11, 11]],
    }),
    "paybypocket_security.txt": ("information_security", {
        "KZ-AIFC-CYB-001#0": [[2, 2]], "INTL-IOSCO-OPS-001#0": [[2, 2]],
        "KZ-AIFC-CYB-001#2": [[11, 11]], "INTL-FSB-RM-001#0": [[11, 11]],
        "KZ-AIFC-CYB-002#2": [[3, 3], [14, 14], [15, 15], [16, 16]], "KZ-AIFC-CYB-002#3": [[22, 22], [23, 23]],
        "KZ-AIFC-CYB-004#2": [[4, 4]],
        "INTL-FSB-RM-001#1": [[10, 10], [14, 14], [15, 15], [27, 27]],
        "INTL-FSB-DATA-001#1": [[10, 10]], "KZ-NAT-DP-001#1": [[10, 10]],
        "INTL-FSB-GOV-001#1": [[4, 4]],
    }),
    "qwikpay_security.txt": ("information_security", {
        "INTL-FSB-DATA-001#1": [[5, 5]], "KZ-NAT-DP-001#1": [[5, 5]],
        "INTL-FSB-RM-001#1": [[5, 5], [9, 9], [26, 26]],
        "KZ-AIFC-CYB-002#2": [[9, 9], [26, 26]],
        "KZ-AIFC-CYB-001#2": [[12, 12]], "INTL-FSB-RM-001#0": [[12, 12]],
        "KZ-AIFC-CYB-001#3": [[22, 22]],
    }),
    "bitfinex_security_policies.txt": ("information_security", {
        "KZ-AIFC-CYB-003#0": [[10, 10]], "KZ-AIFC-CYB-003#1": [[10, 10]], "KZ-AIFC-CYB-003#2": [[10, 10]],
        "INTL-IOSCO-OPS-001#1": [[10, 10]],
        "INTL-FSB-RM-001#1": [[5, 5], [16, 16], [20, 20], [24, 24]],
        "INTL-FSB-RM-001#0": [[20, 20], [24, 24]], "KZ-AIFC-CYB-001#2": [[20, 20]],
    }),
    "oval_money_personal_information.txt": ("information_security", {
        "KZ-AIFC-CYB-002#2": [[7, 7], [15, 15]],
        "INTL-FSB-RM-001#1": [[3, 3], [11, 11], [13, 13], [15, 15]],
        "INTL-FSB-DATA-001#1": [[3, 3], [5, 5], [7, 7], [11, 11], [15, 15]],
        "KZ-NAT-DP-001#1": [[3, 3], [5, 5], [7, 7], [11, 11], [15, 15]],
        "KZ-AIFC-CYB-004#0": [[15, 15]], "KZ-AIFC-CYB-004#1": [[15, 15]],
    }),
    "apexx_data_breach.txt": ("information_security", {
        "KZ-AIFC-CYB-004#0": [[3, 3], [9, 9]], "KZ-AIFC-CYB-004#1": [[9, 9]],
        "KZ-AIFC-CYB-004#2": [[1, 1], [3, 3], [5, 5], [7, 7]],
    }),
    "escrow_com_document_security.txt": ("information_security", {
        "INTL-FSB-DATA-001#1": [[10, 10], [14, 14], [18, 18]], "KZ-NAT-DP-001#1": [[10, 10], [14, 14], [18, 18]],
        "INTL-FSB-RM-001#1": [[10, 10], [18, 18]],
        "KZ-AIFC-CYB-002#2": [[14, 14], [18, 18]],
        "KZ-NAT-DP-001#2": [[22, 22]],
    }),
    "dattaremit_security.txt": ("information_security", {
        "INTL-FSB-RM-001#1": [[4, 4], [7, 7], [8, 8], [12, 12], [13, 13], [14, 14], [17, 17], [18, 18]],
        "INTL-FSB-DATA-001#0": [[6, 6]],
        "INTL-FSB-DATA-001#1": [[6, 6], [7, 7], [8, 8], [9, 9], [12, 12], [13, 13], [14, 14]],
        "KZ-NAT-DP-001#1": [[6, 6], [7, 7], [8, 8], [9, 9], [12, 12], [13, 13], [14, 14]],
        "INTL-FSB-RM-001#0": [[8, 8]], "KZ-AIFC-CYB-001#2": [[8, 8]],
        "KZ-AIFC-CYB-002#2": [[17, 17], [18, 18]],
    }),
    # ------------------------------------------------------------------ whistleblowing
    "reliance_bank_whistleblowing.txt": ("whistleblowing", {
        "KZ-AIFC-GOV-001#3": [[4, 4], [7, 7]],
    }),
    # ------------------------------------------------------------------ conflicts of interest
    "cxm_prime_conflict_of_interest.txt": ("conflicts_of_interest", {
        "KZ-AIFC-MKT-002#0": [[17, 17]], "INTL-IOSCO-COI-001#0": [[17, 17]],
    }),
    "traders_trust_conflict_of_interest.txt": ("conflicts_of_interest", {
        "KZ-AIFC-GOV-001#1": [[3, 3]],
    }),
    "computershare_conflicts_of_interest.txt": ("conflicts_of_interest", {
        "KZ-AIFC-MKT-002#0": [[2, 2], [8, 8]], "INTL-IOSCO-COI-001#0": [[2, 2], [8, 8]],
        "KZ-AIFC-MKT-002#1": [[10, 10]], "INTL-IOSCO-COI-001#1": [[10, 10]],
        "KZ-AIFC-MKT-001#2": [[9, 9]],
    }),
    "victoria_private_investment_conflicts.txt": ("conflicts_of_interest", {
        "KZ-AIFC-MKT-002#0": [[2, 2], [4, 4], [11, 11]], "INTL-IOSCO-COI-001#0": [[2, 2], [4, 4], [11, 11]],
        "KZ-AIFC-MKT-002#1": [[4, 4]], "INTL-IOSCO-COI-001#1": [[4, 4]],
    }),
    # ================================================================== second tuning round
    # ------------------------------------------------------------------ AML / KYC
    "clarico_pay_aml_statement.txt": ("aml", {
        "KZ-NAT-AML-001#0": [[4, 4], [9, 9]],
        "INTL-FATF-RA-001#0": [[9, 9]], "INTL-FATF-RA-001#1": [[9, 9]],
        "KZ-AIFC-AML-002#0": [[10, 10]], "INTL-FATF-CDD-001#0": [[10, 10]],
        "KZ-AIFC-AML-002#2": [[10, 10]], "INTL-FATF-CDD-001#2": [[10, 10]],
        "KZ-AIFC-AML-004#0": [[10, 10], [11, 11]], "INTL-FATF-MON-001#0": [[10, 10], [11, 11]],
        "KZ-AIFC-AML-003#1": [[10, 10]], "INTL-FATF-EDD-001#1": [[10, 10]],
        "KZ-AIFC-AML-004#2": [[11, 11]], "INTL-FATF-MON-001#1": [[11, 11]],
        "KZ-AIFC-AML-010#0": [[12, 12]], "INTL-FATF-CO-001#1": [[12, 12]],
        "KZ-AIFC-AML-005#0": [[12, 12]], "INTL-FATF-STR-001#0": [[12, 12]], "KZ-NAT-AML-001#1": [[12, 12]],
        "KZ-AIFC-AML-003#0": [[13, 13]], "INTL-FATF-EDD-001#0": [[13, 13]],
        "KZ-AIFC-AML-007#0": [[14, 14]], "INTL-FATF-TFS-001#0": [[14, 14]],
    }),
    "tradefx_aml_policy.txt": ("aml", {
        "KZ-NAT-AML-001#0": [[4, 4], [21, 21]],
        "KZ-AIFC-AML-002#0": [[8, 8]], "INTL-FATF-CDD-001#0": [[8, 8]],
        "KZ-AIFC-AML-001#1": [[9, 9]], "INTL-FATF-RA-001#1": [[9, 9]],
        "KZ-AIFC-AML-003#1": [[9, 9]], "INTL-FATF-EDD-001#1": [[9, 9]],
        "KZ-AIFC-AML-002#2": [[10, 10]], "INTL-FATF-CDD-001#2": [[10, 10]],
        "KZ-AIFC-AML-004#0": [[12, 12]], "INTL-FATF-MON-001#0": [[12, 12]],
        "KZ-AIFC-AML-005#0": [[13, 13], [15, 15]], "INTL-FATF-STR-001#0": [[13, 13], [15, 15]],
        "KZ-NAT-AML-001#1": [[13, 13], [15, 15]],
        "INTL-FATF-REC-001#0": [[16, 16]],
        "KZ-AIFC-AML-010#0": [[18, 18], [19, 19]], "INTL-FATF-CO-001#1": [[18, 18], [19, 19]],
        "KZ-AIFC-AML-010#1": [[18, 18]],
        "KZ-AIFC-AML-005#2": [[24, 24]], "KZ-AIFC-DP-001#0": [[24, 24]],
        "KZ-AIFC-AML-009#0": [[26, 26]], "INTL-FATF-CO-001#0": [[26, 26]],
        "KZ-AIFC-AML-009#3": [[27, 27]],
    }),
    "fmpay_anti_financial_crime_statement.txt": ("aml", {
        "KZ-NAT-AML-001#0": [[21, 21]],
        "KZ-AIFC-AML-002#0": [[34, 34]], "INTL-FATF-CDD-001#0": [[34, 34]],
    }),
    "carrmou_aml_compliance.txt": ("aml", {
        "KZ-NAT-AML-001#0": [[2, 2], [8, 8]],
        "KZ-AIFC-AML-005#0": [[3, 3]], "INTL-FATF-STR-001#0": [[3, 3]], "KZ-NAT-AML-001#1": [[3, 3]],
        "INTL-FATF-REC-001#0": [[5, 5]],
        "KZ-AIFC-AML-002#0": [[6, 6]], "INTL-FATF-CDD-001#0": [[6, 6]],
        "KZ-AIFC-AML-002#1": [[7, 7]], "INTL-FATF-CDD-001#1": [[7, 7]],
        "KZ-AIFC-AML-007#0": [[12, 12]], "INTL-FATF-TFS-001#0": [[12, 12]],
        "KZ-AIFC-AML-004#0": [[13, 13]], "INTL-FATF-MON-001#0": [[13, 13]],
    }),
    # ------------------------------------------------------------------ sanctions
    "convera_sanctions.txt": ("sanctions", {
        "KZ-AIFC-AML-007#0": [[9, 9]], "INTL-FATF-TFS-001#0": [[9, 9]],
        "KZ-AIFC-AML-007#1": [[9, 9], [11, 11]],
        "KZ-AIFC-XB-002#0": [[7, 7], [9, 9]],
    }),
    # ------------------------------------------------------------------ complaints
    "al_rayan_bank_complaints.txt": ("complaints", {
        "KZ-AIFC-CON-004#0": [[1, 1], [2, 2], [3, 3]], "INTL-IOSCO-RET-001#2": [[1, 1], [2, 2], [3, 3]],
        "KZ-AIFC-CON-004#1": [[2, 2], [3, 3]],
        "KZ-AIFC-CON-004#2": [[6, 6], [7, 7], [8, 8], [9, 9]],
    }),
    "stocktrade_complaints.txt": ("complaints", {
        "KZ-AIFC-CON-004#0": [[7, 7], [9, 9], [13, 13], [14, 14], [15, 15], [17, 17]],
        "INTL-IOSCO-RET-001#2": [[7, 7], [9, 9], [13, 13], [14, 14], [15, 15], [17, 17]],
        "KZ-AIFC-CON-004#1": [[13, 13], [15, 15], [17, 17]],
    }),
    "quan2um_complaint_procedure.txt": ("complaints", {
        "KZ-AIFC-CON-004#0": [[1, 1], [17, 17], [19, 19]], "INTL-IOSCO-RET-001#2": [[1, 1], [17, 17], [19, 19]],
        "KZ-AIFC-CON-004#1": [[17, 17]],
    }),
    # ------------------------------------------------------------------ client assets
    "raymond_james_kendal_security_of_assets.txt": ("client_assets", {
        "KZ-AIFC-CUST-001#0": [[9, 9], [19, 19]], "INTL-IOSCO-CUST-001#0": [[9, 9], [19, 19]],
        "KZ-AIFC-CUST-001#1": [[9, 9], [19, 19]], "INTL-IOSCO-CUST-001#1": [[9, 9], [13, 13], [19, 19]],
        "KZ-AIFC-CUST-003#1": [[9, 9], [19, 19]],
    }),
    "tjm_partners_safe_custody.txt": ("client_assets", {
        "KZ-AIFC-CUST-001#0": [[7, 7]], "INTL-IOSCO-CUST-001#0": [[7, 7]], "KZ-AIFC-CUST-003#1": [[7, 7]],
    }),
    # ------------------------------------------------------------------ information security
    "bitpyro_safe_secure.txt": ("information_security", {
        "KZ-AIFC-CYB-003#0": [[2, 2], [5, 5], [6, 6]], "INTL-IOSCO-OPS-001#1": [[2, 2], [5, 5], [6, 6], [19, 19]],
        "KZ-AIFC-CYB-003#1": [[2, 2]],
        "KZ-AIFC-CYB-003#2": [[7, 7], [19, 19], [20, 20]],
        "KZ-AIFC-CYB-002#2": [[4, 4], [6, 6], [13, 13], [14, 14]],
        "INTL-FSB-RM-001#1": [[4, 4], [13, 13], [14, 14], [15, 15], [16, 16], [17, 17]],
        "INTL-FSB-DATA-001#1": [[16, 16]], "KZ-NAT-DP-001#1": [[16, 16]],
    }),
    "fx_edge_security.txt": ("information_security", {
        "KZ-AIFC-CYB-003#0": [[1, 1], [9, 9], [10, 10], [11, 11], [17, 17]],
        "INTL-IOSCO-OPS-001#1": [[1, 1], [9, 9], [10, 10], [11, 12], [16, 16], [17, 17]],
        "KZ-AIFC-CYB-003#1": [[1, 1], [9, 9]],
        "KZ-AIFC-CYB-003#2": [[10, 10], [13, 13], [16, 16]],
        "KZ-AIFC-CYB-002#2": [[5, 5], [6, 6], [11, 11], [19, 19]],
        "KZ-AIFC-CYB-002#3": [[12, 12]],
        "INTL-FSB-RM-001#1": [[5, 5], [6, 6], [19, 19]],
    }),
    "credicorp_data_security.txt": ("information_security", {
        "INTL-FSB-DATA-001#1": [[1, 1], [3, 3], [4, 4], [5, 5], [8, 8], [9, 9]],
        "KZ-NAT-DP-001#1": [[1, 1], [3, 3], [4, 4], [5, 5], [8, 8], [9, 9]],
        "INTL-FSB-RM-001#1": [[1, 1], [3, 3], [4, 4], [5, 5], [6, 6], [8, 8]],
        "KZ-AIFC-CYB-002#2": [[4, 4]],
        "KZ-AIFC-CYB-002#3": [[9, 9]], "KZ-NAT-DP-001#3": [[9, 9]],
        "INTL-FSB-DATA-001#0": [[10, 10]],
        "KZ-AIFC-CYB-004#0": [[14, 14]],
    }),
    "kpay_security.txt": ("information_security", {
        "INTL-FSB-RM-001#1": [[3, 3], [5, 5], [6, 6], [7, 7], [9, 9], [10, 10]],
        "INTL-FSB-DATA-001#1": [[5, 5], [6, 6], [9, 9]], "KZ-NAT-DP-001#1": [[5, 5], [6, 6], [9, 9]],
        "KZ-AIFC-CYB-001#0": [[6, 6]], "INTL-IOSCO-OPS-001#0": [[6, 6]],
        "KZ-AIFC-CYB-001#3": [[6, 6], [7, 7]],
    }),
    "gelband_business_continuity_plan.txt": ("information_security", {
        "KZ-AIFC-CYB-001#2": [[3, 3], [18, 18], [20, 20]], "INTL-FSB-RM-001#0": [[3, 3], [18, 18], [20, 20]],
    }),
    "natwest_how_we_protect_you.txt": ("information_security", {
        "KZ-AIFC-CYB-002#2": [[17, 17], [40, 40], [44, 44]],
        "INTL-FSB-RM-001#1": [[17, 17], [40, 40], [44, 44], [48, 48]],
    }),
    "triodos_online_banking_safety.txt": ("information_security", {
        "KZ-AIFC-CYB-002#2": [[10, 10], [12, 12], [14, 14]],
        "INTL-FSB-RM-001#1": [[10, 10], [12, 12], [14, 14]],
    }),
    # ------------------------------------------------------------------ conflicts of interest
    "gsi_markets_conflicts_of_interest.txt": ("conflicts_of_interest", {
        "KZ-AIFC-MKT-002#0": [[5, 5], [11, 11], [15, 15], [17, 17], [19, 19]],
        "INTL-IOSCO-COI-001#0": [[5, 5], [11, 11], [15, 15], [17, 17], [19, 19]],
    }),
}


def build() -> dict:
    from agent.knowledge import load

    reqs = {r.id: r for code in ("KZ", "INTL") for r in load(code).requirements}
    documents = []
    for file, (domain, stated) in sorted(LABELS.items()):
        lines = (HERE / "corpus" / file).read_text(encoding="utf-8").splitlines()
        known = set()
        elements = []
        for rid in (*DOMAINS[domain], *GOVERNANCE):
            req = reqs[rid]
            indexes = ONLY.get((domain, rid), range(len(req.elements)))
            for k in indexes:
                key = f"{rid}#{k}"
                known.add(key)
                ranges = stated.get(key, [])
                for a, b in ranges:
                    assert 1 <= a <= b <= len(lines), (file, key, a, b)
                elements.append({"requirement": rid, "element": req.elements[k].name, "stated": bool(ranges),
                                 "lines": ranges})
        unknown = set(stated) - known
        assert not unknown, (file, unknown)
        documents.append({"file": file, "domain": domain, "elements": elements})
    return {"version": 1, "documents": documents}


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(HERE.parent.parent))
    out = HERE / "labels.json"
    out.write_text(json.dumps(build(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")
