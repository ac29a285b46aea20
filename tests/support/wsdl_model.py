"""A structural model of a WSDL 1.1 document, for comparing the served WSDL with the golden one.

Comments, documentation, whitespace and namespace prefixes are ignored: QNames are
resolved to `{namespace}local`, occurrence/nillable defaults are normalised
(minOccurs=1, maxOccurs=1, nillable=false). Everything that a generated client depends
on is kept, in document order.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from lxml import etree

WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAPB = "http://schemas.xmlsoap.org/wsdl/soap/"
XS = "http://www.w3.org/2001/XMLSchema"
TNS = "http://www.marketo.com/mktows/"

XS_STRING = f"{{{XS}}}string"
XS_BOOLEAN = f"{{{XS}}}boolean"
XS_LONG = f"{{{XS}}}long"
XS_INT = f"{{{XS}}}int"


def _qname(el: etree._Element, value: str | None) -> str | None:
    if value is None:
        return None
    if ":" in value:
        prefix, local = value.split(":", 1)
    else:
        prefix, local = None, value
    ns = el.nsmap.get(prefix)
    if ns is None:
        raise AssertionError(f"unbound prefix {prefix!r} in {value!r} (line {el.sourceline})")
    return f"{{{ns}}}{local}"


@dataclass(frozen=True)
class Elem:
    name: str
    type: str | None
    min: str = "1"
    max: str = "1"
    nillable: str = "false"


@dataclass
class ComplexType:
    name: str
    abstract: str = "false"
    base: str | None = None  # complexContent/extension base
    compositor: str | None = None  # sequence / all / choice / None (empty type)
    elements: list[Elem] = field(default_factory=list)
    attributes: list[tuple] = field(default_factory=list)


@dataclass
class Model:
    name: str | None
    target_namespace: str | None
    schema_target_namespace: str | None
    schema_attrs: dict
    simple_types: list[tuple[str, str, tuple[str, ...]]]
    complex_types: list[ComplexType]
    elements: list[tuple[str, str | None]]
    messages: list[tuple[str, tuple[tuple[str, str | None, str | None], ...]]]
    port_types: list[tuple[str, tuple[tuple[str, str | None, str | None, tuple], ...]]]
    bindings: list[dict]
    services: list[tuple[str, tuple[tuple[str, str | None, str | None], ...]]]

    def complex(self, name: str) -> ComplexType:
        for ct in self.complex_types:
            if ct.name == name:
                return ct
        raise KeyError(name)


def _norm_bool(v: str | None, default: str = "false") -> str:
    if v is None:
        return default
    return {"1": "true", "0": "false"}.get(v.strip(), v.strip().lower())


def _elem(el: etree._Element) -> Elem:
    return Elem(
        name=el.get("name") or _qname(el, el.get("ref")),
        type=_qname(el, el.get("type")),
        min=(el.get("minOccurs") or "1").strip(),
        max=(el.get("maxOccurs") or "1").strip(),
        nillable=_norm_bool(el.get("nillable")),
    )


def _particles(container: etree._Element) -> tuple[str | None, list[Elem]]:
    for kind in ("sequence", "all", "choice"):
        comp = container.find(f"{{{XS}}}{kind}")
        if comp is not None:
            elems = []
            for child in comp:
                if not isinstance(child.tag, str):
                    continue
                if child.tag != f"{{{XS}}}element":
                    raise AssertionError(f"unexpected particle {child.tag} in {kind} (line {child.sourceline})")
                if child.find(f"{{{XS}}}complexType") is not None or child.find(f"{{{XS}}}simpleType") is not None:
                    raise AssertionError(f"anonymous local type on element {child.get('name')!r} is not expected")
                elems.append(_elem(child))
            return kind, elems
    return None, []


def _complex(ct: etree._Element) -> ComplexType:
    out = ComplexType(name=ct.get("name"), abstract=_norm_bool(ct.get("abstract")))
    cc = ct.find(f"{{{XS}}}complexContent")
    if cc is not None:
        ext = cc.find(f"{{{XS}}}extension")
        if ext is None:
            raise AssertionError(f"complexContent without extension in {out.name}")
        out.base = _qname(ext, ext.get("base"))
        out.compositor, out.elements = _particles(ext)
        holder = ext
    else:
        out.compositor, out.elements = _particles(ct)
        holder = ct
    if not out.elements:  # `<xs:sequence/>` and no particle at all are the same content model
        out.compositor = None
    out.attributes = [
        (a.get("name"), _qname(a, a.get("type")), a.get("use") or "optional")
        for a in holder.findall(f"{{{XS}}}attribute")
    ]
    return out


def parse(wsdl_bytes: bytes) -> Model:
    parser = etree.XMLParser(remove_comments=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(wsdl_bytes, parser)
    assert root.tag == f"{{{WSDL}}}definitions", root.tag
    schemas = root.findall(f"{{{WSDL}}}types/{{{XS}}}schema")
    assert len(schemas) == 1, f"{len(schemas)} xs:schema elements in wsdl:types"
    schema = schemas[0]

    simple_types = []
    for st in schema.findall(f"{{{XS}}}simpleType"):
        r = st.find(f"{{{XS}}}restriction")
        simple_types.append(
            (st.get("name"), _qname(r, r.get("base")), tuple(e.get("value") for e in r.findall(f"{{{XS}}}enumeration")))
        )
    complex_types = [_complex(ct) for ct in schema.findall(f"{{{XS}}}complexType")]
    elements = [(e.get("name"), _qname(e, e.get("type"))) for e in schema.findall(f"{{{XS}}}element")]
    unexpected = {c.tag for c in schema if isinstance(c.tag, str)} - {
        f"{{{XS}}}{n}" for n in ("simpleType", "complexType", "element")
    }
    assert not unexpected, f"unexpected top-level schema components: {unexpected}"

    messages = []
    for m in root.findall(f"{{{WSDL}}}message"):
        parts = tuple(
            (p.get("name"), _qname(p, p.get("element")), _qname(p, p.get("type"))) for p in m.findall(f"{{{WSDL}}}part")
        )
        messages.append((m.get("name"), parts))

    port_types = []
    for pt in root.findall(f"{{{WSDL}}}portType"):
        ops = []
        for op in pt.findall(f"{{{WSDL}}}operation"):
            i = op.find(f"{{{WSDL}}}input")
            o = op.find(f"{{{WSDL}}}output")
            faults = tuple((f.get("name"), _qname(f, f.get("message"))) for f in op.findall(f"{{{WSDL}}}fault"))
            ops.append(
                (
                    op.get("name"),
                    _qname(i, i.get("message")) if i is not None else None,
                    _qname(o, o.get("message")) if o is not None else None,
                    faults,
                )
            )
        port_types.append((pt.get("name"), tuple(ops)))

    bindings = []
    for b in root.findall(f"{{{WSDL}}}binding"):
        sb = b.find(f"{{{SOAPB}}}binding")
        ops = []
        for op in b.findall(f"{{{WSDL}}}operation"):
            so = op.find(f"{{{SOAPB}}}operation")

            def io(tag: str, op=op):
                x = op.find(f"{{{WSDL}}}{tag}")
                if x is None:
                    return None
                body = x.find(f"{{{SOAPB}}}body")
                headers = tuple(
                    (_qname(h, h.get("message")), h.get("part"), h.get("use")) for h in x.findall(f"{{{SOAPB}}}header")
                )
                return (
                    body.get("use") if body is not None else None,
                    body.get("parts") if body is not None else None,
                    headers,
                )

            ops.append(
                (
                    op.get("name"),
                    so.get("soapAction") if so is not None else None,
                    so.get("style") if so is not None else None,
                    io("input"),
                    io("output"),
                )
            )
        bindings.append(
            {
                "name": b.get("name"),
                "type": _qname(b, b.get("type")),
                "style": sb.get("style") if sb is not None else None,
                "transport": sb.get("transport") if sb is not None else None,
                "operations": tuple(ops),
            }
        )

    services = []
    for s in root.findall(f"{{{WSDL}}}service"):
        ports = []
        for p in s.findall(f"{{{WSDL}}}port"):
            addr = p.find(f"{{{SOAPB}}}address")
            ports.append(
                (p.get("name"), _qname(p, p.get("binding")), addr.get("location") if addr is not None else None)
            )
        services.append((s.get("name"), tuple(ports)))

    schema_attrs = {k: v for k, v in schema.attrib.items()}
    return Model(
        name=root.get("name"),
        target_namespace=root.get("targetNamespace"),
        schema_target_namespace=schema.get("targetNamespace"),
        schema_attrs=schema_attrs,
        simple_types=simple_types,
        complex_types=complex_types,
        elements=elements,
        messages=messages,
        port_types=port_types,
        bindings=bindings,
        services=services,
    )


# --------------------------------------------------------------------------- version deltas


def _insert_after(ct: ComplexType, after: str, new: Elem) -> None:
    names = [e.name for e in ct.elements]
    assert new.name not in names, f"{new.name} already in {ct.name}"
    ct.elements.insert(names.index(after) + 1, new)


def _replace(ct: ComplexType, name: str, **changes) -> None:
    for i, e in enumerate(ct.elements):
        if e.name == name:
            ct.elements[i] = Elem(**{**e.__dict__, **changes})
            return
    raise KeyError(f"{ct.name}.{name}")


def _remove(ct: ComplexType, name: str) -> None:
    before = len(ct.elements)
    ct.elements = [e for e in ct.elements if e.name != name]
    assert len(ct.elements) == before - 1, f"{ct.name}.{name} not found"


def expected_model(golden: Model, version: str, address: str) -> Model:
    """The golden 2_2 model with exactly the changes later versions made, up to `version`."""
    m = copy.deepcopy(golden)
    if version != "2_2":
        # 2_3+: activityNameFilter after activityFilter; skipActivityLog gone.
        _insert_after(
            m.complex("ParamsGetLeadChanges"),
            "activityFilter",
            Elem("activityNameFilter", f"{{{TNS}}}ArrayOfString", "0", "1", "true"),
        )
        _remove(m.complex("ParamsListOperation"), "skipActivityLog")
    if version in ("2_7", "2_9", "3_1"):
        _replace(m.complex("ActivityRecord"), "id", type=XS_LONG)
        _replace(m.complex("LeadChangeRecord"), "id", type=XS_LONG)
        _replace(m.complex("MObjStatus"), "id", nillable="true")
        m.complex("ParamsMergeLeads").elements.append(Elem("mergeInSales", XS_BOOLEAN, "0", "1", "false"))
    if version == "3_1":
        for rec in ("ActivityRecord", "LeadChangeRecord"):
            _replace(m.complex(rec), "id", min="0", nillable="true")
            _insert_after(m.complex(rec), "id", Elem("marketoGUID", XS_STRING, "1", "1", "false"))
        _insert_after(
            m.complex("AuthenticationHeaderInfo"), "requestTimestamp", Elem("partnerId", XS_STRING, "0", "1", "false")
        )
        _insert_after(m.complex("ParamsSyncLead"), "marketoCookie", Elem("moveCookie", XS_BOOLEAN, "0", "1", "true"))
        _insert_after(
            m.complex("ParamsScheduleCampaign"), "programName", Elem("cloneToProgramName", XS_STRING, "0", "1", "true")
        )
    m.services = [(name, tuple((p, b, address) for p, b, _ in ports)) for name, ports in m.services]
    return m
