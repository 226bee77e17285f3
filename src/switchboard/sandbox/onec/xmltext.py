"""A tiny XML writer: elements as strings, escaped, with the namespace prefixes OData uses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from xml.sax.saxutils import escape, quoteattr

ATOM_NS = "http://www.w3.org/2005/Atom"
DATA_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices"
METADATA_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
SCHEME = "http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"
RELATED = "http://schemas.microsoft.com/ado/2007/08/dataservices/related/"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def element(
    name: str,
    attributes: Mapping[str, str] | None = None,
    children: Iterable[str] = (),
    text: str | None = None,
) -> str:
    attrs = "".join(f" {key}={quoteattr(value)}" for key, value in (attributes or {}).items())
    inner = escape(text) if text is not None else "".join(children)
    if not inner:
        return f"<{name}{attrs}/>"
    return f"<{name}{attrs}>{inner}</{name}>"
