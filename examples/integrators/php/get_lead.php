<?php
// getLead by email with PHP's SoapClient, against mktows or any Marketo SOAP 2_x endpoint.
//
//   apt-get install php-cli php-soap
//   MKTOWS_ENDPOINT=http://127.0.0.1:8080/soap/mktows/2_9 MKTOWS_USER_ID=... \
//   MKTOWS_ENCRYPTION_KEY=... php get_lead.php ada@example.com

$endpoint = getenv('MKTOWS_ENDPOINT');  // the one value that changes when moving to mktows
$userId = getenv('MKTOWS_USER_ID');
$encryptionKey = getenv('MKTOWS_ENCRYPTION_KEY');
$email = $argv[1];

// Sign every call with a fresh timestamp; a header kept for later expires (fault 20016).
$timestamp = date(DATE_W3C);  // 2026-03-01T01:30:00-08:00, in PHP's default time zone
$signature = hash_hmac('sha1', $timestamp . $userId, $encryptionKey);
$header = new SoapHeader('http://www.marketo.com/mktows/', 'AuthenticationHeader', [
    'mktowsUserId' => $userId,
    'requestSignature' => $signature,
    'requestTimestamp' => $timestamp,
]);

$client = new SoapClient($endpoint . '?WSDL', ['features' => SOAP_SINGLE_ELEMENT_ARRAYS]);
$client->__setSoapHeaders([$header]);
$result = $client->getLead(['leadKey' => ['keyType' => 'EMAIL', 'keyValue' => $email]])->result;

foreach ($result->leadRecordList->leadRecord as $lead) {
    $attributes = [];
    foreach ($lead->leadAttributeList->attribute as $attribute) {
        $attributes[$attribute->attrName] = $attribute->attrValue;
    }
    printf("id=%d FirstName=%s\n", $lead->Id, $attributes['FirstName'] ?? '');
}
