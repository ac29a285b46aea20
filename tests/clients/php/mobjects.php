<?php
/*
 * PHP SoapClient scenario for the MObject and custom-object calls,
 * written the way a PHP user writes them against the served ?WSDL: nested PHP arrays for
 * every request, as_list() around every list wrapper (a single item comes back as an
 * object), and one read repeated with SOAP_SINGLE_ELEMENT_ARRAYS.
 *
 * Usage: php mobjects.php ENDPOINT USER KEY EMAIL1 EMAIL2 DEAL
 *   (or env MKTOWS_ENDPOINT, MKTOWS_USER, MKTOWS_KEY, MKTOWS_EMAIL, MKTOWS_EMAIL2, MKTOWS_DEAL)
 *
 * Prints one JSON object on stdout (see common.php for the exit codes); the shape is the
 * one every mobjects scenario prints (tests/test_other_clients_mobjects.py).
 */

require __DIR__ . '/common.php';

$endpoint = arg_or_env(1, 'MKTOWS_ENDPOINT');
$userId = arg_or_env(2, 'MKTOWS_USER');
$secretKey = arg_or_env(3, 'MKTOWS_KEY');
$emails = [arg_or_env(4, 'MKTOWS_EMAIL'), arg_or_env(5, 'MKTOWS_EMAIL2')];
$deal = arg_or_env(6, 'MKTOWS_DEAL');

/** name => value of an ArrayOfAttrib (attribList, attrList, progressionStatus). */
function attribs($wrapper): array
{
    $out = [];
    foreach (as_list($wrapper->attrib ?? null) as $a) {
        $out[$a->name] = $a->value;
    }
    return $out;
}

/** attrName => attrValue of an ArrayOfAttribute (custom-object keys and fields). */
function attributes($wrapper): array
{
    $out = [];
    foreach (as_list($wrapper->attribute ?? null) as $a) {
        $out[$a->attrName] = $a->attrValue;
    }
    return $out;
}

function attrib_list(array $values): array
{
    $list = [];
    foreach ($values as $name => $value) {
        $list[] = ['name' => $name, 'value' => (string)$value];
    }
    return ['attrib' => $list];
}

function attribute_list(array $values): array
{
    $list = [];
    foreach ($values as $name => $value) {
        $list[] = ['attrName' => $name, 'attrValue' => (string)$value];
    }
    return ['attribute' => $list];
}

function mobject(string $type, array $attrs): array
{
    return ['type' => $type, 'attribList' => attrib_list($attrs)];
}

function statuses($result): array
{
    $out = [];
    foreach (as_list($result->mObjStatusList->mObjStatus ?? null) as $s) {
        $out[] = ['status' => $s->status, 'id' => isset($s->id) ? (int)$s->id : null, 'error' => $s->error ?? null];
    }
    return $out;
}

function mobject_report($o): array
{
    $assocs = [];
    foreach (as_list($o->associationList->mObjAssociation ?? null) as $a) {
        $assocs[] = [$a->mObjType, (int)$a->id];
    }
    $typed = [];
    foreach (as_list($o->typeAttribList->typeAttrib ?? null) as $t) {
        $typed[] = ['attrType' => $t->attrType, 'attrs' => attribs($t->attrList ?? null)];
    }
    return [
        'type' => $o->type,
        'id' => (int)$o->id,
        'createdAt' => $o->createdAt ?? null,
        'attrs' => attribs($o->attribList ?? null),
        'externalKey' => isset($o->externalKey)
            ? ['name' => $o->externalKey->name, 'value' => $o->externalKey->value]
            : null,
        'associations' => $assocs,
        'typeAttribs' => $typed,
    ];
}

function custom_obj_statuses($list): array
{
    $out = [];
    foreach (as_list($list->syncCustomObjStatus ?? null) as $s) {
        $out[] = [
            'status' => $s->status,
            'keys' => attributes($s->customObjKeyList ?? null),
            'error' => $s->error ?? null,
        ];
    }
    return $out;
}

/** Every object of a getMObjects query, following newStreamPosition while hasMore. */
function get_all(callable $api, array $params): array
{
    $objects = [];
    $pageSizes = [];
    $position = null;
    do {
        if ($position !== null) {
            $params['streamPosition'] = $position;
        }
        $result = $api('getMObjects', $params)->result;
        $page = as_list($result->mObjectList->mObject ?? null);
        $pageSizes[] = (int)$result->returnCount;
        $objects = array_merge($objects, array_map('mobject_report', $page));
        $position = $result->newStreamPosition;
    } while ($result->hasMore && count($pageSizes) < 100);
    return ['pageSizes' => $pageSizes, 'objects' => $objects];
}

$out = ['client' => 'php-soapclient', 'php_version' => PHP_VERSION, 'ok' => true];
$step = 'wsdl';
$client = $clientArrays = null;

try {
    $client = make_client($endpoint, false);
    $clientArrays = make_client($endpoint, true);
    $api = function (string $op, array $params, ?SoapClient $c = null) use ($client, $userId, $secretKey) {
        return call($c ?? $client, $op, $params, $userId, $secretKey);
    };

    // 1. two leads, an opportunity and a person role for each
    $step = 'syncLead';
    $leads = [];
    foreach ($emails as $email) {
        $leads[] = (int)$api('syncLead', ['leadRecord' => ['Email' => $email], 'returnLead' => false])->result->leadId;
    }
    $out['leads'] = $leads;

    $step = 'syncMObjects Opportunity';
    $res = $api('syncMObjects', ['mObjectList' => ['mObject' => [mobject('Opportunity', [
        'Name' => $deal, 'Stage' => 'Prospecting', 'Amount' => '25000.50', 'ExternalOpportunityId' => $deal,
    ])]], 'operation' => 'INSERT']);
    $out['opportunity'] = statuses($res->result)[0];
    $opportunityId = $out['opportunity']['id'];

    $step = 'syncMObjects OpportunityPersonRole';
    $res = $api('syncMObjects', ['mObjectList' => ['mObject' => [
        mobject('OpportunityPersonRole', ['OpportunityId' => $opportunityId, 'PersonId' => $leads[0],
                                          'Role' => 'Decision Maker', 'IsPrimary' => 'true']),
        mobject('OpportunityPersonRole', ['OpportunityId' => $opportunityId, 'PersonId' => $leads[1],
                                          'Role' => 'Influencer', 'IsPrimary' => 'false']),
    ]], 'operation' => 'INSERT']);
    $out['roles'] = statuses($res->result);

    // 2. the role of the first lead (default features, then SOAP_SINGLE_ELEMENT_ARRAYS) and
    //    the opportunity by name
    $step = 'getMObjects OpportunityPersonRole by Lead';
    $byLead = ['type' => 'OpportunityPersonRole',
               'mObjAssociationList' => ['mObjAssociation' => [['mObjType' => 'Lead', 'id' => $leads[0]]]]];
    $res = $api('getMObjects', $byLead);
    $found = $res->result->mObjectList->mObject ?? null;
    $out['rolesOfLead'] = [
        'returnCount' => (int)$res->result->returnCount,
        'hasMore' => (bool)$res->result->hasMore,
        'objects' => array_map('mobject_report', as_list($found)),
        'singleIsObject' => is_object($found),
    ];

    $step = 'getMObjects OpportunityPersonRole by Lead [SOAP_SINGLE_ELEMENT_ARRAYS]';
    $res = $api('getMObjects', $byLead, $clientArrays);
    $found = $res->result->mObjectList->mObject ?? null;
    $out['rolesOfLeadArrays'] = [
        'objectsIsArray' => is_array($found),
        'objects' => is_array($found) ? array_map('mobject_report', $found) : null,
    ];

    $step = 'getMObjects Opportunity by Name';
    $res = $api('getMObjects', ['type' => 'Opportunity', 'mObjCriteriaList' => ['mObjCriteria' => [
        ['attrName' => 'Name', 'comparison' => 'EQ', 'attrValue' => $deal],
    ]]]);
    $out['opportunityByName'] = [
        'returnCount' => (int)$res->result->returnCount,
        'objects' => array_map('mobject_report', as_list($res->result->mObjectList->mObject ?? null)),
    ];

    // 3. every program with its details, then a batch of 101 opportunities (two pages),
    //    following newStreamPosition while hasMore
    $step = 'getMObjects Program';
    $out['programs'] = get_all($api, ['type' => 'Program', 'includeDetails' => true]);

    $step = 'syncMObjects 101 Opportunity';
    $batch = [];
    for ($i = 1; $i <= 101; $i++) {
        $batch[] = mobject('Opportunity', ['Name' => sprintf('%s #%03d', $deal, $i), 'Region' => $deal]);
    }
    $created = [];
    foreach (array_chunk($batch, 100) as $chunk) {
        $res = $api('syncMObjects', ['mObjectList' => ['mObject' => $chunk], 'operation' => 'INSERT']);
        $created = array_merge($created, statuses($res->result));
    }
    $step = 'getMObjects Opportunity by Region';
    $pages = get_all($api, ['type' => 'Opportunity', 'mObjCriteriaList' => ['mObjCriteria' => [
        ['attrName' => 'Region', 'comparison' => 'EQ', 'attrValue' => $deal],
    ]]]);
    $out['batch'] = [
        'created' => array_column($created, 'status'),
        'createdIds' => array_column($created, 'id'),
        'pageSizes' => $pages['pageSizes'],
        'ids' => array_column($pages['objects'], 'id'),
    ];

    // 4. custom objects: two Roadshow visits of the first lead, read back by MKTOID, one deleted
    $step = 'syncCustomObjects';
    $visit = function (string $rid) use ($leads) {
        return ['MKTOID' => $leads[0], 'rid' => $rid];
    };
    $res = $api('syncCustomObjects', [
        'objTypeName' => 'Roadshow',
        'customObjList' => ['customObj' => [
            ['customObjKeyList' => attribute_list($visit('rs-1')),
             'customObjAttributeList' => attribute_list(
                 ['city' => 'Lyon', 'visited_on' => '2026-03-01', 'attendees' => 12])],
            ['customObjKeyList' => attribute_list($visit('rs-2')),
             'customObjAttributeList' => attribute_list(
                 ['city' => 'Oslo', 'visited_on' => '2026-04-15', 'attendees' => 7])],
        ]],
        'operation' => 'UPSERT',
    ]);
    $out['customObjects']['sync'] = custom_obj_statuses($res->result->syncCustomObjStatusList);

    $getVisits = function () use ($api, $leads) {
        $result = $api('getCustomObjects', [
            'objTypeName' => 'Roadshow',
            'customObjKeyList' => attribute_list(['MKTOID' => $leads[0]]),
            'includeAttributes' => [],
        ])->result;
        $records = [];
        foreach (as_list($result->customObjList->customObj ?? null) as $co) {
            $records[] = [
                'keys' => attributes($co->customObjKeyList ?? null),
                'attrs' => attributes($co->customObjAttributeList ?? null),
            ];
        }
        return ['objTypeName' => $result->objTypeName, 'returnCount' => (int)$result->returnCount,
                'remainingCount' => (int)$result->remainingCount, 'records' => $records];
    };
    $step = 'getCustomObjects';
    $out['customObjects']['get'] = $getVisits();

    $step = 'deleteCustomObjects';
    $res = $api('deleteCustomObjects', [
        'objTypeName' => 'Roadshow',
        'customObjKeyLists' => ['keyList' => [attribute_list($visit('rs-1'))]],
    ]);
    $out['customObjects']['delete'] = custom_obj_statuses($res->result->deleteCustomObjStatusList);
    $step = 'getCustomObjects after delete';
    $out['customObjects']['afterDelete'] = $getVisits();

    // 5. every channel with its statuses, every tag type with its values
    $step = 'getChannels';
    $res = $api('getChannels', []);
    $channels = [];
    foreach (as_list($res->result->tags->tagStatus ?? null) as $ts) {
        $statuses = [];
        foreach (as_list($ts->statusList->progressionStatusItem ?? null) as $item) {
            $statuses[] = attribs($item->progressionStatus ?? null);
        }
        $channels[] = ['name' => $ts->tagValue, 'statuses' => $statuses];
    }
    $out['channels'] = $channels;

    $step = 'getTags';
    $res = $api('getTags', []);
    $tags = [];
    foreach (as_list($res->result->tagList->tag ?? null) as $t) {
        $tags[] = ['type' => $t->type, 'values' => as_list($t->values->stringItem ?? null)];
    }
    $out['tags'] = $tags;

    // 6. an unknown MObject type is a SoapFault
    $step = 'getMObjects Invoice';
    try {
        $res = $api('getMObjects', ['type' => 'Invoice']);
        $out['fault'] = ['raised' => false, 'result' => json_decode(json_encode($res), true)];
    } catch (SoapFault $e) {
        $out['fault'] = fault_report($e);
    }
} catch (Throwable $e) {
    fail($out, $step, $e, ['client' => $client, 'clientArrays' => $clientArrays]);
}

emit($out, 0);
