"""Message formatting: a small Markdown to safe HTML, hostile input shown as text."""

from __future__ import annotations

import re

import pytest

from switchboard.messenger.formatting import render

REL = 'target="_blank" rel="nofollow noopener noreferrer"'


def test_bold_italic_and_emoji() -> None:
    assert render("**жирный** и *курсив* 😀👍🏽") == (
        "<p><strong>жирный</strong> и <em>курсив</em> 😀👍🏽</p>"
    )


def test_single_newline_is_a_line_break_and_blank_line_a_paragraph() -> None:
    assert render("строка 1\nстрока 2\n\nабзац") == "<p>строка 1<br>\nстрока 2</p>\n<p>абзац</p>"


def test_links_markdown_and_bare() -> None:
    assert render("[сайт](https://example.com/a)") == (
        f'<p><a href="https://example.com/a" {REL}>сайт</a></p>'
    )
    assert render("см. https://example.com/a?b=1&c=2 тут") == (
        f'<p>см. <a href="https://example.com/a?b=1&amp;c=2" {REL}>'
        "https://example.com/a?b=1&amp;c=2</a> тут</p>"
    )
    assert render("www.example.com") == (
        f'<p><a href="http://www.example.com" {REL}>www.example.com</a></p>'
    )
    assert render("пишите a@b.ru") == f'<p>пишите <a href="mailto:a@b.ru" {REL}>a@b.ru</a></p>'
    assert render("[позвонить](tel:+79990000000)") == (
        f'<p><a href="tel:+79990000000" {REL}>позвонить</a></p>'
    )


def test_inline_code_lists_and_fences() -> None:
    assert render("`x <b>`") == "<p><code>x &lt;b&gt;</code></p>"
    assert render("- a\n- b") == "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"
    assert render("2024. Хороший год") == '<ol start="2024">\n<li>Хороший год</li>\n</ol>'
    assert render("```\n<b>x</b>\n```") == "<pre><code>&lt;b&gt;x&lt;/b&gt;\n</code></pre>"


def test_no_headings_quotes_or_indented_code() -> None:
    assert render("# заголовок") == "<p># заголовок</p>"
    assert render("> цитата") == "<p>&gt; цитата</p>"
    assert render("    отступ") == "<p>отступ</p>"


def test_empty_text_renders_empty() -> None:
    assert render("") == ""
    assert render("  \n ") == ""


def test_entities_are_shown_as_typed() -> None:
    assert render("&lt;b&gt; &amp; &#60;") == "<p>&amp;lt;b&amp;gt; &amp;amp; &amp;#60;</p>"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
        ("<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>"),
        ("**x**<b onmouseover=x>", "<p><strong>x</strong>&lt;b onmouseover=x&gt;</p>"),
        ("<style>body{}</style>", "<p>&lt;style&gt;body{}&lt;/style&gt;</p>"),
        ("<!-- comment -->", "<p>&lt;!-- comment --&gt;</p>"),
    ],
)
def test_raw_html_is_text(text: str, shown: str) -> None:
    assert render(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x]( javascript:alert(1))",
        "[x](java\tscript:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](file:///etc/passwd)",
        "[x](/admin)",
        "[x](//evil.example/)",
        "<javascript:alert(1)>",
        "javascript:alert(1)",
    ],
)
def test_dangerous_or_relative_links_stay_text(text: str) -> None:
    html = render(text)
    assert "<a" not in html
    assert "href" not in html


def test_attribute_injection_in_a_link_target() -> None:
    html = render('[a](https://e.com" onclick="alert(1))')
    assert "onclick=" not in re.sub(r">[^<]*<", "><", html)  # not as an attribute
    for tag in re.findall(r"<a [^>]*>", html):
        assert tag == f'<a href="https://e.com" {REL}>'
    title = render('[a](https://e.com "a title")')
    assert title == f'<p><a href="https://e.com" {REL}>a</a></p>'  # no title attribute


def test_markdown_image_is_never_an_img() -> None:
    html = render("![котик](https://example.com/cat.png)")
    assert "<img" not in html
    assert html == f'<p>!<a href="https://example.com/cat.png" {REL}>котик</a></p>'
    assert "<img" not in render('![x](javascript:alert(1) "t")')


def test_only_allowed_tags_come_out() -> None:
    texts = [
        "**a** *b* `c` [d](https://e.ru) https://f.ru\n- g\n1. h\n```\ni\n```",
        "<div><iframe src=https://x></iframe><svg onload=alert(1)></svg></div>",
        "<a href='javascript:alert(1)'>x</a>",
    ]
    allowed = {"p", "br", "strong", "em", "a", "code", "pre", "ul", "ol", "li"}
    for text in texts:
        tags = set(re.findall(r"</?([a-zA-Z0-9]+)", render(text)))
        assert tags <= allowed, (text, tags)
