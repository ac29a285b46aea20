"""Decode requests and encode responses from the one type description in `types.py`.

Input is lenient, as real clients need: any namespace on children, any order, `xsi:type` resolved
through in-scope prefixes or inferred, nil or empty optional elements read as "not given",
names matched ignoring case, unknown and repeated children ignored. What is ignored or matched
only by ignoring case is reported to the call's `IgnoredInput` (see `ignored.py`). Output is
strict: schema order, unqualified children, the nil and empty-element rules of the endpoint's
version; carriage returns written as references.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from lxml import etree

from mktows import errors
from mktows.engine.lists.members import CLEAR_LIST
from mktows.engine.timestamps import DateOutOfRange, parse_datetime
from mktows.soap import types
from mktows.soap.ignored import DUPLICATE_ELEMENT, MISCASED_ELEMENT, UNKNOWN_ELEMENT, IgnoredInput
from mktows.soap.schema_model import VERSIONS, Element, EnumType, Operation, StructType, version_index

TNS = "http://www.marketo.com/mktows/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSI_NIL = f"{{{XSI}}}nil"
XSI_TYPE = f"{{{XSI}}}type"

ENUMS: dict[str, EnumType] = {t.name: t for t in types.SIMPLE_TYPES}
STRUCTS: dict[str, StructType] = {t.name: t for t in types.COMPLEX_TYPES}
OPERATIONS: dict[str, Operation] = {o.name: o for o in types.OPERATIONS}
OPERATIONS_BY_ELEMENT: dict[str, Operation] = {o.request_element: o for o in types.OPERATIONS}

# Which fault a bad enumeration value gets (everything else: 20110 Bad Parameter).
ENUM_ERRORS: dict[str, type[errors.MarketoError]] = {
    "LeadKeyRef": errors.LeadKeyBad,
    "ActivityType": errors.ActivityKeyBad,
}
# Values accepted on input although never advertised (old JAXB stubs send them), with the last version.
EXTRA_INPUT_VALUES: dict[str, tuple[tuple[str, ...], str]] = {
    "ListOperationType": ((CLEAR_LIST,), "2_2"),
}
# Other names accepted for an element on input (the names the vendor's docs used).
INPUT_ALIASES: dict[tuple[str, str], tuple[str, ...]] = {
    ("ActivityTypeFilter", "includeTypes"): ("includeAttributes",),
    ("ActivityTypeFilter", "excludeTypes"): ("excludeAttributes",),
}
# Required elements whose absence is not a 20017: either a specific fault or a default.
MISSING_REQUIRED: dict[tuple[str, str], type[errors.MarketoError] | tuple[Any]] = {
    ("ParamsGetLead", "leadKey"): errors.LeadKeyRequired,
    ("ParamsGetLeadActivity", "leadKey"): errors.LeadKeyRequired,
    ("LeadKey", "keyType"): errors.LeadKeyRequired,
    ("LeadKey", "keyValue"): errors.LeadKeyRequired,
    ("ParamsSyncLead", "leadRecord"): errors.LeadDetailRequired,
    ("ParamsSyncLead", "returnLead"): (False,),
    ("ParamsSyncMultipleLeads", "leadRecordList"): errors.LeadDetailRequired,
    ("ParamsImportToList", "clearList"): (False,),
    ("ParamsImportToList", "campaignName"): (None,),
    ("ParamsGetCustomObjects", "includeAttributes"): ([],),
}


def local_name(node: etree._Element) -> str:
    tag = node.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def is_nil(node: etree._Element) -> bool:
    return node.get(XSI_NIL, "").strip().lower() in ("true", "1")


def fields_of(struct_name: str, version: str | None) -> tuple[Element, ...]:
    """The elements of a struct (base first) in `version`, or the union of all versions."""
    return _fields_of(struct_name, version)


@cache
def _fields_of(struct_name: str, version: str | None) -> tuple[Element, ...]:
    struct = STRUCTS[struct_name]
    own = struct.fields if version is None else tuple(f for f in struct.fields if f.in_version(version))
    if version is None:  # union: first definition of each name wins
        seen: set[str] = set()
        own = tuple(f for f in own if not (f.name in seen or seen.add(f.name)))  # type: ignore[func-returns-value]
    base = _fields_of(struct.base, version) if struct.base else ()
    return base + own


@cache
def _decode_plan(struct_name: str) -> tuple[tuple[Element, tuple[str, ...], tuple[str, ...]], ...]:
    """Each field a request may give for a struct (any version), with the element names it is
    read from (its own name, then aliases) as sent and folded to lower case."""
    plan = []
    for field in fields_of(struct_name, None):
        names = (field.name, *INPUT_ALIASES.get((struct_name, field.name), ()))
        plan.append((field, names, tuple(n.lower() for n in names)))
    return tuple(plan)


def subtypes_of(abstract: str) -> list[StructType]:
    return [s for s in STRUCTS.values() if s.base == abstract]


# --------------------------------------------------------------------------- decoding


def _decode_builtin(type_: str, text: str, path: str) -> Any:
    value = text.strip()
    try:
        if type_ in ("xs:int", "xs:long"):
            return int(value)
        if type_ == "xs:boolean":
            lowered = value.lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0"):
                return False
            raise ValueError(value)
        if type_ == "xs:dateTime":
            return parse_datetime(value)
    except DateOutOfRange:
        raise errors.BadParameter(f"Element {path} is out of range: {value!r}") from None
    except ValueError:
        kind = type_.removeprefix("xs:")
        raise errors.InvalidRequest(f"Element {path} is not a valid {kind}: {value!r}") from None
    return text  # xs:string, xs:anySimpleType: kept exactly as sent


def _flat_structs() -> dict[str, dict[str, Element]]:
    """Concrete structs whose fields are all single scalars, with those fields by name."""
    flat: dict[str, dict[str, Element]] = {}
    for name, struct in STRUCTS.items():
        if struct.abstract or struct.base or struct.array_item is not None:
            continue
        fields = fields_of(name, None)
        if fields and all(not f.many and f.builtin for f in fields):
            flat[name] = {f.name: f for f in fields}
    return flat


_FLAT_STRUCTS = _flat_structs()


# The notes of the request being decoded (the decoders are shared by every thread and call).
_NOTES: ContextVar[IgnoredInput | None] = ContextVar("mktows_decoder_notes", default=None)


def _note(kind: str, path: str, detail: str) -> None:
    notes = _NOTES.get()
    if notes is not None:
        notes.add(kind, path, detail)


def _note_unused(path: str, node: etree._Element, used: set[str], known: set[str]) -> None:
    """Report the element children of `node` that decoding did not read."""
    for child in node:
        if isinstance(child.tag, str):
            name = local_name(child)
            if name not in used:
                if name.lower() in known:
                    _note(DUPLICATE_ELEMENT, f"{path}/{name}", f"Repeated element {name} ignored")
                else:
                    _note(UNKNOWN_ELEMENT, f"{path}/{name}", f"Unknown element {name} ignored")


class Decoder:
    """Reads a request body element into plain Python values (dicts, lists, scalars)."""

    def __init__(self, version: str) -> None:
        self.version = version

    def params(self, operation: Operation, node: etree._Element, notes: IgnoredInput | None = None) -> dict[str, Any]:
        """The operation's parameters; what the request held but decoding did not use goes to `notes`."""
        token = _NOTES.set(notes)
        try:
            decoded: dict[str, Any] = self.struct(operation.request_type, node, operation.request_element)
        finally:
            _NOTES.reset(token)
        return decoded

    def struct(self, struct_name: str, node: etree._Element, path: str) -> Any:
        struct = STRUCTS[struct_name]
        if struct.abstract:
            struct = self._concrete_type(struct, node, path)
        item = struct.array_item
        if item is not None:
            items, odd = self._items(node, item.name)
            if odd and _NOTES.get() is not None:
                self._note_items(node, item.name, path)
            item_path = f"{path}/{item.name}"
            if item.type in _FLAT_STRUCTS:  # a lead's attributes: thousands a call, read directly
                return [
                    self._flat_struct(item.type, c, item_path) or self.value(item, c, item_path)
                    if c.get(XSI_NIL) is None
                    else self.value(item, c, item_path)
                    for c in items
                ]
            return [self.value(item, c, item_path) for c in items]
        if struct.name in _FLAT_STRUCTS:
            simple = self._flat_struct(struct.name, node, path)
            if simple is not None:
                return simple
        by_name: dict[str, list[etree._Element]] = {}
        for child in node:
            if isinstance(child.tag, str):
                by_name.setdefault(local_name(child), []).append(child)
        lowered: dict[str, str] | None = None
        used: set[str] = set()
        result: dict[str, Any] = {}
        if struct.base:
            result["__type__"] = struct.name
        for field, names, lower_names in _decode_plan(struct.name):
            sent = next((n for n in names if n in by_name), None)
            if sent is None and by_name:  # names are matched ignoring case, as lenient clients need
                if lowered is None:
                    lowered = {name.lower(): name for name in by_name}
                sent = next((found for n in lower_names if (found := lowered.get(n)) is not None), None)
                if sent is not None:
                    _note(MISCASED_ELEMENT, f"{path}/{sent}", f"Element {sent} read as {field.name}")
            nodes = by_name[sent] if sent is not None else None
            if sent is not None:
                used.add(sent)
            child_path = f"{path}/{field.name}"
            if field.many:
                result[field.name] = [self.value(field, n, child_path) for n in nodes or ()]
                continue
            if nodes and len(nodes) > 1:
                _note(
                    DUPLICATE_ELEMENT, child_path, f"Element {sent} given {len(nodes)} times; all but the first ignored"
                )
            value = self.value(field, nodes[0], child_path) if nodes else None
            if value is None and field.required:
                value = self._missing(struct.name, field, child_path)
            result[field.name] = value
        if len(used) < len(by_name):
            _note_unused(path, node, used, {n for _, _, lower_names in _decode_plan(struct.name) for n in lower_names})
        return result

    @staticmethod
    def _items(node: etree._Element, item_name: str) -> tuple[list[etree._Element], bool]:
        """An array's items (named in any case), and whether any child was not an item spelt
        exactly so; one pass, as arrays hold thousands of items."""
        wanted = item_name.lower()
        items: list[etree._Element] = []
        odd = False
        for child in node:
            tag = child.tag
            if tag.__class__ is not str:
                continue
            name = tag.rpartition("}")[2]
            if name == item_name:
                items.append(child)
            else:
                odd = True
                if name.lower() == wanted:
                    items.append(child)
        return items, odd

    def _note_items(self, node: etree._Element, item_name: str, path: str) -> None:
        """Report the children of an array that are not its items, and items spelt in another case."""
        for child in node:
            if isinstance(child.tag, str):
                name = local_name(child)
                if name == item_name:
                    continue
                if name.lower() == item_name.lower():
                    _note(MISCASED_ELEMENT, f"{path}/{name}", f"Element {name} read as {item_name}")
                else:
                    _note(UNKNOWN_ELEMENT, f"{path}/{name}", f"Unknown element {name} ignored")

    def _flat_struct(self, struct_name: str, node: etree._Element, path: str) -> dict[str, Any] | None:
        """A struct of single scalars (a lead attribute, say) whose children carry the schema's
        own names, each once: read in one pass, as `struct` would. Any other shape (aliases,
        other spellings, repeats, unknown children) returns None for `struct` to read."""
        fields = _FLAT_STRUCTS[struct_name]
        found: dict[str, etree._Element] = {}
        for child in node:
            tag = child.tag
            if tag.__class__ is not str:
                continue
            name = tag.rpartition("}")[2]
            if name not in fields or name in found:
                return None
            found[name] = child
        result: dict[str, Any] = {}
        for name, field in fields.items():
            child = found.get(name)
            if child is None:
                value = None
            elif field.type == "xs:string" and child.text and child.get(XSI_NIL) is None:
                value = child.text  # what `value` gives a string with text, kept exactly as sent
            else:
                value = self.value(field, child, f"{path}/{name}")
            if value is None and field.required:
                value = self._missing(struct_name, field, f"{path}/{name}")
            result[name] = value
        return result

    def _missing(self, struct_name: str, field: Element, path: str) -> Any:
        rule = MISSING_REQUIRED.get((struct_name, field.name))
        if isinstance(rule, tuple):
            return rule[0]
        if rule is not None:
            raise rule(f"Required element {path} is missing")
        raise errors.InvalidRequest(f"Required element {path} is missing")

    def value(self, field: Element, node: etree._Element, path: str) -> Any:
        if node.get(XSI_NIL) is not None and is_nil(node):
            return None
        if field.builtin:
            if len(node):
                _note_unused(path, node, set(), set())
            text = node.text or ""
            if text == "" and not any(isinstance(c.tag, str) for c in node):
                # empty optional elements mean "not given"; a required string may be empty
                return "" if field.type == "xs:string" and field.required else None
            return _decode_builtin(field.type, text, path)
        if field.type in ENUMS:
            text = (node.text or "").strip()
            return self.enum_value(ENUMS[field.type], text, path) if text else None
        return self.struct(field.type, node, path)

    def enum_value(self, enum: EnumType, text: str, path: str) -> str:
        if text in enum.values:
            return text
        extra, last_version = EXTRA_INPUT_VALUES.get(enum.name, ((), VERSIONS[0]))
        if text in extra and version_index(self.version) <= version_index(last_version):
            return text
        error = ENUM_ERRORS.get(enum.name, errors.BadParameter)
        raise error(f"Element {path} has an invalid value {text!r}")

    def _concrete_type(self, abstract: StructType, node: etree._Element, path: str) -> StructType:
        candidates = subtypes_of(abstract.name)
        declared = node.get(XSI_TYPE)
        if declared:
            prefix, _, name = declared.strip().rpartition(":")
            namespace = node.nsmap.get(prefix or None)
            if namespace in (TNS, None) or not prefix:
                for candidate in candidates:
                    if candidate.name == name:
                        return candidate
        # no (usable) xsi:type: infer from the children present
        present = {local_name(c).lower() for c in node if isinstance(c.tag, str)}
        scored = [(len(present & {f.name.lower() for f in s.fields}), s) for s in candidates]
        best_score, best = max(scored, key=lambda pair: pair[0])
        if best_score == 0:
            raise errors.BadParameter(f"Element {path} does not name a {abstract.name} type")
        return best


# --------------------------------------------------------------------------- encoding

_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NEEDS_WORK = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# A raw carriage return would reach every client as a line feed (XML parsers normalize line
# ends in text), so it is written as a character reference and read back exactly as stored.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def escape(text: str) -> str:
    """Text content for XML: markup characters and carriage returns escaped, characters XML
    forbids dropped."""
    if _NEEDS_WORK.search(text) is None:
        return text
    return _ILLEGAL_XML.sub("", text.translate(_ESCAPES))


def format_datetime(value: datetime) -> str:
    """Numeric offset, no fraction, as in the vendor's samples (2013-07-09T16:44:28-05:00)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.replace(microsecond=0).isoformat()


def format_scalar(type_: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if type_ == "xs:dateTime" and isinstance(value, str):
        return value
    return str(value)


Writer = Callable[[list[str], Any], None]


class Encoder:
    """Writes plain Python values as XML text in the exact shape of one API version.

    Each (type, version) is turned once into a chain of small closures with their tags
    prebuilt, so writing a 1000-lead page does no schema lookups per element.
    """

    def __init__(self, version: str) -> None:
        self.version = version

    def response(self, operation: Operation, result: Any) -> bytes:
        wrapper = fields_of(operation.response_type, self.version)[0]
        parts: list[str] = [
            '<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope '
            'xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns:ns1="{TNS}" xmlns:xsi="{XSI}"><SOAP-ENV:Body>'
            f"<ns1:{operation.response_element}>"
        ]
        _element_writer(wrapper, self.version)(parts, result)
        parts.append(f"</ns1:{operation.response_element}></SOAP-ENV:Body></SOAP-ENV:Envelope>")
        return "".join(parts).encode("utf-8")


@cache
def _element_writer(field: Element, version: str) -> Writer:
    """Writes a field's value (None when absent): every item of a repeated field, else one
    element, `xsi:nil` or an empty element as the field's occurrence rules say."""
    write_item = _item_writer(field.name, field.type, version)
    if field.many:

        def write_many(out: list[str], value: Any) -> None:
            for item in value or ():
                write_item(out, item)

        return write_many
    absent = f'<{field.name} xsi:nil="true"/>' if field.nillable else f"<{field.name}/>" if field.required else ""

    def write_one(out: list[str], value: Any) -> None:
        if value is not None:
            write_item(out, value)
        elif absent:
            out.append(absent)

    return write_one


@cache
def _item_writer(name: str, type_: str, version: str) -> Writer:
    """Writes one element holding a (non-None) value of `type_`."""
    open_tag, close_tag = f"<{name}>", f"</{name}>"
    if type_ in STRUCTS:
        inner: list[Writer] = []  # resolved on first use: a type may contain itself

        def write_struct(out: list[str], value: Any) -> None:
            if not inner:
                inner.append(_struct_writer(type_, version))
            out.append(open_tag)
            inner[0](out, value)
            out.append(close_tag)

        return write_struct
    empty = f"<{name}/>"

    def write_scalar(out: list[str], value: Any) -> None:
        text = escape(value if value.__class__ is str else format_scalar(type_, value))
        out.append(f"{open_tag}{text}{close_tag}" if text else empty)

    return write_scalar


@cache
def _struct_writer(struct_name: str, version: str) -> Writer:
    """Writes a struct's children in schema order (or an array's items)."""
    fields, names, array_item = _plan(struct_name, version)
    if array_item is not None:
        write_entry = _item_writer(array_item.name, array_item.type, version)

        def write_array(out: list[str], value: Any) -> None:
            for entry in value:
                write_entry(out, entry)

        return write_array
    if _is_flat(fields):
        return _flat_struct_writer(struct_name, fields, names)
    writers = [(f.name, _element_writer(f, version)) for f in fields]

    def write_fields(out: list[str], value: Any) -> None:
        if not value.keys() <= names:
            unknown = sorted(set(value) - names)
            raise errors.ServiceLayerError(f"{struct_name} has no element {unknown}")
        get = value.get
        for field_name, write in writers:
            write(out, get(field_name))

    return write_fields


def _is_flat(fields: tuple[Element, ...]) -> bool:
    return bool(fields) and all(not f.many and f.type not in STRUCTS for f in fields)


def _flat_struct_writer(struct_name: str, fields: tuple[Element, ...], names: frozenset[str]) -> Writer:
    """A struct of single scalars (a lead attribute, say) written in one loop: the same XML as
    the general writers, without a call per element; pages hold thousands of these. Its value
    is a dict, or a tuple of its fields' values in schema order."""
    specs = [
        (
            f"<{f.name}>",
            f"</{f.name}>",
            f"<{f.name}/>",
            f'<{f.name} xsi:nil="true"/>' if f.nillable else f"<{f.name}/>" if f.required else "",
            f.type,
        )
        for f in fields
    ]
    order = [f.name for f in fields]
    needs_work = _NEEDS_WORK.search

    def write_flat(out: list[str], value: Any) -> None:
        if value.__class__ is dict:
            if not value.keys() <= names:
                unknown = sorted(set(value) - names)
                raise errors.ServiceLayerError(f"{struct_name} has no element {unknown}")
            value = [value.get(name) for name in order]
        elif len(value) != len(specs):
            raise errors.ServiceLayerError(f"{struct_name} takes {len(specs)} values, not {len(value)}")
        for (open_tag, close_tag, empty, absent, type_), item in zip(specs, value, strict=True):
            if item is None:
                if absent:
                    out.append(absent)
                continue
            text = item if item.__class__ is str else format_scalar(type_, item)
            if needs_work(text) is not None:
                text = escape(text)
            out.append(f"{open_tag}{text}{close_tag}" if text else empty)

    return write_flat


@cache
def _plan(struct_name: str, version: str) -> tuple[tuple[Element, ...], frozenset[str], Element | None]:
    """What the encoder needs per struct: its fields in `version`, every known name, array item."""
    known = frozenset(f.name for f in fields_of(struct_name, None))
    return fields_of(struct_name, version), known, STRUCTS[struct_name].array_item


@cache
def decoder(version: str) -> Decoder:
    return Decoder(version)


@cache
def encoder(version: str) -> Encoder:
    return Encoder(version)


def version_at_least(version: str, minimum: str) -> bool:
    return version_index(version) >= version_index(minimum)


def element_names(version: str, struct_name: str) -> set[str]:
    return {f.name for f in fields_of(struct_name, version)}
