"""Message text to safe HTML: a small Markdown (bold, italic, links, inline code, lists, line
breaks) for the widget and the operator panel.

Two layers, each enough on its own for the common attacks:

1. markdown-it with raw HTML off: whatever looks like a tag in the text is escaped and shown
   as text (`<script>` becomes `&lt;script&gt;`); only the few rules enabled below produce
   markup — no images, no headings, no tables; `javascript:`/`data:` links are refused.
2. nh3 (ammonia) cleans the result with a small allow-list of tags and attributes and only
   http/https/mailto/tel links, which also catches anything the first layer might let through.

Emoji and any other Unicode pass through untouched. `text` stays as typed in the database; the
HTML is derived on the way out, so a change of these rules applies to old messages too.
"""

from __future__ import annotations

import re
from functools import cache

import nh3
from markdown_it import MarkdownIt

#: The tags a message may contain after rendering.
ALLOWED_TAGS = frozenset({"p", "br", "strong", "em", "a", "code", "pre", "ul", "ol", "li"})
#: Link schemes a message may point to (relative links are dropped).
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
LINK_REL = "nofollow noopener noreferrer"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


@cache
def _parser() -> MarkdownIt:
    # "zero" enables nothing; each rule a message may use is switched on by name.
    parser = _Parser("zero", {"html": False, "linkify": True, "breaks": True, "typographer": False})
    parser.enable(["paragraph", "list", "fence"])  # block rules
    # No "entity": `&lt;` typed in a message is shown as typed, not turned into `<`.
    parser.enable(["emphasis", "link", "autolink", "backticks", "escape", "newline"])
    parser.enable(["linkify"])  # core rule: bare URLs, www.… and e-mail addresses become links
    return parser


class _Parser(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        """A link whose target is not absolute with an allowed scheme stays text, as typed."""
        match = _SCHEME.match(url.strip())
        return match is not None and match.group(1).lower() in ALLOWED_SCHEMES


@cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        # "*" empty: none of ammonia's generic attributes (title, lang) either; an ordered
        # list keeps its first number ("2024. …" is not renumbered to 1).
        attributes={"*": set(), "a": {"href"}, "ol": {"start"}},
        link_rel=LINK_REL,
        set_tag_attribute_values={"a": {"target": "_blank"}},
        url_schemes=set(ALLOWED_SCHEMES),
        url_relative="deny",
        strip_comments=True,
    )


def render(text: str) -> str:
    """Safe HTML of a message's text (empty for an empty text)."""
    if not text.strip():
        return ""
    html = _parser().render(text)
    return _cleaner().clean(html).strip()
