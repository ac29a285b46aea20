#!/usr/bin/env node
/*
 * node-soap (npm `soap`) scenario against a mktows endpoint: a client built from the
 * served ?WSDL, an AuthenticationHeader signed with HMAC-SHA1 over
 * new Date().toISOString() + userId (node's natural timestamp, e.g. 2026-11-28T13:55:34.558Z),
 * re-signed for every call through a header function, and a LeadKeySelector given
 * through node-soap's xsi:type attribute mechanism (attributes.xsi_type).
 *
 * Usage: node scenario.js ENDPOINT USER KEY EMAIL LIST
 *   (or env MKTOWS_ENDPOINT, MKTOWS_USER, MKTOWS_KEY, MKTOWS_EMAIL, MKTOWS_LIST)
 *
 * Prints one JSON object on stdout. Exit 0 when every step ran (the test asserts the
 * values); exit 1 with {"ok": false, "step", "error", "lastRequest", "lastResponse"} when
 * a step failed unexpectedly.
 */
'use strict';

const crypto = require('crypto');
const soap = require('soap');

const NS = 'http://www.marketo.com/mktows/';

function argOrEnv(i, env) {
  const v = process.argv[i + 1] || process.env[env];
  if (!v) {
    process.stderr.write(`missing argument ${i} (or env ${env})\n`);
    process.exit(2);
  }
  return v;
}

const endpoint = argOrEnv(1, 'MKTOWS_ENDPOINT');
const userId = argOrEnv(2, 'MKTOWS_USER');
const key = argOrEnv(3, 'MKTOWS_KEY');
const email = argOrEnv(4, 'MKTOWS_EMAIL');
const listName = argOrEnv(5, 'MKTOWS_LIST');

function xmlEscape(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function authHeader() {
  const ts = new Date().toISOString();
  const sig = crypto.createHmac('sha1', key).update(ts + userId).digest('hex');
  return (
    `<mkt:AuthenticationHeader xmlns:mkt="${NS}">` +
    `<mktowsUserId>${xmlEscape(userId)}</mktowsUserId>` +
    `<requestSignature>${sig}</requestSignature>` +
    `<requestTimestamp>${ts}</requestTimestamp>` +
    `</mkt:AuthenticationHeader>`
  );
}

const asList = (v) => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

function attrMap(record, wrapper = 'leadAttributeList') {
  const out = {};
  const w = record && record[wrapper];
  for (const a of asList(w && w.attribute)) out[a.attrName] = a.attrValue;
  return out;
}

function shortHash(s) {
  return crypto.createHash('md5').update(s).digest('hex').slice(0, 10);
}

async function main() {
  const out = { client: 'node-soap', soap_version: require('soap/package.json').version, node_version: process.version, ok: true };
  let step = 'wsdl';
  let client = null;
  try {
    client = await soap.createClientAsync(endpoint + '?WSDL');
    // No setEndpoint(): the client posts to the soap:address of the served WSDL.
    client.addSoapHeader(() => authHeader());
    const d = client.describe();
    const svc = d.MktMktowsApiService && d.MktMktowsApiService.MktowsApiSoapPort;
    out.wsdl_operations = svc ? Object.keys(svc).length : null;

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
        success: res.result.success === true || res.result.success === 'true',
        statuses: asList(sl && sl.leadStatus).map((s) => ({
          keyType: s.leadKey.keyType,
          keyValue: String(s.leadKey.keyValue),
          status: s.status === true || s.status === 'true',
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
      const fault = err && err.root && err.root.Envelope && err.root.Envelope.Body && err.root.Envelope.Body.Fault;
      const se = fault && fault.detail && fault.detail.serviceException;
      out.fault = {
        raised: true,
        errorMessage: err.message,
        httpStatus: err.response ? err.response.status : null,
        faultcode: fault ? fault.faultcode : null,
        faultstring: fault ? fault.faultstring : null,
        code: se && se.code !== undefined ? Number(se.code) : null,
        name: se ? se.name : null,
        message: se ? se.message : null,
      };
    }
  } catch (err) {
    out.ok = false;
    out.step = step;
    out.error = String(err && err.stack ? err.stack : err);
    if (err && err.root) out.errorRoot = err.root;
    if (client) {
      out.trace = {
        lastEndpoint: client.lastEndpoint,
        lastRequest: client.lastRequest,
        lastRequestHeaders: client.lastRequestHeaders,
        lastResponse: client.lastResponse,
        lastResponseHeaders: client.lastResponseHeaders,
      };
    }
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    process.exitCode = 1;
    return;
  }
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

main();
