#!/usr/bin/env node
/*
 * node-soap (npm `soap`) scenario for the MObject and custom-object calls,
 * written the way a node user writes them against the served ?WSDL: plain objects
 * for every request (the client takes the element names and namespaces from the WSDL) and
 * asList() around every list wrapper (node-soap gives a single item as an object).
 *
 * Usage: node mobjects.js ENDPOINT USER KEY EMAIL1 EMAIL2 DEAL
 *   (or env MKTOWS_ENDPOINT, MKTOWS_USER, MKTOWS_KEY, MKTOWS_EMAIL, MKTOWS_EMAIL2, MKTOWS_DEAL)
 *
 * Prints one JSON object on stdout (see common.js for the exit codes); the shape is the one
 * every mobjects scenario prints (tests/test_other_clients_mobjects.py).
 */
'use strict';

const { argOrEnv, makeClient, asList, isTrue, faultReport, emit, fail } = require('./common');

const endpoint = argOrEnv(1, 'MKTOWS_ENDPOINT');
const userId = argOrEnv(2, 'MKTOWS_USER');
const key = argOrEnv(3, 'MKTOWS_KEY');
const emails = [argOrEnv(4, 'MKTOWS_EMAIL'), argOrEnv(5, 'MKTOWS_EMAIL2')];
const deal = argOrEnv(6, 'MKTOWS_DEAL');

/** name => value of an ArrayOfAttrib (attribList, attrList, progressionStatus). */
function attribs(wrapper) {
  const out = {};
  for (const a of asList(wrapper && wrapper.attrib)) out[a.name] = a.value;
  return out;
}

/** attrName => attrValue of an ArrayOfAttribute (custom-object keys and fields). */
function attributes(wrapper) {
  const out = {};
  for (const a of asList(wrapper && wrapper.attribute)) out[a.attrName] = a.attrValue;
  return out;
}

const attribList = (values) => ({
  attrib: Object.entries(values).map(([name, value]) => ({ name, value: String(value) })),
});
const attributeList = (values) => ({
  attribute: Object.entries(values).map(([attrName, attrValue]) => ({ attrName, attrValue: String(attrValue) })),
});
const mobject = (type, attrs) => ({ type, attribList: attribList(attrs) });

function statuses(result) {
  return asList(result.mObjStatusList && result.mObjStatusList.mObjStatus).map((s) => ({
    status: s.status,
    id: s.id === undefined || s.id === null ? null : Number(s.id),
    error: s.error === undefined ? null : s.error,
  }));
}

function mobjectReport(o) {
  return {
    type: o.type,
    id: Number(o.id),
    createdAt: o.createdAt === undefined ? null : o.createdAt,
    attrs: attribs(o.attribList),
    externalKey: o.externalKey ? { name: o.externalKey.name, value: o.externalKey.value } : null,
    associations: asList(o.associationList && o.associationList.mObjAssociation).map((a) => [a.mObjType, Number(a.id)]),
    typeAttribs: asList(o.typeAttribList && o.typeAttribList.typeAttrib).map((t) => ({
      attrType: t.attrType,
      attrs: attribs(t.attrList),
    })),
  };
}

/** Every object of a getMObjects query, following newStreamPosition while hasMore. */
async function getAll(api, params) {
  const objects = [];
  const pageSizes = [];
  let result;
  do {
    result = (await api('getMObjects', params)).result;
    pageSizes.push(Number(result.returnCount));
    objects.push(...asList(result.mObjectList && result.mObjectList.mObject).map(mobjectReport));
    params = { ...params, streamPosition: result.newStreamPosition };
  } while (isTrue(result.hasMore) && pageSizes.length < 100);
  return { pageSizes, objects };
}

function customObjStatuses(list) {
  return asList(list && list.syncCustomObjStatus).map((s) => ({
    status: s.status,
    keys: attributes(s.customObjKeyList),
    error: s.error === undefined ? null : s.error,
  }));
}

async function main() {
  const out = {
    client: 'node-soap', soap_version: require('soap/package.json').version, node_version: process.version, ok: true,
  };
  let step = 'wsdl';
  let client = null;
  try {
    client = await makeClient(endpoint, userId, key);
    const api = async (op, params) => (await client[`${op}Async`](params))[0];

    // 1. two leads, an opportunity and a person role for each
    step = 'syncLead';
    const leads = [];
    for (const email of emails) {
      leads.push(Number((await api('syncLead', { leadRecord: { Email: email }, returnLead: false })).result.leadId));
    }
    out.leads = leads;

    step = 'syncMObjects Opportunity';
    let res = await api('syncMObjects', {
      mObjectList: { mObject: [
        mobject('Opportunity', { Name: deal, Stage: 'Prospecting', Amount: '25000.50', ExternalOpportunityId: deal }),
      ] },
      operation: 'INSERT',
    });
    [out.opportunity] = statuses(res.result);
    const opportunityId = out.opportunity.id;

    step = 'syncMObjects OpportunityPersonRole';
    res = await api('syncMObjects', {
      mObjectList: { mObject: [
        mobject('OpportunityPersonRole',
          { OpportunityId: opportunityId, PersonId: leads[0], Role: 'Decision Maker', IsPrimary: 'true' }),
        mobject('OpportunityPersonRole',
          { OpportunityId: opportunityId, PersonId: leads[1], Role: 'Influencer', IsPrimary: 'false' }),
      ] },
      operation: 'INSERT',
    });
    out.roles = statuses(res.result);

    // 2. the role of the first lead, the opportunity by name
    step = 'getMObjects OpportunityPersonRole by Lead';
    res = await api('getMObjects', {
      type: 'OpportunityPersonRole',
      mObjAssociationList: { mObjAssociation: [{ mObjType: 'Lead', id: leads[0] }] },
    });
    out.rolesOfLead = {
      returnCount: Number(res.result.returnCount),
      hasMore: isTrue(res.result.hasMore),
      objects: asList(res.result.mObjectList && res.result.mObjectList.mObject).map(mobjectReport),
    };

    step = 'getMObjects Opportunity by Name';
    res = await api('getMObjects', {
      type: 'Opportunity',
      mObjCriteriaList: { mObjCriteria: [{ attrName: 'Name', comparison: 'EQ', attrValue: deal }] },
    });
    out.opportunityByName = {
      returnCount: Number(res.result.returnCount),
      objects: asList(res.result.mObjectList && res.result.mObjectList.mObject).map(mobjectReport),
    };

    // 3. every program with its details, then a batch of 101 opportunities (two pages),
    //    following newStreamPosition while hasMore
    step = 'getMObjects Program';
    out.programs = await getAll(api, { type: 'Program', includeDetails: true });

    step = 'syncMObjects 101 Opportunity';
    const batch = [];
    for (let i = 1; i <= 101; i += 1) {
      batch.push(mobject('Opportunity', { Name: `${deal} #${String(i).padStart(3, '0')}`, Region: deal }));
    }
    const created = [];
    for (let start = 0; start < batch.length; start += 100) {
      const chunk = batch.slice(start, start + 100);
      res = await api('syncMObjects', { mObjectList: { mObject: chunk }, operation: 'INSERT' });
      created.push(...statuses(res.result));
    }
    step = 'getMObjects Opportunity by Region';
    const pages = await getAll(api, {
      type: 'Opportunity',
      mObjCriteriaList: { mObjCriteria: [{ attrName: 'Region', comparison: 'EQ', attrValue: deal }] },
    });
    out.batch = {
      created: created.map((s) => s.status),
      createdIds: created.map((s) => s.id),
      pageSizes: pages.pageSizes,
      ids: pages.objects.map((o) => o.id),
    };

    // 4. custom objects: two Roadshow visits of the first lead, read back by MKTOID, one deleted
    step = 'syncCustomObjects';
    const visit = (rid) => ({ MKTOID: leads[0], rid });
    res = await api('syncCustomObjects', {
      objTypeName: 'Roadshow',
      customObjList: { customObj: [
        { customObjKeyList: attributeList(visit('rs-1')),
          customObjAttributeList: attributeList({ city: 'Lyon', visited_on: '2026-03-01', attendees: 12 }) },
        { customObjKeyList: attributeList(visit('rs-2')),
          customObjAttributeList: attributeList({ city: 'Oslo', visited_on: '2026-04-15', attendees: 7 }) },
      ] },
      operation: 'UPSERT',
    });
    out.customObjects = { sync: customObjStatuses(res.result.syncCustomObjStatusList) };

    const getVisits = async () => {
      const r = (await api('getCustomObjects', {
        objTypeName: 'Roadshow',
        customObjKeyList: attributeList({ MKTOID: leads[0] }),
        includeAttributes: {},
      })).result;
      return {
        objTypeName: r.objTypeName,
        returnCount: Number(r.returnCount),
        remainingCount: Number(r.remainingCount),
        records: asList(r.customObjList && r.customObjList.customObj).map((co) => ({
          keys: attributes(co.customObjKeyList),
          attrs: attributes(co.customObjAttributeList),
        })),
      };
    };
    step = 'getCustomObjects';
    out.customObjects.get = await getVisits();

    step = 'deleteCustomObjects';
    res = await api('deleteCustomObjects', {
      objTypeName: 'Roadshow',
      customObjKeyLists: { keyList: [attributeList(visit('rs-1'))] },
    });
    out.customObjects.delete = customObjStatuses(res.result.deleteCustomObjStatusList);
    step = 'getCustomObjects after delete';
    out.customObjects.afterDelete = await getVisits();

    // 5. every channel with its statuses, every tag type with its values
    step = 'getChannels';
    res = await api('getChannels', {});
    out.channels = asList(res.result.tags && res.result.tags.tagStatus).map((ts) => ({
      name: ts.tagValue,
      statuses: asList(ts.statusList && ts.statusList.progressionStatusItem)
        .map((item) => attribs(item.progressionStatus)),
    }));

    step = 'getTags';
    res = await api('getTags', {});
    out.tags = asList(res.result.tagList && res.result.tagList.tag).map((t) => ({
      type: t.type,
      values: asList(t.values && t.values.stringItem),
    }));

    // 6. an unknown MObject type rejects with a SOAP fault
    step = 'getMObjects Invoice';
    try {
      res = await api('getMObjects', { type: 'Invoice' });
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
