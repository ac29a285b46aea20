"""A Python client of the Marketo SOAP API (any endpoint: a mktows server or the vendor's
shape of it) that follows the API's own performance advice: persistent connections, pages of
200, only the fields asked for, long update ranges exported in parallel date windows, and
retries only where a retry can help. docs/client.md is the guide.

    from mktows.client import Client

    with Client() as client:  # MKTOWS_ENDPOINT, MKTOWS_USER_ID, MKTOWS_ENCRYPTION_KEY
        client.sync_lead(email="ada@example.com", attributes={"FirstName": "Ada"})

This package imports nothing else of mktows: it talks to a server only over HTTP.
"""

from mktows.client import types as _generated

# The two generators run with their output emptied by the shell (`python -m
# mktows.client.generate URL > mktows/client/types.py`, `python -m mktows.client.unasync >
# mktows/client/aio_operations.py`): the package then exports nothing, so that they can start.
_complete = hasattr(_generated, "OPERATIONS")
if _complete:
    from mktows.client import aio_operations as _generated_async

    _complete = hasattr(_generated_async, "AsyncOperations")
if _complete:
    from mktows.client.aio import AsyncClient
    from mktows.client.build import make_custom_obj, make_lead_key, make_lead_record
    from mktows.client.errors import (
        MarketoConnectionError,
        MarketoError,
        MarketoFault,
        MarketoProtocolError,
    )
    from mktows.client.schema import attrib_dict, attributes_dict
    from mktows.client.sync import Client
    from mktows.client.types import *  # noqa: F403 (the generated types, listed in their __all__)

    __all__ = [
        "AsyncClient",
        "Client",
        "MarketoConnectionError",
        "MarketoError",
        "MarketoFault",
        "MarketoProtocolError",
        "attrib_dict",
        "attributes_dict",
        "make_custom_obj",
        "make_lead_key",
        "make_lead_record",
        *_generated.__all__,
    ]
