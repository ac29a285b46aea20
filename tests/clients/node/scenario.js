#!/usr/bin/env node
/*
 * node-soap (npm `soap`) scenario against a mktows endpoint (the client from the served
 * ?WSDL, the AuthenticationHeader re-signed for every call and the report come from
 * common.js), with a LeadKeySelector given through node-soap's xsi:type attribute
 * mechanism (attributes.xsi_type).
 *
 * Usage: node scenario.js ENDPOINT USER KEY EMAIL LIST
 *   (or env MKTOWS_ENDPOINT, MKTOWS_USER, MKTOWS_KEY, MKTOWS_EMAIL, MKTOWS_LIST)
 *
 * Prints one JSON object on stdout (see common.js for the exit codes).
 */
'use strict';

const { NS, argOrEnv, makeClient, wsdlOperations, asList, isTrue, shortHash, faultReport, emit, fail } = require('./common');

const endpoint = argOrEnv(1, 'MKTOWS_ENDPOINT');
const userId = argOrEnv(2, 'MKTOWS_USER');
const key = argOrEnv(3, 'MKTOWS_KEY');
const email = argOrEnv(4, 'MKTOWS_EMAIL');
const listName = argOrEnv(5, 'MKTOWS_LIST');

function attrMap(record, wrapper = 'leadAttributeList') {
  const out = {};
  const w = record && record[wrapper];
  for (const a of asList(w && w.attribute)) out[a.attrName] = a.attrValue;
  return out;
}

async function main() {
  const out = { client: 'node-soap', soap_version: require('soap/package.json').version, node_version: process.version, ok: true };
  let step = 'wsdl';
  let client = null;
  try {
    client = await makeClient(endpoint, userId, key);
    out.wsdl_operations = wsdlOperations(client);

    // 1. syncLead (returnLead true)
    step = 'syncLead';
    const first = 'Node-Ünïcode';
    const custom = 'node-custom-' + shortHash(email).slice(0, 8);
    out.sent = { FirstName: first, Seed_Custom_Field: custom };
    let [res] = await client.syncLeadAsync({
      leadRecord: {
        Email: email,
        leadAttributeList: {
          attribute: [
            { attrName: 'FirstName', attrValue: first },
            { attrName: 'Seed_Custom_Field', attrValue: custom },
          ],
        },
      },
      returnLead: true,
    });
    const r = res.result;
    const leadId = Number(r.leadId);
    out.syncLead = {
      leadId,
      status: r.syncStatus.status,
      statusLeadId: Number(r.syncStatus.leadId),
      returnedEmail: r.leadRecord ? r.leadRecord.Email : null,
      returnedId: r.leadRecord ? Number(r.leadRecord.Id) : null,
      returnedAttrs: r.leadRecord ? attrMap(r.leadRecord) : null,
    };

    // 2. getLead by EMAIL
    step = 'getLead';
    [res] = await client.getLeadAsync({ leadKey: { keyType: 'EMAIL', keyValue: email } });
    const recs = asList(res.result.leadRecordList && res.result.leadRecordList.leadRecord);
    out.getLead = {
      count: Number(res.result.count),
      records: recs.length,
      Id: recs.length === 1 ? Number(recs[0].Id) : null,
      Email: recs.length === 1 ? recs[0].Email : null,
      attrs: recs.length === 1 ? attrMap(recs[0]) : null,
    };

    // 3. getMultipleLeads with a LeadKeySelector (xsi:type through node-soap's attributes);
    //    one key matches, the other matches nothing and is skipped.
    step = 'getMultipleLeads';
    const missing = `nobody-${shortHash(email)}@mktows-test.example.com`;
    [res] = await client.getMultipleLeadsAsync({
      leadSelector: {
        attributes: { xsi_type: { type: 'LeadKeySelector', xmlns: NS } },
        keyType: 'EMAIL',
        keyValues: { stringItem: [email, missing] },
      },
      batchSize: 10,
    });
    const mrecs = asList(res.result.leadRecordList && res.result.leadRecordList.leadRecord);
    out.getMultipleLeads = {
      returnCount: Number(res.result.returnCount),
      remainingCount: Number(res.result.remainingCount),
      ids: mrecs.map((x) => Number(x.Id)),
      emails: mrecs.map((x) => x.Email),
      requestHasXsiType: /xsi:type="[^"]*LeadKeySelector"/.test(client.lastRequest || ''),
    };

    // 4. listOperation ADDTOLIST, then ISMEMBEROFLIST
    for (const [op, k] of [['ADDTOLIST', 'addToList'], ['ISMEMBEROFLIST', 'isMemberOfList']]) {
      step = `listOperation ${op}`;
      [res] = await client.listOperationAsync({
        listOperation: op,
        listKey: { keyType: 'MKTOLISTNAME', keyValue: listName },
        listMemberList: { leadKey: [{ keyType: 'IDNUM', keyValue: String(leadId) }] },
        strict: false,
      });
      const sl = res.result.statusList;
      out[k] = {
        success: isTrue(res.result.success),
        statuses: asList(sl && sl.leadStatus).map((s) => ({
          keyType: s.leadKey.keyType,
          keyValue: String(s.leadKey.keyValue),
          status: isTrue(s.status),
        })),
      };
    }

    // 5. getLeadActivity by EMAIL
    step = 'getLeadActivity';
    [res] = await client.getLeadActivityAsync({ leadKey: { keyType: 'EMAIL', keyValue: email }, batchSize: 100 });
    const lal = res.leadActivityList;
    const acts = asList(lal.activityRecordList && lal.activityRecordList.activityRecord);
    const nl = acts.find((a) => a.activityType === 'New Lead');
    out.getLeadActivity = {
      returnCount: Number(lal.returnCount),
      remainingCount: Number(lal.remainingCount),
      types: acts.map((a) => a.activityType),
      newLead: nl ? { ...attrMap(nl, 'activityAttributes'), '@mktPersonId': String(nl.mktPersonId) } : null,
    };

    // 6. getLead for an unknown email must reject with a SOAP fault.
    step = 'getLead unknown';
    const unknown = `unknown-${shortHash(email + 'x')}@mktows-test.example.com`;
    out.unknownEmail = unknown;
    try {
      [res] = await client.getLeadAsync({ leadKey: { keyType: 'EMAIL', keyValue: unknown } });
      out.fault = { raised: false, result: res };
    } catch (err) {
      out.fault = faultReport(err);
    }
  } catch (err) {
    fail(out, step, err, client);
    return;
  }
  emit(out);
}

main();
