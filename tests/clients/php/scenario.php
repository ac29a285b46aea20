<?php
/*
 * PHP SoapClient scenario against a mktows endpoint, written the way the vendor's PHP
 * samples use the API (the client from the served ?WSDL, the signed AuthenticationHeader
 * and the report come from common.php), with a LeadKeySelector passed as
 * SoapVar(..., SOAP_ENC_OBJECT, 'LeadKeySelector', ns).
 *
 * Usage: php scenario.php ENDPOINT USER KEY EMAIL LIST
 *   (or env MKTOWS_ENDPOINT, MKTOWS_USER, MKTOWS_KEY, MKTOWS_EMAIL, MKTOWS_LIST)
 *
 * Prints one JSON object on stdout (see common.php for the exit codes).
 */

require __DIR__ . '/common.php';

$endpoint = arg_or_env(1, 'MKTOWS_ENDPOINT');
$userId = arg_or_env(2, 'MKTOWS_USER');
$secretKey = arg_or_env(3, 'MKTOWS_KEY');
$email = arg_or_env(4, 'MKTOWS_EMAIL');
$listName = arg_or_env(5, 'MKTOWS_LIST');

function attr_map($record): array
{
    $out = [];
    if (!isset($record->leadAttributeList) || !isset($record->leadAttributeList->attribute)) {
        return $out;
    }
    foreach (as_list($record->leadAttributeList->attribute) as $a) {
        $out[$a->attrName] = $a->attrValue;
    }
    return $out;
}

$out = ['client' => 'php-soapclient', 'php_version' => PHP_VERSION, 'ok' => true];
$step = 'wsdl';
$client = null;

try {
    $client = make_client($endpoint, false);
    $clientArrays = make_client($endpoint, true);
    $out['wsdl_functions'] = count($client->__getFunctions());

    // 1. syncLead (returnLead true)
    $step = 'syncLead';
    $first = 'Php-Ünïcode';
    $custom = 'php-custom-' . substr(md5($email), 0, 8);
    $out['sent'] = ['FirstName' => $first, 'Seed_Custom_Field' => $custom];
    $res = call($client, 'syncLead', [
        'leadRecord' => [
            'Email' => $email,
            'leadAttributeList' => [
                'attribute' => [
                    ['attrName' => 'FirstName', 'attrValue' => $first],
                    ['attrName' => 'Seed_Custom_Field', 'attrValue' => $custom],
                ],
            ],
        ],
        'returnLead' => true,
    ], $userId, $secretKey);
    $r = $res->result;
    $leadId = (int)$r->leadId;
    $out['syncLead'] = [
        'leadId' => $leadId,
        'status' => $r->syncStatus->status,
        'statusLeadId' => (int)$r->syncStatus->leadId,
        'returnedEmail' => isset($r->leadRecord) ? $r->leadRecord->Email : null,
        'returnedId' => isset($r->leadRecord) ? (int)$r->leadRecord->Id : null,
        'returnedAttrs' => isset($r->leadRecord) ? attr_map($r->leadRecord) : null,
    ];

    // 2. getLead by EMAIL, default features: one record comes back as an object.
    $step = 'getLead';
    $res = call($client, 'getLead', ['leadKey' => ['keyType' => 'EMAIL', 'keyValue' => $email]], $userId, $secretKey);
    $rec = $res->result->leadRecordList->leadRecord;
    $out['getLead'] = [
        'count' => (int)$res->result->count,
        'recordIsObject' => is_object($rec),
        'Id' => is_object($rec) ? (int)$rec->Id : null,
        'Email' => is_object($rec) ? $rec->Email : null,
        'attrs' => is_object($rec) ? attr_map($rec) : null,
    ];

    // 2b. the same with SOAP_SINGLE_ELEMENT_ARRAYS: every list is a PHP array.
    $step = 'getLead[SOAP_SINGLE_ELEMENT_ARRAYS]';
    $res = call($clientArrays, 'getLead', ['leadKey' => ['keyType' => 'EMAIL', 'keyValue' => $email]], $userId, $secretKey);
    $recs = $res->result->leadRecordList->leadRecord;
    $attrsList = is_array($recs) && count($recs) === 1 ? $recs[0]->leadAttributeList->attribute : null;
    $out['getLeadArrays'] = [
        'count' => (int)$res->result->count,
        'recordIsArray' => is_array($recs),
        'records' => is_array($recs) ? count($recs) : null,
        'attributeIsArray' => is_array($attrsList),
        'Id' => is_array($recs) && count($recs) === 1 ? (int)$recs[0]->Id : null,
        'Email' => is_array($recs) && count($recs) === 1 ? $recs[0]->Email : null,
        'attrs' => is_array($recs) && count($recs) === 1 ? attr_map($recs[0]) : null,
    ];

    // 3. getMultipleLeads with a LeadKeySelector (the vendor's SoapVar idiom); one key
    //    matches, the other matches nothing and is skipped.
    $step = 'getMultipleLeads';
    $missing = 'nobody-' . substr(md5($email), 0, 10) . '@mktows-test.example.com';
    $selector = new stdClass();
    $selector->keyType = 'EMAIL';
    $selector->keyValues = ['stringItem' => [$email, $missing]];
    $res = call($client, 'getMultipleLeads', [
        'leadSelector' => new SoapVar($selector, SOAP_ENC_OBJECT, 'LeadKeySelector', MKTOWS_NS),
        'batchSize' => 10,
    ], $userId, $secretKey);
    $mres = $res->result;
    $ids = [];
    $emails = [];
    if (isset($mres->leadRecordList->leadRecord)) {
        foreach (as_list($mres->leadRecordList->leadRecord) as $lr) {
            $ids[] = (int)$lr->Id;
            $emails[] = $lr->Email;
        }
    }
    $out['getMultipleLeads'] = [
        'returnCount' => (int)$mres->returnCount,
        'remainingCount' => (int)$mres->remainingCount,
        'ids' => $ids,
        'emails' => $emails,
        'requestHasXsiType' => strpos($client->__getLastRequest(), 'LeadKeySelector') !== false,
    ];

    // 4. listOperation ADDTOLIST, then ISMEMBEROFLIST.
    $listParams = function (string $op) use ($listName, $leadId) {
        return [
            'listOperation' => $op,
            'listKey' => ['keyType' => 'MKTOLISTNAME', 'keyValue' => $listName],
            'listMemberList' => ['leadKey' => [['keyType' => 'IDNUM', 'keyValue' => (string)$leadId]]],
            'strict' => false,
        ];
    };
    foreach (['ADDTOLIST' => 'addToList', 'ISMEMBEROFLIST' => 'isMemberOfList'] as $op => $key) {
        $step = "listOperation $op";
        $res = call($clientArrays, 'listOperation', $listParams($op), $userId, $secretKey);
        $statuses = [];
        foreach (as_list($res->result->statusList->leadStatus ?? null) as $ls) {
            $statuses[] = [
                'keyType' => $ls->leadKey->keyType,
                'keyValue' => $ls->leadKey->keyValue,
                'status' => (bool)$ls->status,
            ];
        }
        $out[$key] = ['success' => (bool)$res->result->success, 'statuses' => $statuses];
    }

    // 5. getLeadActivity by EMAIL.
    $step = 'getLeadActivity';
    $res = call($clientArrays, 'getLeadActivity', [
        'leadKey' => ['keyType' => 'EMAIL', 'keyValue' => $email],
        'batchSize' => 100,
    ], $userId, $secretKey);
    $lal = $res->leadActivityList;
    $types = [];
    $newLeadAttrs = null;
    foreach (as_list($lal->activityRecordList->activityRecord ?? null) as $ar) {
        $types[] = $ar->activityType;
        if ($ar->activityType === 'New Lead' && $newLeadAttrs === null) {
            $newLeadAttrs = [];
            foreach (as_list($ar->activityAttributes->attribute ?? null) as $a) {
                $newLeadAttrs[$a->attrName] = $a->attrValue;
            }
            $newLeadAttrs['@mktPersonId'] = (string)$ar->mktPersonId;
        }
    }
    $out['getLeadActivity'] = [
        'returnCount' => (int)$lal->returnCount,
        'remainingCount' => (int)$lal->remainingCount,
        'types' => $types,
        'newLead' => $newLeadAttrs,
    ];

    // 6. getLead for an unknown email must raise a SoapFault.
    $step = 'getLead unknown';
    $unknown = 'unknown-' . substr(md5($email . 'x'), 0, 10) . '@mktows-test.example.com';
    $out['unknownEmail'] = $unknown;
    try {
        $res = call($client, 'getLead', ['leadKey' => ['keyType' => 'EMAIL', 'keyValue' => $unknown]], $userId, $secretKey);
        $out['fault'] = ['raised' => false, 'result' => json_decode(json_encode($res), true)];
    } catch (SoapFault $e) {
        $out['fault'] = fault_report($e);
    }
} catch (Throwable $e) {
    fail($out, $step, $e, ['client' => $client, 'clientArrays' => $clientArrays ?? null]);
}

emit($out, 0);
