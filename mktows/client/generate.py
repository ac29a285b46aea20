"""Write `mktows/client/types.py` from a served WSDL:

    python -m mktows.client.generate http://127.0.0.1:8080/soap/mktows/2_9?WSDL > mktows/client/types.py

One frozen dataclass per complexType of the schema (snake_case fields, the XML facts in each
field's metadata), the enumerations' values, and the operation table read from the portType,
its messages and the binding. The output depends only on the schema, never on where it was
fetched, so a test can regenerate it from a running server and compare it with the committed
file.
"""

from __future__ import annotations

import keyword
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from lxml import etree

from mktows.client.schema import MIXINS

WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
XS = "http://www.w3.org/2001/XMLSchema"
LINE = 120  # the formatter's line length: longer field lines are written the way it splits them

SCALARS = {
    "xs:string": "str",
    "xs:anySimpleType": "str",
    "xs:int": "int",
    "xs:long": "int",
    "xs:short": "int",
    "xs:integer": "int",
    "xs:boolean": "bool",
    "xs:float": "float",
    "xs:double": "float",
    "xs:decimal": "Decimal",
    "xs:dateTime": "datetime",
    "xs:date": "date",
    "xs:base64Binary": "bytes",
}


@dataclass
class Elem:
    name: str
    type: str  # xs:... or a schema type name
    optional: bool
    many: bool
    nillable: bool


@dataclass
class Complex:
    name: str
    elements: list[Elem] = field(default_factory=list)
    base: str | None = None
    abstract: bool = False

    @property
    def array_item(self) -> Elem | None:
        """The item of an ArrayOf... wrapper (one repeated element, nothing else)."""
        if self.name.startswith("ArrayOf") and len(self.elements) == 1 and self.elements[0].many:
            return self.elements[0]
        return None


@dataclass
class Op:
    name: str
    request_element: str
    request_type: str
    response_element: str
    response_type: str
    context_header: bool
    documentation: str


@dataclass
class Schema:
    version: str | None
    enums: dict[str, list[str]]
    types: dict[str, Complex]
    operations: list[Op]


def snake(name: str) -> str:
    """`leadAttributeList` -> `lead_attribute_list`, `marketoGUID` -> `marketo_guid`, `Id` -> `id`."""
    words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", words).lower()
    return words + "_" if keyword.iskeyword(words) else words


def _type_name(qname: str) -> str:
    prefix, _, local = qname.rpartition(":")
    return f"xs:{local}" if prefix == "xs" or prefix == "xsd" else local


def read_wsdl(source: bytes) -> Schema:
    root = etree.fromstring(source, etree.XMLParser(resolve_entities=False, no_network=True))
    schema = root.find(f"{{{WSDL}}}types/{{{XS}}}schema")
    if schema is None:
        raise ValueError("the WSDL holds no xs:schema")
    enums: dict[str, list[str]] = {}
    types: dict[str, Complex] = {}
    for node in schema:
        if node.tag == f"{{{XS}}}simpleType":
            enums[node.get("name")] = [e.get("value") for e in node.iter(f"{{{XS}}}enumeration")]
        elif node.tag == f"{{{XS}}}complexType":
            complex_ = Complex(node.get("name"), abstract=node.get("abstract") == "true")
            extension = node.find(f"{{{XS}}}complexContent/{{{XS}}}extension")
            if extension is not None:
                complex_.base = _type_name(extension.get("base"))
            for e in node.iter(f"{{{XS}}}element"):
                complex_.elements.append(
                    Elem(
                        e.get("name"),
                        _type_name(e.get("type")),
                        optional=e.get("minOccurs", "1") == "0",
                        many=e.get("maxOccurs", "1") not in ("0", "1"),
                        nillable=e.get("nillable") == "true",
                    )
                )
            types[complex_.name] = complex_
    element_types = {e.get("name"): _type_name(e.get("type")) for e in schema.findall(f"{{{XS}}}element")}
    messages = {
        m.get("name"): _type_name(m.find(f"{{{WSDL}}}part").get("element")) for m in root.findall(f"{{{WSDL}}}message")
    }
    with_context = set()
    for binding_op in root.iterfind(f"{{{WSDL}}}binding/{{{WSDL}}}operation"):
        for header in binding_op.iterfind(f"{{{WSDL}}}input/{{{SOAP}}}header"):
            if header.get("part") == "mktowsContext":
                with_context.add(binding_op.get("name"))
    operations = []
    for op in root.iterfind(f"{{{WSDL}}}portType/{{{WSDL}}}operation"):
        request = messages[_type_name(op.find(f"{{{WSDL}}}input").get("message"))]
        response = messages[_type_name(op.find(f"{{{WSDL}}}output").get("message"))]
        operations.append(
            Op(
                op.get("name"),
                request,
                element_types[request],
                response,
                element_types[response],
                op.get("name") in with_context,
                " ".join((op.findtext(f"{{{WSDL}}}documentation") or "").split()),
            )
        )
    address = root.find(f".//{{{SOAP}}}address")
    found = re.search(r"/(\d+_\d+)/?$", address.get("location", "")) if address is not None else None
    return Schema(found.group(1) if found else None, enums, types, sorted(operations, key=lambda o: o.name))


# -- writing types.py


def q(text: str) -> str:
    """A string literal in the formatter's style (double quotes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _field_type(schema: Schema, elem: Elem) -> tuple[str, tuple[str, ...], str]:
    """(python annotation without Optional, wrap item names, innermost XML type)."""
    wrap: list[str] = []
    xml_type = elem.type
    item = schema.types[xml_type].array_item if xml_type in schema.types else None
    while item is not None:
        wrap.append(item.name)
        xml_type = item.type
        item = schema.types[xml_type].array_item if xml_type in schema.types else None
    base = SCALARS.get(xml_type) or ("str" if xml_type in schema.enums else xml_type)
    for _ in wrap:
        base = f"list[{base}]"
    if elem.many:
        base = f"list[{base}]"
    return base, tuple(wrap), xml_type


def _field_line(schema: Schema, elem: Elem) -> list[str]:
    annotation, wrap, xml_type = _field_type(schema, elem)
    flags = []
    if wrap:
        flags.append(f"wrap=({', '.join(q(w) for w in wrap)}{',' if len(wrap) == 1 else ''})")
    if elem.many:
        flags.append("many=True")
    if elem.optional:
        flags.append("optional=True")
    if elem.nillable:
        flags.append("nillable=True")
    xml_args = [q(elem.name), q(xml_type), *flags]
    metadata = f"xml({', '.join(xml_args)})"
    if elem.many:
        arguments = ["default_factory=list"]
    elif elem.optional or elem.nillable:
        annotation += " | None"
        arguments = ["default=None"]
    else:
        arguments = []
    head = f"    {snake(elem.name)}: {annotation} = field("
    line = head + ", ".join([*arguments, f"metadata={metadata}"]) + ")"
    if len(line) <= LINE:
        return [line]
    lines = [head, *(f"        {a}," for a in arguments)]
    if len(f"        metadata={metadata},") <= LINE:
        lines.append(f"        metadata={metadata},")
    else:  # split the way the formatter splits a call: the arguments on one line of their own
        lines += ["        metadata=xml(", f"            {', '.join(xml_args)}", "        ),"]
    return [*lines, "    )"]


def _ordered(types: dict[str, Complex]) -> list[Complex]:
    """Schema order, each base before the types that extend it."""
    done: dict[str, Complex] = {}

    def visit(c: Complex) -> None:
        if c.name in done:
            return
        if c.base in types:
            visit(types[c.base])
        done[c.name] = c

    for c in types.values():
        visit(c)
    return list(done.values())


def _scalar_imports(schema: Schema) -> list[str]:
    used = {SCALARS.get(_field_type(schema, e)[2]) for c in schema.types.values() for e in c.elements}
    dates = sorted(name for name in ("date", "datetime") if name in used)
    lines = [f"from datetime import {', '.join(dates)}"] if dates else []
    return lines + (["from decimal import Decimal"] if "Decimal" in used else [])


def render(schema: Schema) -> str:
    mixins = {name: mixin for name, mixin in MIXINS.items() if name in schema.types}
    version = f" {schema.version}" if schema.version else ""
    out = [
        f'"""Types of the Marketo SOAP API{version}: one frozen dataclass per complexType of the',
        "served WSDL's schema, the enumerations' values and the operation table.",
        "",
        "GENERATED by `python -m mktows.client.generate URL_OR_FILE > mktows/client/types.py`: do not edit;",
        "tests/test_client_generate.py regenerates it from a running server and fails when they differ.",
        "",
        "Fields are snake_case; the XML name of each is in its metadata (`dataclasses.fields`).",
        "`ArrayOf...` wrappers are plain lists. An optional or nillable element is `None` when absent.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass, field",
        *_scalar_imports(schema),
        "",
        "from mktows.client.schema import (",
        *(f"    {name}," for name in sorted({*mixins.values(), "Operation", "xml"})),
        ")",
        "",
        "ENUMS: dict[str, tuple[str, ...]] = {",
    ]
    for name, values in schema.enums.items():
        line = f"    {q(name)}: ({', '.join(q(v) for v in values)}{',' if len(values) == 1 else ''}),"
        if len(line) <= LINE:
            out.append(line)
        else:
            out += [f"    {q(name)}: (", *(f"        {q(v)}," for v in values), "    ),"]
    out += ["}", ""]
    names: list[str] = []
    for complex_ in _ordered(schema.types):
        bases = [b for b in (complex_.base, mixins.get(complex_.name)) if b]
        out += ["", "@dataclass(frozen=True, kw_only=True)"]
        out.append(f"class {complex_.name}{'(' + ', '.join(bases) + ')' if bases else ''}:")
        kind = "abstract complexType" if complex_.abstract else "complexType"
        extends = f", extends {complex_.base}" if complex_.base else ""
        out.append(f'    """{kind} {complex_.name}{extends}"""')
        if complex_.elements:
            out.append("")
        for elem in complex_.elements:
            out += _field_line(schema, elem)
        names.append(complex_.name)
        out.append("")
    out += ["", "TYPES: dict[str, type] = {"]
    out += [f"    {q(name)}: {name}," for name in names]
    out += ["}", "", "OPERATIONS: dict[str, Operation] = {"]
    for op in schema.operations:
        out += [
            f"    {q(op.name)}: Operation(",
            f"        name={q(op.name)},",
            f"        request_element={q(op.request_element)},",
            f"        request_type={op.request_type},",
            f"        response_element={q(op.response_element)},",
            f"        response_type={op.response_type},",
            f"        context_header={op.context_header},",
            f"        documentation={q(op.documentation)},",
            "    ),",
        ]
    out += ["}", "", "__all__ = ["]
    out += [f"    {q(name)}," for name in sorted(["ENUMS", "OPERATIONS", "TYPES", *names])]
    out += ["]", ""]
    return "\n".join(out)


def fetch(source: str) -> bytes:
    """The WSDL at a URL (http/https) or in a file."""
    if source.startswith(("http://", "https://")):
        response = httpx.get(source, timeout=60, follow_redirects=True)
        response.raise_for_status()
        return response.content
    return Path(source).read_bytes()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m mktows.client.generate URL_OR_FILE > mktows/client/types.py", file=sys.stderr)
        return 2
    sys.stdout.write(render(read_wsdl(fetch(args[0]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
