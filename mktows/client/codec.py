"""XML <-> the generated dataclasses, driven only by each field's `xml(...)` metadata.

Requests are written the way the API wants them: the body element qualified, every
descendant unqualified, elements in schema order, an `xsi:type` where a field declared as an
abstract type (a `LeadSelector`) holds a subtype. Responses are read leniently: unknown
elements are skipped (a newer API version adds some), a missing or nil element is `None`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from lxml import etree

from mktows.client import types
from mktows.client.schema import TNS, XSI, XmlElement

T = TypeVar("T")
NIL = f"{{{XSI}}}nil"
XSI_TYPE = f"{{{XSI}}}type"
NSMAP = {"ns1": TNS, "xsi": XSI}
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_blank_text=False)


# -- writing


def format_scalar(value: object) -> str:
    """The lexical form of a value: `true`/`false`, ISO 8601 with an offset (a naive
    datetime is taken as UTC), numbers and strings as they are."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def encode(obj: object, element: str) -> etree._Element:
    """The request element `tns:{element}` holding `obj` (a generated dataclass)."""
    root = etree.Element(f"{{{TNS}}}{element}", nsmap=NSMAP)
    _fill(root, obj)
    return root


def _fill(parent: etree._Element, obj: object) -> None:
    for attr, spec in _slots(type(obj)):
        _put(parent, spec, getattr(obj, attr), type(obj).__name__, attr)


def _put(parent: etree._Element, spec: XmlElement, value: Any, owner: str, attr: str) -> None:
    if value is None:
        if spec.nillable and not spec.optional:
            etree.SubElement(parent, spec.name).set(NIL, "true")
        elif not spec.optional and not spec.many:
            raise ValueError(f"{owner}.{attr} ({spec.name}) is required")
        return
    if spec.many:
        for item in value:
            _put_items(parent, spec.name, spec.wrap, spec.type, item)
    else:
        _put_items(parent, spec.name, spec.wrap, spec.type, value)


def _put_items(parent: etree._Element, name: str, wrap: tuple[str, ...], xml_type: str, value: Any) -> None:
    if not wrap:
        _put_value(parent, name, xml_type, value)
        return
    wrapper = etree.SubElement(parent, name)
    for item in value:
        _put_items(wrapper, wrap[0], wrap[1:], xml_type, item)


def _put_value(parent: etree._Element, name: str, xml_type: str, value: Any) -> None:
    child = etree.SubElement(parent, name)
    if is_dataclass(value):
        if type(value).__name__ != xml_type:  # a subtype where the schema names its base
            child.set(XSI_TYPE, f"ns1:{type(value).__name__}")
        _fill(child, value)
    else:
        child.text = format_scalar(value)


# -- reading


def _parse_bool(text: str) -> bool:
    return text.strip().lower() in ("true", "1")


def parse_datetime(text: str) -> datetime:
    """ISO 8601 with `Z` or an offset (a value without one is taken as UTC)."""
    value = text.strip()
    parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


SCALAR_PARSERS: dict[str, Callable[[str], Any]] = {
    "xs:int": int,
    "xs:long": int,
    "xs:short": int,
    "xs:integer": int,
    "xs:boolean": _parse_bool,
    "xs:float": float,
    "xs:double": float,
    "xs:decimal": Decimal,
    "xs:dateTime": parse_datetime,
    "xs:date": date.fromisoformat,
    "xs:base64Binary": base64.b64decode,
}


def parse(content: bytes) -> etree._Element:
    return etree.fromstring(content, PARSER)


def decode(element: etree._Element, cls: type[T]) -> T:
    """A `cls` (generated dataclass) read from `element`; an `xsi:type` naming a subtype wins."""
    named = element.get(XSI_TYPE)
    if named is not None:
        subtype = types.TYPES.get(named.rpartition(":")[2])
        if subtype is not None and issubclass(subtype, cls):
            cls = subtype
    children: dict[str, list[etree._Element]] = {}
    for child in element:
        tag = child.tag
        if isinstance(tag, str):
            children.setdefault(tag.rpartition("}")[2], []).append(child)
    values: dict[str, Any] = {}
    for attr, spec in _slots(cls):
        found = children.get(spec.name)
        if spec.many:
            values[attr] = [_read_items(e, spec.wrap, spec.type) for e in found or ()]
        elif found:
            values[attr] = _read_items(found[0], spec.wrap, spec.type)
        else:
            values[attr] = None
    return cls(**values)


def _read_items(element: etree._Element, wrap: tuple[str, ...], xml_type: str) -> Any:
    if element.get(NIL) in ("true", "1"):
        return None
    if not wrap:
        return _read_value(element, xml_type)
    name, qualified = wrap[0], "}" + wrap[0]
    return [
        _read_items(child, wrap[1:], xml_type)
        for child in element
        if isinstance(child.tag, str) and (child.tag == name or child.tag.endswith(qualified))
    ]


def _read_value(element: etree._Element, xml_type: str) -> Any:
    cls = types.TYPES.get(xml_type)
    if cls is not None:
        return decode(element, cls)
    text = element.text or ""
    parser = SCALAR_PARSERS.get(xml_type)
    return text if parser is None else parser(text) if text.strip() else None


_SLOTS: dict[type, tuple[tuple[str, XmlElement], ...]] = {}


def _slots(cls: type) -> tuple[tuple[str, XmlElement], ...]:
    """(attribute, XML facts) of each field of a generated dataclass, in schema order."""
    slots = _SLOTS.get(cls)
    if slots is None:
        slots = _SLOTS[cls] = tuple((f.name, f.metadata["xml"]) for f in fields(cls) if "xml" in f.metadata)
    return slots
