"""Thin translators between decoded SOAP parameters and the engine, one module per group."""

from mktows.soap.operations import (
    activities,
    campaigns,
    custom_objects,
    imports,
    leads,
    lists,
    metadata,
    mobjects,
    tags,
)
from mktows.soap.operations.registry import HANDLERS, INLINE_OPERATIONS, Call

# Every module that registers handlers with `@handles`, listed once.
PROVIDERS = (activities, campaigns, custom_objects, imports, leads, lists, metadata, mobjects, tags)

__all__ = ["HANDLERS", "INLINE_OPERATIONS", "PROVIDERS", "Call"]
