"""The small vocabulary `types.py` is written in: enumerations, structs and their elements."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

VERSIONS: tuple[str, ...] = ("2_2", "2_3", "2_7", "2_9", "3_1")
XS = "http://www.w3.org/2001/XMLSchema"


def version_index(version: str) -> int:
    return VERSIONS.index(version)


@dataclass(frozen=True)
class Element:
    name: str
    type: str  # "xs:string" for built-ins, a bare name for our own types
    optional: bool = False
    many: bool = False
    nillable: bool = False
    since: str = VERSIONS[0]
    until: str = VERSIONS[-1]

    # computed once per element: the codec asks for every element of every request
    @cached_property
    def builtin(self) -> bool:
        return self.type.startswith("xs:")

    @cached_property
    def required(self) -> bool:
        return not (self.optional or self.many)

    def in_version(self, version: str) -> bool:
        return version_index(self.since) <= version_index(version) <= version_index(self.until)


@dataclass(frozen=True)
class EnumType:
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class StructType:
    name: str
    fields: tuple[Element, ...] = ()
    base: str | None = None
    abstract: bool = False

    @cached_property
    def array_item(self) -> Element | None:
        """The repeated item of an `ArrayOf...` wrapper, which we handle as a plain list."""
        if self.name.startswith("ArrayOf") and len(self.fields) == 1 and self.fields[0].many:
            return self.fields[0]
        return None


@dataclass
class TypeSet:
    enums: dict[str, EnumType] = field(default_factory=dict)
    structs: dict[str, StructType] = field(default_factory=dict)


def el(name: str, type_: str, **flags: object) -> Element:
    return Element(name, type_, **flags)  # type: ignore[arg-type]


def enum(name: str, values: str | list[str] | tuple[str, ...]) -> EnumType:
    return EnumType(name, tuple(values.split() if isinstance(values, str) else values))


def struct(
    name: str, fields: list[Element] | None = None, *, base: str | None = None, abstract: bool = False
) -> StructType:
    return StructType(name, tuple(fields or ()), base, abstract)


@dataclass(frozen=True)
class Operation:
    name: str  # getLead
    documentation: str
    context_header: bool = False

    @property
    def _stem(self) -> str:
        return self.name[0].upper() + self.name[1:]

    @property
    def request_element(self) -> str:
        return "params" + self._stem

    @property
    def response_element(self) -> str:
        return "success" + self._stem

    @property
    def request_type(self) -> str:
        return "Params" + self._stem

    @property
    def response_type(self) -> str:
        return "Success" + self._stem

    @property
    def request_message(self) -> str:
        return self._stem + "Request"

    @property
    def response_message(self) -> str:
        return self._stem + "Response"


def op(name: str, documentation: str, *, context_header: bool = False) -> Operation:
    return Operation(name, documentation, context_header)
