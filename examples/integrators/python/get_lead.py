"""getLead by email with zeep, against mktows or any Marketo SOAP 2_x endpoint.

    pip install zeep
    MKTOWS_ENDPOINT=http://127.0.0.1:8080/soap/mktows/2_9 MKTOWS_USER_ID=... \
    MKTOWS_ENCRYPTION_KEY=... python get_lead.py ada@example.com
"""

import hashlib
import hmac
import os
import sys
from datetime import datetime

import zeep

endpoint = os.environ["MKTOWS_ENDPOINT"]  # the one value that changes when moving to mktows
user_id = os.environ["MKTOWS_USER_ID"]
encryption_key = os.environ["MKTOWS_ENCRYPTION_KEY"]
email = sys.argv[1]


def auth_header():
    """A fresh AuthenticationHeader: sign every call, never reuse one (it expires)."""
    timestamp = datetime.now().astimezone().isoformat(timespec="seconds")  # 2026-03-01T01:30:00-08:00
    signature = hmac.new(encryption_key.encode(), (timestamp + user_id).encode(), hashlib.sha1).hexdigest()
    return {"mktowsUserId": user_id, "requestSignature": signature, "requestTimestamp": timestamp}


client = zeep.Client(endpoint + "?WSDL")
result = client.service.getLead(
    leadKey={"keyType": "EMAIL", "keyValue": email},
    _soapheaders={"authentication": auth_header()},
)
for lead in result.leadRecordList.leadRecord:
    attributes = {a.attrName: a.attrValue for a in lead.leadAttributeList.attribute}
    print(f"id={lead.Id} FirstName={attributes.get('FirstName')}")
