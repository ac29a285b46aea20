"""A sign-up integration: create or update the lead (syncLead), then put it through the
"Onboarding.Welcome Email" campaign (requestCampaign), with zeep.

    MKTOWS_ENDPOINT=http://127.0.0.1:8080/soap/mktows/2_9 MKTOWS_USER_ID=... \
    MKTOWS_ENCRYPTION_KEY=... python sync_and_request.py ada@example.com Ada

Prints `lead <id> <CREATED|UPDATED>` and `campaign requested`.
"""

import hashlib
import hmac
import os
import sys
from datetime import datetime

import zeep

endpoint = os.environ["MKTOWS_ENDPOINT"]
user_id = os.environ["MKTOWS_USER_ID"]
encryption_key = os.environ["MKTOWS_ENCRYPTION_KEY"]
email, first_name = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""


def auth_header():
    """A fresh AuthenticationHeader for every call: a kept one expires (fault 20016)."""
    timestamp = datetime.now().astimezone().isoformat(timespec="seconds")
    signature = hmac.new(encryption_key.encode(), (timestamp + user_id).encode(), hashlib.sha1).hexdigest()
    return {"authentication": {"mktowsUserId": user_id, "requestSignature": signature, "requestTimestamp": timestamp}}


service = zeep.Client(endpoint + "?WSDL").service
synced = service.syncLead(
    leadRecord={
        "Email": email,
        "leadAttributeList": {"attribute": [{"attrName": "FirstName", "attrValue": first_name}]},
    },
    returnLead=False,
    _soapheaders=auth_header(),
)
print(f"lead {synced.leadId} {synced.syncStatus.status}")

requested = service.requestCampaign(
    source="MKTOWS",
    programName="Onboarding",
    campaignName="Welcome Email",
    leadList={"leadKey": [{"keyType": "IDNUM", "keyValue": str(synced.leadId)}]},
    _soapheaders=auth_header(),
)
if not requested:  # zeep unwraps the result to its one element, `success`
    sys.exit("requestCampaign did not succeed")
print("campaign requested")
