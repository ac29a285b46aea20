"""Render the WSDL of one API version from the type description in `types.py`."""

from __future__ import annotations

from functools import cache

from lxml import etree

from mktows.soap import types
from mktows.soap.schema import ENUMS, STRUCTS, TNS, fields_of
from mktows.soap.schema_model import XS, Element

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http"
ADDRESS_PLACEHOLDER = "urn:mktows:endpoint"
NSMAP = {"soap": SOAP_NS, "tns": TNS, "wsdl": WSDL_NS, "xs": XS}


def _w(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{WSDL_NS}}}{tag}", attrs)


def _xs(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{XS}}}{tag}", attrs)


def _soap(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{SOAP_NS}}}{tag}", attrs)


def _qualified(type_name: str) -> str:
    return type_name if type_name.startswith("xs:") else f"tns:{type_name}"


def _element(parent: etree._Element, field: Element) -> None:
    _xs(
        parent,
        "element",
        name=field.name,
        type=_qualified(field.type),
        minOccurs="0" if field.optional or field.many else "1",
        maxOccurs="unbounded" if field.many else "1",
        nillable="true" if field.nillable else "false",
    )


def _schema(parent: etree._Element, version: str) -> None:
    schema = _xs(parent, "schema", targetNamespace=TNS)
    for enum in ENUMS.values():
        restriction = _xs(_xs(schema, "simpleType", name=enum.name), "restriction", base="xs:string")
        for value in enum.values:
            _xs(restriction, "enumeration", value=value)
    for struct in STRUCTS.values():
        attrs = {"name": struct.name}
        if struct.abstract:
            attrs["abstract"] = "true"
        node = _xs(schema, "complexType", **attrs)
        if struct.abstract:
            continue
        own = [f for f in struct.fields if f.in_version(version)]
        if struct.base:
            node = _xs(_xs(node, "complexContent"), "extension", base=_qualified(struct.base))
        sequence = _xs(node, "sequence")
        for field in own:
            _element(sequence, field)
    _xs(schema, "element", name="AuthenticationHeader", type="tns:AuthenticationHeaderInfo")
    _xs(schema, "element", name="MktowsContextHeader", type="tns:MktowsContextHeaderInfo")
    for operation in types.OPERATIONS:
        _xs(schema, "element", name=operation.request_element, type=f"tns:{operation.request_type}")
    for operation in types.OPERATIONS:
        _xs(schema, "element", name=operation.response_element, type=f"tns:{operation.response_type}")


def _messages(root: etree._Element) -> None:
    _w(
        _w(root, "message", name="AuthenticationHeader"),
        "part",
        name="authentication",
        element="tns:AuthenticationHeader",
    )
    _w(_w(root, "message", name="MktowsContextHeader"), "part", name="mktowsContext", element="tns:MktowsContextHeader")
    for operation in types.OPERATIONS:
        for message, element in (
            (operation.request_message, operation.request_element),
            (operation.response_message, operation.response_element),
        ):
            _w(_w(root, "message", name=message), "part", name=element, element=f"tns:{element}")


def _port_type(root: etree._Element) -> None:
    port_type = _w(root, "portType", name="MktowsPort")
    for operation in types.OPERATIONS:
        node = _w(port_type, "operation", name=operation.name)
        _w(node, "documentation").text = operation.documentation
        _w(node, "input", message=f"tns:{operation.request_message}")
        _w(node, "output", message=f"tns:{operation.response_message}")


def _binding(root: etree._Element) -> None:
    binding = _w(root, "binding", name="MktowsApiSoapBinding", type="tns:MktowsPort")
    _soap(binding, "binding", style="document", transport=HTTP_TRANSPORT)
    for operation in types.OPERATIONS:
        node = _w(binding, "operation", name=operation.name)
        _soap(node, "operation", soapAction=f"{TNS}{operation.name}")
        given = _w(node, "input")
        _soap(given, "header", use="literal", part="authentication", message="tns:AuthenticationHeader")
        if operation.context_header:
            _soap(given, "header", use="literal", part="mktowsContext", message="tns:MktowsContextHeader")
        _soap(given, "body", use="literal")
        _soap(_w(node, "output"), "body", use="literal")


@cache
def wsdl_template(version: str) -> str:
    """The WSDL text of `version` with a placeholder where the endpoint URL goes."""
    root = etree.Element(f"{{{WSDL_NS}}}definitions", nsmap=NSMAP, name="mktows", targetNamespace=TNS)
    root.append(etree.Comment(f" mktows: Marketo SOAP API {version}, served by a self-hosted mktows "))
    _schema(_w(root, "types"), version)
    _messages(root)
    _port_type(root)
    _binding(root)
    port = _w(
        _w(root, "service", name="MktMktowsApiService"),
        "port",
        name="MktowsApiSoapPort",
        binding="tns:MktowsApiSoapBinding",
    )
    _soap(port, "address", location=ADDRESS_PLACEHOLDER)
    body: str = etree.tostring(root, pretty_print=True, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body


def render_wsdl(version: str, endpoint_url: str) -> bytes:
    escaped = endpoint_url.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return wsdl_template(version).replace(ADDRESS_PLACEHOLDER, escaped, 1).encode("utf-8")


__all__ = ["render_wsdl", "wsdl_template", "fields_of"]
