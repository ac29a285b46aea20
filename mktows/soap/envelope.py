"""Hardened parsing of a SOAP 1.1 request: no DTD, no entities, no network, size-limited."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from mktows import errors
from mktows.soap.schema import is_nil, local_name

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"

# libxml2 error codes for undecodable bytes and unknown/unsupported encodings -> 20018
_ENCODING_ERRORS = {31, 32, 81}
# An XML declaration readable as single bytes: a document really in UTF-16 or UTF-32 cannot hold one.
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_WIDE_ENCODINGS = ("UTF16", "UTF32", "UCS2", "UCS4")

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


@dataclass
class SoapRequest:
    headers: dict[str, etree._Element]  # by local name; nil headers count as absent
    body: etree._Element  # the one element inside Body


def parse_envelope(data: bytes) -> SoapRequest:
    if not data.strip():
        raise errors.RequestNotUnderstood("The request body is empty")
    _check_declared_encoding(data)
    try:
        root = etree.fromstring(data.lstrip(), _PARSER)
    except etree.XMLSyntaxError as exc:
        if exc.code in _ENCODING_ERRORS:
            raise errors.BadEncoding(f"The request's character encoding is invalid: {exc}") from None
        raise errors.RequestNotUnderstood(f"The request is not well-formed XML: {exc}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise errors.RequestNotUnderstood("Document type declarations are not accepted")
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise errors.RequestNotUnderstood("The request is not a SOAP 1.1 Envelope")
    headers: dict[str, etree._Element] = {}
    body: etree._Element | None = None
    for part in root:
        if part.tag == f"{{{SOAP_ENV}}}Header":
            for header in part:
                if isinstance(header.tag, str) and not is_nil(header) and len(header):
                    headers.setdefault(local_name(header), header)
        elif part.tag == f"{{{SOAP_ENV}}}Body":
            elements = [child for child in part if isinstance(child.tag, str)]
            if len(elements) > 1:
                raise errors.RequestNotUnderstood("The SOAP Body must hold exactly one operation element")
            body = elements[0] if elements else None
    if body is None:
        raise errors.RequestNotUnderstood("The SOAP Body holds no operation element")
    return SoapRequest(headers, body)


def _check_declared_encoding(data: bytes) -> None:
    """A declaration of UTF-16 or UTF-32 on bytes that are not: the parser would read noise."""
    found = _DECLARED_ENCODING.match(data)
    if found is not None:
        declared = found.group(1).decode("ascii")
        if declared.upper().replace("-", "").replace("_", "").startswith(_WIDE_ENCODINGS):
            raise errors.BadEncoding(f"The request declares encoding {declared} but its bytes are not {declared}")


def child_text(node: etree._Element, name: str) -> str | None:
    """Text of the first child called `name` (any namespace), None when absent or nil."""
    for child in node:
        if isinstance(child.tag, str) and local_name(child) == name and not is_nil(child):
            return child.text or ""
    return None
