"""Parse modes as Telegram applies them: properties over any text, and the subtle cases."""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.sandbox.telegram import BotApiError, format_text
from switchboard.sandbox.telegram.formatting import parse_html, parse_markdown_v2, utf16_length

MARKDOWN_V2_SPECIAL = set("_*[]()~`>#+-=|{}.!\\")


def escape_markdown_v2(text: str) -> str:
    return "".join("\\" + char if char in MARKDOWN_V2_SPECIAL else char for char in text)


@given(st.text())
def test_escaped_html_is_the_text_itself(text: str) -> None:
    assert parse_html(html.escape(text, quote=False)) == (text, [])


@given(st.text())
def test_escaped_markdown_v2_is_the_text_itself(text: str) -> None:
    plain, entities = parse_markdown_v2(escape_markdown_v2(text))
    assert plain == text
    assert entities == []


@given(st.text(min_size=1))
def test_entity_lengths_count_utf16_units(text: str) -> None:
    _, [bold] = parse_html(f"x<b>{html.escape(text, quote=False)}</b>")
    assert (bold.type, bold.offset, bold.length) == ("bold", 1, utf16_length(text))
    _, [italic] = parse_markdown_v2(f"x_{escape_markdown_v2(text)}_")
    assert (italic.type, italic.offset, italic.length) == ("italic", 1, utf16_length(text))


def test_utf16_lengths() -> None:
    assert utf16_length("abc") == 3
    assert utf16_length("Звонок") == 6
    assert utf16_length("📞") == 2


@pytest.mark.parametrize(
    ("text", "mode", "plain", "entities"),
    [
        (
            "*bold _italic_ bold*",
            "MarkdownV2",
            "bold italic bold",
            [
                {"offset": 0, "length": 16, "type": "bold"},
                {"offset": 5, "length": 6, "type": "italic"},
            ],
        ),
        (
            "```python\nprint(1)\n```",
            "MarkdownV2",
            "print(1)",
            [{"offset": 0, "length": 8, "type": "pre", "language": "python"}],
        ),
        (
            '<pre><code class="language-sql">select 1</code></pre>',
            "HTML",
            "select 1",
            [{"offset": 0, "length": 8, "type": "pre", "language": "sql"}],
        ),
        (
            "**>quoted\n>more||",
            "MarkdownV2",
            "quoted\nmore",
            [{"offset": 0, "length": 11, "type": "expandable_blockquote"}],
        ),
        (
            "<blockquote expandable>q</blockquote> <tg-spoiler>s</tg-spoiler> <s>x</s> <u>y</u>",
            "HTML",
            "q s x y",
            [
                {"offset": 0, "length": 1, "type": "expandable_blockquote"},
                {"offset": 2, "length": 1, "type": "spoiler"},
                {"offset": 4, "length": 1, "type": "strikethrough"},
                {"offset": 6, "length": 1, "type": "underline"},
            ],
        ),
        (
            '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
            "HTML",
            "👍",
            [
                {
                    "offset": 0,
                    "length": 2,
                    "type": "custom_emoji",
                    "custom_emoji_id": "5368324170671202286",
                }
            ],
        ),
        (
            '<a href="tg://user?id=42">Ann</a>',
            "HTML",
            "Ann",
            [
                {
                    "offset": 0,
                    "length": 3,
                    "type": "text_mention",
                    "user": {"id": 42, "is_bot": False, "first_name": ""},
                }
            ],
        ),
        (
            "[x](https://a.example/p\\)q)",
            "MarkdownV2",
            "x",
            [{"offset": 0, "length": 1, "type": "text_link", "url": "https://a.example/p)q"}],
        ),
        ("<b>x</>", "HTML", "x", [{"offset": 0, "length": 1, "type": "bold"}]),
        # Trailing whitespace goes; leading whitespace stays when an entity starts there.
        ("<pre>  x  </pre>  ", "HTML", "  x", [{"offset": 0, "length": 3, "type": "pre"}]),
        ("  <b>x</b>", "HTML", "x", [{"offset": 0, "length": 1, "type": "bold"}]),
    ],
)
def test_formatting_cases(text: str, mode: str, plain: str, entities: list[object]) -> None:
    formatted = format_text(text, mode)
    assert formatted.text == plain
    assert list(formatted.entities) == entities


@pytest.mark.parametrize(
    ("text", "mode", "problem"),
    [
        ("a ||b", "MarkdownV2", "Can't find end of Spoiler entity at byte offset 2"),
        (
            "a | b",
            "MarkdownV2",
            "Character '|' is reserved and must be escaped with the preceding '\\'",
        ),
        (
            "x >y",
            "MarkdownV2",
            "Character '>' is reserved and must be escaped with the preceding '\\'",
        ),
        ("[a](http://x", "MarkdownV2", "Can't find end of a URL at byte offset 4"),
        ("![a](http://x)", "MarkdownV2", "Invalid tg://emoji or tg://time URL specified"),
        ("<a href=tg://user?id=1>x</a>", "HTML", "Unexpected end of name token at byte offset 8"),
        ("<b >x</ b>", "HTML", "Unclosed end tag at byte offset 5"),
        ('<a href="x', "HTML", "Unclosed start tag at byte offset 0"),
        ("<b", "HTML", "Unclosed start tag at byte offset 0"),
        ("<tg-emoji emoji-id=0>x</tg-emoji>", "HTML", "Invalid custom emoji identifier specified"),
        (
            "&#xD800;",
            "HTML",
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units",
        ),
    ],
)
def test_formatting_errors(text: str, mode: str, problem: str) -> None:
    with pytest.raises(BotApiError) as caught:
        format_text(text, mode)
    assert caught.value.code == 400
    assert caught.value.description == f"Bad Request: can't parse entities: {problem}"
