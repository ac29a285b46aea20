"""What the emulator reads of a SOAP request without answering it: the operation it names,
the body with its signature redacted, and the form recorded requests are matched by."""

from __future__ import annotations

import re

from lxml import etree

from mktows.soap import schema

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_SIGNATURE = re.compile(rb"(<(?:[\w.-]+:)?requestSignature\b[^>]*>)[^<]*(</)")
# an xsd:dateTime or xsd:date, the values that change from one run of a test to the next
_TIMESTAMP = re.compile(r"^\s*\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?\s*$")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True, huge_tree=False)


def redact(body: bytes) -> bytes:
    """The body with the text of every `requestSignature` replaced by REDACTED."""
    return _SIGNATURE.sub(rb"\1REDACTED\2", body)


def _envelope(body: bytes) -> etree._Element | None:
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError:
        return None
    return root if root.tag == f"{{{SOAP_ENV}}}Envelope" else None


def operation_name(body: bytes) -> str | None:
    """The operation a SOAP request names (`getLead`), or None when it names none we know."""
    root = _envelope(body)
    element = None if root is None else root.find(f"{{{SOAP_ENV}}}Body")
    if element is None or len(element) == 0:
        return None
    name = etree.QName(element[0]).localname
    operation = schema.OPERATIONS_BY_ELEMENT.get(name)
    return operation.name if operation is not None else None


def match_key(body: bytes) -> str | None:
    """The request in the form recordings are matched by: canonical XML of its headers (the
    AuthenticationHeader left out) and body, with dates and times blanked. None: not SOAP."""
    root = _envelope(body)
    if root is None:
        return None
    header = root.find(f"{{{SOAP_ENV}}}Header")
    if header is not None:
        for child in list(header):
            if isinstance(child.tag, str) and etree.QName(child).localname == "AuthenticationHeader":
                header.remove(child)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.text is not None:
            element.text = "" if _TIMESTAMP.match(element.text) else element.text.strip()
        element.tail = None
    return bytes(etree.tostring(root, method="c14n")).decode()
