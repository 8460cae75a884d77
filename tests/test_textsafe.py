"""Text crossing a trust boundary: names, policy text, input and URLs shown to people."""

from __future__ import annotations

from agent.textsafe import clean_text, printable, redact_url, valid_unicode


def test_printable_makes_terminal_escapes_visible_instead_of_active() -> None:
    shown = printable("AML\x1b[2J\x1b]0;owned\x07 policy\n\u202ecod.md")
    assert "\x1b" not in shown and "\x07" not in shown and "\n" not in shown and "\u202e" not in shown
    assert shown == "AML\\x1b[2J\\x1b]0;owned\\x07 policy\\n\\u202ecod.md"
    assert printable("Ordinary Policy — v2.md") == "Ordinary Policy — v2.md"


def test_clean_text_keeps_layout_and_drops_controls_and_bad_bytes() -> None:
    assert clean_text("a\tb\nc\x1b[31mred\x00\x9b") == "a\tb\nc[31mred"
    assert clean_text("caf\udce9") == "caf\ufffd"
    assert valid_unicode("ok ✓") == "ok ✓"


def test_redact_url_hides_credentials_and_keeps_the_rest() -> None:
    assert redact_url("https://bob:hunter2@llm.internal:8443/v1") == "https://***@llm.internal:8443/v1"
    assert redact_url("https://llm.example/v1?api-key=sk-123&deployment=x") == "https://llm.example/v1?api-key=***&deployment=x"
    assert redact_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    assert redact_url(None) is None
