"""Thin translators between decoded SOAP parameters and the engine, one module per group."""

from mktows.soap.operations import (  # noqa: F401
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

__all__ = ["HANDLERS", "INLINE_OPERATIONS", "Call"]
