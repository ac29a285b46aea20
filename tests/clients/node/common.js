/*
 * What every node-soap scenario does: a client built from the served ?WSDL, an
 * AuthenticationHeader signed with HMAC-SHA1 over new Date().toISOString() + userId (node's
 * natural timestamp, e.g. 2026-11-28T13:55:34.558Z) and re-signed for every call through a
 * header function, and the JSON report a scenario prints (exit 0 when every step ran, exit
 * 1 with the failed step and the client's last request/response otherwise).
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

function xmlEscape(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function authHeader(userId, key) {
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

/** A client from the served WSDL that signs every call; it posts to the WSDL's soap:address. */
async function makeClient(endpoint, userId, key) {
  const client = await soap.createClientAsync(endpoint + '?WSDL');
  client.addSoapHeader(() => authHeader(userId, key));
  return client;
}

/** The number of operations node-soap found in the served WSDL. */
function wsdlOperations(client) {
  const d = client.describe();
  const svc = d.MktMktowsApiService && d.MktMktowsApiService.MktowsApiSoapPort;
  return svc ? Object.keys(svc).length : null;
}

const asList = (v) => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

const isTrue = (v) => v === true || v === 'true';

function shortHash(s) {
  return crypto.createHash('md5').update(s).digest('hex').slice(0, 10);
}

/** What a rejected call carries: HTTP status, faultcode, faultstring, detail/serviceException. */
function faultReport(err) {
  const fault = err && err.root && err.root.Envelope && err.root.Envelope.Body && err.root.Envelope.Body.Fault;
  const se = fault && fault.detail && fault.detail.serviceException;
  return {
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

function emit(out) {
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

/** Report an unexpected failure of `step` with the client's last exchange; exit code 1. */
function fail(out, step, err, client) {
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
  emit(out);
  process.exitCode = 1;
}

module.exports = { NS, argOrEnv, makeClient, wsdlOperations, asList, isTrue, shortHash, faultReport, emit, fail };
