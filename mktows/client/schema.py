"""What the generated `types.py` is written with: the XML facts of each dataclass field, the
rows of the operation table, and the few conveniences mixed into record types.

The codec reads only these facts (never the annotations), so the generated dataclasses stay
plain data and one generic codec serves all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mktows.client.types import Attrib, Attribute

TNS = "http://www.marketo.com/mktows/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass(frozen=True)
class XmlElement:
    """One element of a complexType's sequence.

    `type` is `xs:...` for a built-in, else a type of the schema (a complexType or an
    enumeration). `wrap` names the item elements of `ArrayOf...` wrappers, outermost first:
    `("attribute",)` for an ArrayOfAttribute, `("keyList", "attribute")` for an ArrayOfKeyList;
    such a field holds a plain list (of lists). `many` is an element repeated in place.
    """

    name: str
    type: str
    wrap: tuple[str, ...] = ()
    many: bool = False
    optional: bool = False
    nillable: bool = False


def xml(
    name: str,
    type_: str,
    *,
    wrap: tuple[str, ...] = (),
    many: bool = False,
    optional: bool = False,
    nillable: bool = False,
) -> dict[str, XmlElement]:
    """The metadata of a generated dataclass field: `field(metadata=xml("Id", "xs:int"))`."""
    return {"xml": XmlElement(name, type_, wrap, many, optional, nillable)}


@dataclass(frozen=True)
class Operation:
    """A row of the operation table: what to send for an operation and what comes back."""

    name: str
    request_element: str
    request_type: type[Any]
    response_element: str
    response_type: type[Any]
    context_header: bool = False
    documentation: str = ""


def attributes_dict(attributes: list[Attribute] | None) -> dict[str, str]:
    """name -> value of an attribute list (lead fields, activity attributes, custom-object keys)."""
    return {a.attr_name: a.attr_value for a in attributes or ()}


def attrib_dict(attribs: list[Attrib] | None) -> dict[str, str]:
    """name -> value of an `Attrib` list (MObject attributes, tokens, statuses)."""
    return {a.name: a.value for a in attribs or ()}


# -- conveniences the generator mixes into some record types (MIXINS); they add no fields


class LeadRecordMixin:
    """`record.attributes["FirstName"]`: the lead's fields as a dict (Id and Email are fields of
    their own: `record.id`, `record.email`)."""

    lead_attribute_list: list[Attribute] | None

    @property
    def attributes(self) -> dict[str, str]:
        return attributes_dict(self.lead_attribute_list)


class ActivityMixin:
    """`record.attributes`: the activity's attributes as a dict (`Lead ID`, `New Value`, ...)."""

    activity_attributes: list[Attribute] | None

    @property
    def attributes(self) -> dict[str, str]:
        return attributes_dict(self.activity_attributes)


class MObjectMixin:
    """`mobject.attributes`: the object's `attribList` as a dict (`Name`, `Stage`, ...)."""

    attrib_list: list[Attrib] | None

    @property
    def attributes(self) -> dict[str, str]:
        return attrib_dict(self.attrib_list)


class CustomObjMixin:
    """`obj.keys_dict` and `obj.attributes`: a custom-object record's keys and other fields."""

    custom_obj_key_list: list[Attribute] | None
    custom_obj_attribute_list: list[Attribute] | None

    @property
    def keys_dict(self) -> dict[str, str]:
        return attributes_dict(self.custom_obj_key_list)

    @property
    def attributes(self) -> dict[str, str]:
        return attributes_dict(self.custom_obj_attribute_list)


# complexType -> the mixin its dataclass inherits (the generator reads this table)
MIXINS: dict[str, str] = {
    "LeadRecord": "LeadRecordMixin",
    "ActivityRecord": "ActivityMixin",
    "LeadChangeRecord": "ActivityMixin",
    "MObject": "MObjectMixin",
    "CustomObj": "CustomObjMixin",
}
