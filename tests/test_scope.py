"""Scope parsing: free text from ``agent run "<query>"`` to a Scope, or a ScopeError a user can act on."""

from __future__ import annotations

import pytest

from agent.models import TOPICS, Scope
from agent.scope import MAX_QUERY_CHARS, ScopeError, parse_scope


def _error(query: str) -> ScopeError:
    with pytest.raises(ScopeError) as info:
        parse_scope(query)
    return info.value


def _suggestions(err: ScopeError) -> str:
    return "\n".join(err.suggestions)


# --- the queries from the design brief ---------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "topics", "code", "name", "hint"),
    [
        ("stablecoin KZ", ("stablecoin",), "KZ", "Kazakhstan", None),
        ("Kazakhstan custody", ("custody",), "KZ", "Kazakhstan", None),
        ("licensing requirements kz", ("licensing",), "KZ", "Kazakhstan", None),
        ("KZ exchange", ("exchange",), "KZ", "Kazakhstan", None),
        ("retail trading Kazakhstan", ("retail_trading",), "KZ", "Kazakhstan", None),
        ("AIFC custody", ("custody",), "KZ", "Kazakhstan", "AIFC"),
        ("aml/ctf kazakhstan", ("aml_ctf",), "KZ", "Kazakhstan", None),
        ("crypto tax in Kazakhstan", ("tax",), "KZ", "Kazakhstan", None),
        ("mining KAZ", ("mining",), "KZ", "Kazakhstan", None),
        ("payments UAE", ("payments",), "AE", "United Arab Emirates", None),
        ("stablecoins in the EU", ("stablecoin",), "EU", "European Union", None),
        ("exchange licensing Germany", ("exchange", "licensing"), "DE", "Germany", None),
        ("custody United Kingdom", ("custody",), "GB", "United Kingdom", None),
    ],
)
def test_brief_examples(query, topics, code, name, hint):
    scope = parse_scope(query)
    assert scope == Scope(
        query=query, topics=topics, jurisdiction=code, jurisdiction_name=name, regime_hint=hint
    )


def test_query_is_stripped_and_otherwise_kept():
    assert parse_scope("  Stablecoin   KZ \n").query == "Stablecoin   KZ"


# --- topics ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "topic"),
    [
        # stablecoin
        ("stablecoin KZ", "stablecoin"),
        ("Stablecoins KZ", "stablecoin"),
        ("stable-coin KZ", "stablecoin"),
        ("stable coins KZ", "stablecoin"),
        ("e-money tokens KZ", "stablecoin"),
        # exchange
        ("trading KZ", "exchange"),
        ("crypto exchanges KZ", "exchange"),
        ("trading platform KZ", "exchange"),
        ("DATF KZ", "exchange"),
        ("trading facility KZ", "exchange"),
        ("brokers KZ", "exchange"),
        ("dealer KZ", "exchange"),
        ("brokerage KZ", "exchange"),
        ("OTC KZ", "exchange"),
        # custody
        ("custody KZ", "custody"),
        ("custodians KZ", "custody"),
        ("safekeeping KZ", "custody"),
        ("safe-keeping KZ", "custody"),
        ("wallet providers KZ", "custody"),
        # licensing, both spellings
        ("licence KZ", "licensing"),
        ("license KZ", "licensing"),
        ("licences KZ", "licensing"),
        ("licensing KZ", "licensing"),
        ("authorisation KZ", "licensing"),
        ("authorization KZ", "licensing"),
        ("registration KZ", "licensing"),
        # regulatory status
        ("regulatory status KZ", "regulatory_status"),
        ("legal status KZ", "regulatory_status"),
        ("status KZ", "regulatory_status"),
        ("legality KZ", "regulatory_status"),
        ("is crypto legal in KZ", "regulatory_status"),
        ("overview KZ", "regulatory_status"),
        ("regulation KZ", "regulatory_status"),
        # retail
        ("retail trading KZ", "retail_trading"),
        ("retail KZ", "retail_trading"),
        ("retail investors KZ", "retail_trading"),
        # aml/ctf
        ("AML KZ", "aml_ctf"),
        ("CTF KZ", "aml_ctf"),
        ("CFT KZ", "aml_ctf"),
        ("aml/ctf KZ", "aml_ctf"),
        ("AML/CFT KZ", "aml_ctf"),
        ("KYC KZ", "aml_ctf"),
        ("anti-money laundering KZ", "aml_ctf"),
        ("anti-money-laundering KZ", "aml_ctf"),
        ("anti money laundering KZ", "aml_ctf"),
        ("travel rule KZ", "aml_ctf"),
        ("sanctions KZ", "aml_ctf"),
        # mining
        ("mining KZ", "mining"),
        ("miners KZ", "mining"),
        ("digital mining KZ", "mining"),
        # tax
        ("tax KZ", "tax"),
        ("taxation KZ", "tax"),
        ("taxes KZ", "tax"),
        # payments
        ("payments KZ", "payments"),
        ("payment KZ", "payments"),
        ("PSP KZ", "payments"),
        ("remittance KZ", "payments"),
        ("on-ramp KZ", "payments"),
        ("off-ramp KZ", "payments"),
    ],
)
def test_topic_vocabulary(query, topic):
    assert parse_scope(query).topics == (topic,)


def test_every_topic_is_reachable():
    reached = {parse_scope(f"{t.replace('_', ' ')} KZ").topics[0] for t in TOPICS}
    assert reached == set(TOPICS)


def test_retail_trading_is_not_exchange():
    assert parse_scope("retail trading Kazakhstan").topics == ("retail_trading",)
    assert "exchange" not in parse_scope("retail trading KZ").topics


@pytest.mark.parametrize(
    ("query", "topics"),
    [
        ("stablecoin custody KZ", ("stablecoin", "custody")),
        ("custody stablecoin KZ", ("custody", "stablecoin")),
        ("KZ aml kyc travel rule", ("aml_ctf",)),  # several words, one topic, reported once
        ("exchange licensing and custody in Kazakhstan", ("exchange", "licensing", "custody")),
        ("retail trading and tax KZ", ("retail_trading", "tax")),
    ],
)
def test_multiple_topics_in_order_of_appearance(query, topics):
    assert parse_scope(query).topics == topics


@pytest.mark.parametrize(
    "query",
    [
        "Kazakhstan",
        "KZ",
        "crypto in Kazakhstan",
        "regulation of virtual assets in the Republic of Kazakhstan",
        "crypto rules KZ",
        "is bitcoin legal in Kazakhstan?",
    ],
)
def test_default_topic_is_regulatory_status(query):
    assert parse_scope(query).topics == ("regulatory_status",)


@pytest.mark.parametrize(
    ("query", "topics"),
    [
        ("stablecoin requirements for the KZ", ("stablecoin",)),
        ("What are the rules for crypto custody in Kazakhstan?", ("custody",)),
        ("virtual asset regulation of exchanges in KZ", ("exchange",)),
        ("crypto tax in Kazakhstan", ("tax",)),
        ("Stablecoin regulation, KZ!", ("stablecoin",)),
        ("licensing requirements for a crypto exchange in the UAE", ("licensing", "exchange")),
    ],
)
def test_filler_words_are_ignored(query, topics):
    assert parse_scope(query).topics == topics


# --- jurisdictions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "code", "name"),
    [
        ("custody kz", "KZ", "Kazakhstan"),
        ("custody Kz", "KZ", "Kazakhstan"),
        ("custody KAZ", "KZ", "Kazakhstan"),
        ("custody kaz", "KZ", "Kazakhstan"),
        ("custody Kazakhstan", "KZ", "Kazakhstan"),
        ("custody KAZAKHSTAN", "KZ", "Kazakhstan"),
        ("custody Republic of Kazakhstan", "KZ", "Kazakhstan"),
        ("custody United Kingdom", "GB", "United Kingdom"),
        ("custody UK", "GB", "United Kingdom"),
        ("custody U.K.", "GB", "United Kingdom"),
        ("custody GB", "GB", "United Kingdom"),
        ("custody GBR", "GB", "United Kingdom"),
        ("custody USA", "US", "United States"),
        ("custody United States", "US", "United States"),
        ("custody United States of America", "US", "United States"),
        ("custody UAE", "AE", "United Arab Emirates"),
        ("custody United Arab Emirates", "AE", "United Arab Emirates"),
        ("custody South Korea", "KR", "South Korea"),
        ("custody Hong Kong", "HK", "Hong Kong"),
        ("custody Germany", "DE", "Germany"),
        ("custody DE", "DE", "Germany"),
        ("custody Singapore", "SG", "Singapore"),
        ("custody EU", "EU", "European Union"),
        ("custody European Union", "EU", "European Union"),
        ("custody Türkiye", "TR", "Türkiye"),
        ("custody Turkiye", "TR", "Türkiye"),
        ("custody Trinidad and Tobago", "TT", "Trinidad and Tobago"),
        ("custody Isle of Man", "IM", "Isle of Man"),
    ],
)
def test_jurisdiction_names_and_codes(query, code, name):
    scope = parse_scope(query)
    assert (scope.jurisdiction, scope.jurisdiction_name) == (code, name)
    assert scope.topics == ("custody",)


@pytest.mark.parametrize(
    ("query", "code", "hint"),
    [
        ("AIFC custody", "KZ", "AIFC"),
        ("aifc custody", "KZ", "AIFC"),
        ("custody Astana International Financial Centre", "KZ", "AIFC"),
        ("custody Astana International Financial Center", "KZ", "AIFC"),
        ("custody Astana", "KZ", "AIFC"),
        ("custody AIFC Kazakhstan", "KZ", "AIFC"),  # the regime and its country agree
        ("custody DIFC", "AE", "DIFC"),
        ("custody ADGM", "AE", "ADGM"),
        ("custody Dubai", "AE", "VARA"),
        ("custody VARA", "AE", "VARA"),
        ("custody DIFC Dubai", "AE", "DIFC"),  # the named regime beats the city's default
        ("custody UAE", "AE", None),
        ("custody Kazakhstan", "KZ", None),
    ],
)
def test_regime_hints(query, code, hint):
    scope = parse_scope(query)
    assert (scope.jurisdiction, scope.regime_hint) == (code, hint)


def test_aifc_name_is_the_country():
    assert parse_scope("AIFC custody").jurisdiction_name == "Kazakhstan"


def test_multi_word_names_match_before_single_words():
    # "Kingdom" alone means nothing; "Guinea" is a country of its own.
    assert parse_scope("custody United Kingdom").jurisdiction == "GB"
    assert parse_scope("custody Papua New Guinea").jurisdiction == "PG"
    assert parse_scope("custody Guinea-Bissau").jurisdiction == "GW"
    assert parse_scope("custody Guinea").jurisdiction == "GN"
    assert parse_scope("retail trading Astana International Financial Centre").topics == (
        "retail_trading",
    )


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("stablecoin IN", "IN"),  # upper case: India
        ("custody IT", "IT"),  # Italy
        ("custody AT", "AT"),  # Austria
        ("custody NO", "NO"),  # Norway
        ("custody US", "US"),
        ("stablecoins in kz", "KZ"),  # lower case "in" is the preposition
        ("tax in Kazakhstan", "KZ"),
        ("is it legal to trade in Kazakhstan", "KZ"),
        ("custody for us in Germany", "DE"),
        ("custody IN KZ", "KZ"),  # a capitalised word-code gives way to a real jurisdiction
        ("STABLECOIN IN KZ", "KZ"),  # all-caps queries too
        ("VAT Kazakhstan", "KZ"),
        ("taxes and VAT in KZ", "KZ"),
    ],
)
def test_code_collisions_with_english_words(query, code):
    assert parse_scope(query).jurisdiction == code


@pytest.mark.parametrize("query", ["stablecoin in", "custody it", "tax to", "mining us"])
def test_lowercase_english_word_is_not_a_country(query):
    err = _error(query)
    assert "jurisdiction" in err.message


def test_upper_case_english_code_falls_back_to_its_word():
    # VAT (Vatican) in capitals beside a real country reads as the tax word.
    assert parse_scope("VAT Kazakhstan").topics == ("tax",)


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "   ", "\n\t", "?!", "\x00", "--- ..."])
def test_empty_query(query):
    err = _error(query)
    assert "topic and a jurisdiction" in err.message
    assert "stablecoin" in _suggestions(err)


def test_overlong_query():
    err = _error("stablecoin KZ " + "x" * MAX_QUERY_CHARS)
    assert str(MAX_QUERY_CHARS) in err.message


def test_query_at_the_length_limit_is_fine():
    query = "stablecoin " + " ".join(["in"] * 60) + " KZ"
    query = query[: MAX_QUERY_CHARS - 3] + " KZ"
    assert len(query) <= MAX_QUERY_CHARS
    assert parse_scope(query).jurisdiction == "KZ"


def test_no_jurisdiction():
    err = _error("stablecoin")
    assert "jurisdiction" in err.message
    assert '"stablecoin"' in err.message
    assert "Kazakhstan" in err.message  # tells the user what a jurisdiction looks like


@pytest.mark.parametrize(
    ("query", "unknown", "suggestion"),
    [
        ("stablecoin Kazakstan", "Kazakstan", "Kazakhstan"),
        ("custody Kazahkstan", "Kazahkstan", "Kazakhstan"),
        ("custody Germny", "Germny", "Germany"),
        ("custody Unted Kingdom", "Unted Kingdom", "United Kingdom"),
        ("custody Singapur", "Singapur", "Singapore"),
    ],
)
def test_misspelt_jurisdiction_suggests_the_country(query, unknown, suggestion):
    err = _error(query)
    assert f'"{unknown}"' in err.message
    assert f'Did you mean "{suggestion}" instead of "{unknown}"?' in err.suggestions
    assert any(s.startswith("Try ") and suggestion in s for s in err.suggestions)


def test_misspelt_topic_and_jurisdiction_are_both_corrected():
    err = _error("stablecion Kazakstan")
    assert 'Try "stablecoin Kazakhstan".' in err.suggestions


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("stablecoin Kazakhstan Germany", ("Kazakhstan", "Germany")),
        ("stablecoin KZ and DE", ("Kazakhstan", "Germany")),
        ("custody AIFC Singapore", ("Kazakhstan", "Singapore")),
        ("custody EU France UK", ("European Union", "France", "United Kingdom")),
        ("custody IN US", ("India", "United States")),
    ],
)
def test_two_jurisdictions_are_ambiguous(query, names):
    err = _error(query)
    assert "ambiguous" in err.message
    assert "one jurisdiction at a time" in err.message
    for name in names:
        assert name in err.message


def test_ambiguous_message_matches_the_brief():
    err = _error("stablecoin Kazakhstan Germany")
    assert "ambiguous: found Kazakhstan and Germany; run one jurisdiction at a time" in err.message
    assert err.suggestions == ['"stablecoin Kazakhstan"', '"stablecoin Germany"']


def test_two_regimes_in_one_country_are_ambiguous():
    err = _error("custody DIFC ADGM")
    assert "DIFC" in err.message and "ADGM" in err.message
    assert "ambiguous" in err.message


def test_same_jurisdiction_twice_is_fine():
    assert parse_scope("KZ custody Kazakhstan").jurisdiction == "KZ"


def test_unknown_word_is_named_and_topics_listed():
    err = _error("stablecoin KZ flibber")
    assert '"flibber"' in err.message
    listed = _suggestions(err)
    for topic in TOPICS:
        assert topic in listed


@pytest.mark.parametrize(
    ("query", "typo", "fix"),
    [
        ("stablecion KZ", "stablecion", "stablecoin"),
        ("custdy KZ", "custdy", "custody"),
        ("licnsing KZ", "licnsing", "licensing"),
        ("exchnage KZ", "exchnage", "exchange"),
        ("reqirements custody KZ", "reqirements", "requirements"),
    ],
)
def test_topic_typo_suggests_the_word(query, typo, fix):
    err = _error(query)
    assert f'"{typo}"' in err.message
    assert f'Did you mean "{fix}" instead of "{typo}"?' in err.suggestions
    assert f'Try "{query.replace(typo, fix)}".' in err.suggestions
    assert "Supported topics:" in _suggestions(err)


def test_non_latin_word_is_reported_not_crashed():
    err = _error("payments Казахстан")
    assert "Казахстан" in err.message


@pytest.mark.parametrize(
    "query",
    ["", "x" * 500, "stablecoin", "stablecoin KZ flibber", "stablecoin\nKazakstan", "KZ DE", "\x00", "KZ\tflibber"],
)
def test_errors_are_one_clean_paragraph(query):
    err = _error(query)
    assert isinstance(err, ValueError)
    assert "Traceback" not in err.message
    assert "\n" not in err.message
    assert str(err) == err.message
    assert err.suggestions and all(isinstance(s, str) and s for s in err.suggestions)


def test_importing_scope_does_not_import_pycountry():
    import subprocess
    import sys

    code = "import sys, agent.scope; print('pycountry' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("query", "topics", "code", "hint"),
    [
        ("what licence do I need to run a crypto exchange in Astana?", ("licensing", "exchange"), "KZ", "AIFC"),
        ("custody Almaty", ("custody",), "KZ", None),
        ("MiCA stablecoin", ("stablecoin",), "EU", None),
        ("stablecoins under the Markets in Crypto-Assets Regulation", ("stablecoin",), "EU", None),
        ("travel rule under the TFR", ("aml_ctf",), "EU", None),
        ("exchange UAE", ("exchange",), "AE", None),
        ("custody Dubai", ("custody",), "AE", "VARA"),
        ("FSRA custody", ("custody",), "AE", "ADGM"),
        ("licensing with the DFSA", ("licensing",), "AE", "DIFC"),
        ("stablecoin under the CBUAE", ("stablecoin",), "AE", "federal"),
        ("payments Abu Dhabi", ("payments",), "AE", None),
        ("exchange licensing National Bank of Kazakhstan", ("exchange", "licensing"), "KZ", "national"),
    ],
)
def test_laws_regulators_cities_and_whole_questions(query, topics, code, hint):
    scope = parse_scope(query)
    assert (scope.topics, scope.jurisdiction, scope.regime_hint) == (topics, code, hint)
    assert scope.notes == ()


@pytest.mark.parametrize(
    ("query", "topics", "word"),
    [
        ("staking Kazakhstan", ("custody", "retail_trading"), "staking"),
        ("DeFi KZ", ("regulatory_status", "exchange"), "DeFi"),
        ("NFT marketplace UAE", ("regulatory_status",), "NFT marketplace"),
        ("crypto lending in the DIFC", ("custody", "retail_trading"), "crypto lending"),
        ("ICO EU", ("regulatory_status", "licensing"), "ICO"),
    ],
)
def test_subjects_without_a_topic_map_to_the_nearest_and_say_so(query, topics, word):
    scope = parse_scope(query)
    assert scope.topics == topics
    assert len(scope.notes) == 1 and scope.notes[0].startswith(f'"{word}" has no topic of its own')


def test_unknown_input_still_fails_with_suggestions():
    with pytest.raises(ScopeError) as err:
        parse_scope("stakng Kazakstan")
    assert err.value.suggestions



def test_the_report_says_how_a_subject_without_a_topic_was_read(isolated):
    from tests.test_drafts import run

    report = run("staking Kazakhstan", isolated)
    md = next((isolated / "out" / "reports").glob("*/report.md")).read_text(encoding="utf-8")
    opening = md.split("# Requirements")[0]
    assert 'How the query was read: "staking" has no topic of its own' in opening
    assert set(report.run.scope.topics) == {"custody", "retail_trading"}
