"""Named providers of one kind: SOAP operations, job handlers, MObject types, flow steps.

Every extension point of the server works the same way. The module that uses a kind of
provider owns a `Registry`; each provider registers itself where it is defined, with the
registry's decorator; and one module imports the providers in one explicit list, at the top
of the file (never lazily, never by a name in a string), so a missing or broken provider
fails when the server starts. docs/architecture.md lists the registries and their lists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Registry(dict[str, T]):
    """A dict of providers by name that refuses a second provider under the same name."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def add(self, name: str, entry: T) -> T:
        if name in self:
            raise ValueError(f"two {self.kind}s are registered as {name!r}")
        self[name] = entry
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of `add`: `@REGISTRY.register("name")` above the provider."""

        def decorate(entry: T) -> T:
            return self.add(name, entry)

        return decorate
