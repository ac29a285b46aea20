<?php
// A sign-up integration: create or update the lead (syncLead), then put it through the
// "Onboarding.Welcome Email" campaign (requestCampaign), with PHP's SoapClient.
//
//   MKTOWS_ENDPOINT=http://127.0.0.1:8080/soap/mktows/2_9 MKTOWS_USER_ID=... \
//   MKTOWS_ENCRYPTION_KEY=... php sync_and_request.php ada@example.com Ada
//
// Prints `lead <id> <CREATED|UPDATED>` and `campaign requested`.

$endpoint = getenv('MKTOWS_ENDPOINT');
$userId = getenv('MKTOWS_USER_ID');
$encryptionKey = getenv('MKTOWS_ENCRYPTION_KEY');
[$email, $firstName] = [$argv[1], $argv[2] ?? ''];

function auth_header(string $userId, string $encryptionKey): SoapHeader
{
    // a fresh signature for every call: a kept header expires (fault 20016)
    $timestamp = date(DATE_W3C);
    return new SoapHeader('http://www.marketo.com/mktows/', 'AuthenticationHeader', [
        'mktowsUserId' => $userId,
        'requestSignature' => hash_hmac('sha1', $timestamp . $userId, $encryptionKey),
        'requestTimestamp' => $timestamp,
    ]);
}

$client = new SoapClient($endpoint . '?WSDL', ['features' => SOAP_SINGLE_ELEMENT_ARRAYS, 'cache_wsdl' => WSDL_CACHE_NONE]);

$client->__setSoapHeaders([auth_header($userId, $encryptionKey)]);
$synced = $client->syncLead([
    'leadRecord' => [
        'Email' => $email,
        'leadAttributeList' => ['attribute' => [['attrName' => 'FirstName', 'attrValue' => $firstName]]],
    ],
    'returnLead' => false,
])->result;
printf("lead %d %s\n", $synced->leadId, $synced->syncStatus->status);

$client->__setSoapHeaders([auth_header($userId, $encryptionKey)]);
$requested = $client->requestCampaign([
    'source' => 'MKTOWS',
    'programName' => 'Onboarding',
    'campaignName' => 'Welcome Email',
    'leadList' => ['leadKey' => [['keyType' => 'IDNUM', 'keyValue' => (string) $synced->leadId]]],
])->result;
if (!$requested->success) {
    fwrite(STDERR, "requestCampaign did not succeed\n");
    exit(1);
}
print("campaign requested\n");
