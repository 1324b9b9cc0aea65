'use strict';
// nforce8 2.0.11 (the promise-only fork of nforce: node-fetch for REST, faye for
// the Streaming API) against forcebus, used as its README shows.
//
// Pointing it at forcebus: `loginUri` is the full token endpoint URL
// (`{server}/services/oauth2/token`); every later REST call goes to the
// `instance_url` of the token answer, and the streaming client to
// `{instance_url}/cometd/{apiVersion}`. Mode `single` keeps the oauth object on
// the connection; mode `multi` takes `oauth: {instance_url, access_token}` with
// each call, so a token from elsewhere (the ready line's) works without a login.
//
// What 2.0.11 does on its own, checked here because a user meets it:
// - REST calls use API v45.0 (its package.json's `sfdx.api`) whatever the
//   connection's `apiVersion` says (that one only picks the CometD endpoint);
//   a call's own `apiVersion` option overrides it.
// - Record field names are lowercased before they are sent (`{"name": …}`), and
//   so are object names in URLs (`/sobjects/account/…`); forcebus, as
//   Salesforce, matches names without regard to case.
// - A 204 (update, delete, an upsert that updates before API 46.0) has no
//   Content-Type (Salesforce sends none either: node-red-contrib-salesforce
//   issue #38 shows the same failure against a real org), and nforce8's
//   `util.isJsonResponse` calls `.toLowerCase()` on the null header: the call
//   rejects with a TypeError although the write was made.
// - On an error status it does not await `res.json()`: the rejection has the
//   HTTP status as `statusCode`, a generic message and the body's promise as
//   `body`; Salesforce's `[{message, errorCode}]` array is what that promise
//   resolves to. So `autoRefresh`, which looks for `errorCode`
//   `INVALID_SESSION_ID`, never runs.
// - `getVersions()` always asks http://na1.salesforce.com/services/data/ and
//   `revokeToken()` https://login.salesforce.com: neither can be pointed
//   elsewhere (`getUrl({url: '/services/data'})` lists the versions instead).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const path = require('node:path');
const nforce = require('nforce8');
const { startServer, rawRequest, revokeToken } = require('./server');
const { TEST_TIMEOUT_MS, waitUntil, withTimeout, findChange, summary, settle } = require('./helpers/streaming');

/** The version nforce8 2.0.11 puts in REST URLs. */
const NF_API = '45.0';
/** Number of Accounts the paging tests query (more than one 2,000-row page). */
const PAGED = 2050;

let srv;
let org; // single-user connection, logged in by the OAuth password flow
const streamClients = [];

/** A single-mode connection whose token requests go to this file's server. */
function connection(extra = {}) {
  return nforce.createConnection({
    clientId: srv.info.client_id,
    clientSecret: srv.info.client_secret,
    redirectUri: 'http://localhost:3000/oauth/_callback',
    loginUri: `${srv.baseUrl}/services/oauth2/token`,
    apiVersion: 'v59.0',
    mode: 'single',
    ...extra,
  });
}

/** The rejection of `promise` (fails the test if it resolves). */
async function rejection(promise) {
  return promise.then((res) => assert.fail(`expected a rejection, got ${JSON.stringify(res)}`), (e) => e);
}

/** Assert `promise` rejects with nforce8's HTTP error; returns `[status, body]` (the body awaited). */
async function httpError(promise) {
  const err = await rejection(promise);
  assert.ok(err.body && typeof err.body.then === 'function', `nforce8 keeps the body's promise: ${err.stack}`);
  assert.equal(err.message, `Salesforce returned an unrecognized error ${err.statusCode}`);
  assert.equal(err.errorCode, undefined, 'nforce8 2.0.11 never reads errorCode (the body is not awaited)');
  return [err.statusCode, await err.body];
}

/** Assert `promise` rejects as nforce8 does on any 204 (no Content-Type header). */
async function after204(promise) {
  const err = await rejection(promise);
  assert.ok(err instanceof TypeError, `expected nforce8's TypeError on a 204, got ${err.stack}`);
  assert.equal(err.message, "Cannot read properties of null (reading 'toLowerCase')");
  assert.match(err.stack, /isJsonResponse/);
}

/**
 * Disconnect an nforce8 stream client and wait until its faye (1.2.4, which
 * nforce8 pins; `helpers/faye.js` is for jsforce's 1.4, whose envelopes are a
 * Map) has no request left, so that no retry timer outlives the server.
 */
async function disconnect(client) {
  const faye = client._fayeClient;
  try {
    const p = faye.disconnect();
    if (p) await withTimeout(p.then(), 'faye disconnect', 5000);
  } catch {
    // not connected, or already gone
  }
  const envelopes = () => Object.values(faye._dispatcher._envelopes);
  await waitUntil(() => envelopes().length === 0, 'faye requests settled', { ms: 2000 }).catch(() => {});
  for (const envelope of envelopes()) clearTimeout(envelope.timer);
  faye._dispatcher.close();
}

/** A record straight from the REST API (canonical field names), through the ready line's token. */
async function readBack(type, id, fields) {
  const res = await rawRequest(srv, 'GET', `/services/data/v59.0/sobjects/${type}/${id}?fields=${fields.join(',')}`, {
    headers: { authorization: `Bearer ${srv.info.access_token}` },
  });
  return { status: res.status, record: res.json };
}

before(async () => {
  srv = await startServer('nforce8', { prefix: 'nforce8' });
  org = connection();
  await org.authenticate({ username: srv.info.username, password: srv.info.password });
});
after(async () => {
  for (const c of streamClients) await disconnect(c);
  await srv?.stop();
});

describe('nforce8 OAuth login', () => {
  it('authenticate(): the password grant at loginUri, the token answer kept on a single-mode connection', async () => {
    const conn = connection();
    const oauth = await conn.authenticate({
      username: srv.info.username, password: srv.info.password, securityToken: srv.info.security_token,
    });
    assert.equal(oauth.instance_url, srv.baseUrl);
    assert.equal(oauth.id, `${srv.baseUrl}/id/${srv.info.org_id}/${srv.info.user_id}`);
    assert.equal(oauth.token_type, 'Bearer');
    assert.ok(oauth.access_token.startsWith(`${srv.info.org_id}!`), oauth.access_token);
    assert.match(oauth.signature, /^[A-Za-z0-9+/]+=*$/);
    assert.match(oauth.issued_at, /^\d{13}$/);
    assert.equal(conn.oauth.access_token, oauth.access_token, 'single mode keeps the answer');
    // the password was sent with the security token appended
    assert.equal(conn.getPassword(), srv.info.password + srv.info.security_token);

    const identity = await conn.getIdentity();
    assert.equal(identity.username, srv.info.username);
    assert.equal(identity.user_id, srv.info.user_id);
    assert.equal(identity.organization_id, srv.info.org_id);
  });

  it('the web-server flow: getAuthUri (authEndpoint) → the sign-in form → authenticate({code}) → refreshToken()', async () => {
    const conn = connection({ authEndpoint: `${srv.baseUrl}/services/oauth2/authorize` });
    const uri = new URL(conn.getAuthUri({ state: 'nf8-state', scope: ['api', 'refresh_token'] }));
    assert.equal(uri.origin + uri.pathname, `${srv.baseUrl}/services/oauth2/authorize`);
    assert.deepEqual(Object.fromEntries(uri.searchParams), {
      response_type: 'code', client_id: srv.info.client_id, redirect_uri: 'http://localhost:3000/oauth/_callback',
      scope: 'api refresh_token', state: 'nf8-state',
    });
    // what a browser does: the page's form, posted with the user's credentials
    const page = await (await fetch(uri)).text();
    const form = new URLSearchParams();
    for (const [, name, value] of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.append(name, value);
    form.append('username', srv.info.username);
    form.append('pw', srv.info.password);
    const signIn = await fetch(`${srv.baseUrl}/services/oauth2/authorize`, { method: 'POST', body: form, redirect: 'manual' });
    assert.equal(signIn.status, 302);
    const back = new URL(signIn.headers.get('location'));
    assert.equal(back.origin + back.pathname, 'http://localhost:3000/oauth/_callback');
    assert.equal(back.searchParams.get('state'), 'nf8-state');

    const oauth = await conn.authenticate({ code: back.searchParams.get('code') });
    assert.equal(oauth.instance_url, srv.baseUrl);
    assert.match(oauth.refresh_token, /^5Aep/);
    assert.equal(oauth.scope, 'api refresh_token');
    assert.equal((await conn.getIdentity()).user_id, srv.info.user_id);
    await assert.rejects(connection().authenticate({ code: back.searchParams.get('code') }),
      (e) => e.statusCode === 400, 'a code is used once');

    const before = oauth.access_token;
    const refreshed = await conn.refreshToken({ oauth });
    assert.notEqual(refreshed.access_token, before);
    assert.equal(refreshed.refresh_token, oauth.refresh_token, 'kept (nforce8 merges the answer into the oauth object)');
    assert.equal(conn.oauth.access_token, refreshed.access_token);
    assert.equal((await conn.getLimits()).DailyApiRequests.Max, 15000);
  });

  it('a wrong password: nforce8 rejects with the status (400 invalid_grant on the wire)', async () => {
    const err = await rejection(connection().authenticate({ username: srv.info.username, password: 'wrong' }));
    assert.equal(err.statusCode, 400);
    assert.equal(err.message, 'Fetch failed:Bad Request');
    // what the server answered (nforce8 does not read it)
    const res = await rawRequest(srv, 'POST', '/services/oauth2/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password', client_id: srv.info.client_id, client_secret: srv.info.client_secret,
        username: srv.info.username, password: 'wrong',
      }).toString(),
    });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, { error: 'invalid_grant', error_description: 'authentication failure' });
  });

  it('multi mode with an existing token: oauth {instance_url, access_token} passed with each call', async () => {
    const multi = nforce.createConnection({ clientId: 'unused', redirectUri: 'http://localhost/cb' });
    const oauth = { instance_url: srv.baseUrl, access_token: srv.info.access_token };
    const limits = await multi.getLimits({ oauth });
    assert.equal(limits.DailyApiRequests.Max, 15000);
    assert.ok(Number.isInteger(limits.DailyApiRequests.Remaining) && limits.DailyApiRequests.Remaining < 15000,
      JSON.stringify(limits.DailyApiRequests));
    const res = await multi.query({ oauth, query: 'SELECT Id, Username FROM User WHERE Id = \'' + srv.info.user_id + '\'' });
    assert.equal(res.totalSize, 1);
    assert.equal(res.records[0].get('Username'), srv.info.username);
  });

  it('a revoked token: 401 INVALID_SESSION_ID in the body; autoRefresh does not happen, authenticate() again does', async () => {
    const conn = connection({ autoRefresh: true });
    await conn.authenticate({ username: srv.info.username, password: srv.info.password });
    const old = conn.oauth.access_token;
    await revokeToken(srv, old);
    const [status, body] = await httpError(conn.getLimits());
    assert.equal(status, 401);
    assert.deepEqual(body, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    assert.equal(conn.oauth.access_token, old, 'no refresh was attempted');
    await conn.authenticate({ username: srv.info.username, password: srv.info.password });
    assert.notEqual(conn.oauth.access_token, old);
    assert.equal((await conn.getLimits()).DailyApiRequests.Max, 15000);
  });
});

describe('nforce8 CRUD', () => {
  it('insert (lowercased field names) → getRecord → update → delete; the 204s reject in nforce8 but the writes are made', async () => {
    const acc = nforce.createSObject('Account', { Name: 'Nforce Widgets', Industry: 'Energy' });
    const created = await org.insert({ sobject: acc });
    assert.deepEqual(Object.keys(created), ['id', 'success', 'errors']);
    assert.equal(created.success, true);
    assert.deepEqual(created.errors, []);
    assert.match(created.id, /^001[A-Za-z0-9]{15}$/);
    assert.equal(acc.getId(), created.id, 'nforce8 puts the new id on the sobject');

    const rec = await org.getRecord({ type: 'Account', id: acc.getId(), fields: ['Name', 'Industry', 'Phone'] });
    assert.equal(rec.get('Name'), 'Nforce Widgets');
    assert.equal(rec.get('Industry'), 'Energy');
    assert.equal(rec.get('Phone'), null);
    assert.equal(rec.getId(), created.id);
    assert.deepEqual(rec.attributes, { type: 'Account', url: `/services/data/v${NF_API}/sobjects/Account/${created.id}` });
    const raw = await org.getRecord({ type: 'Account', id: acc.getId(), fields: 'Name', raw: true });
    assert.deepEqual(raw, { attributes: rec.attributes, Name: 'Nforce Widgets', Id: created.id },
      'read back under the canonical names');

    // update sends only the changed field
    rec.set('Phone', '555-0188');
    assert.deepEqual(rec._getPayload(true), { phone: '555-0188' });
    await after204(org.update({ sobject: rec }));
    let back = await readBack('Account', created.id, ['Name', 'Phone', 'Industry']);
    assert.equal(back.record.Phone, '555-0188');
    assert.equal(back.record.Name, 'Nforce Widgets', 'fields not sent are untouched');

    // the README's flow: query, set, update
    const q = await org.query({ query: `SELECT Id, Name FROM Account WHERE Id = '${created.id}'` });
    const [fromQuery] = q.records;
    fromQuery.set('Name', 'Nforce Coyote');
    await after204(org.update({ sobject: fromQuery }));
    back = await readBack('Account', created.id, ['Name', 'Phone']);
    assert.equal(back.record.Name, 'Nforce Coyote');
    assert.equal(back.record.Phone, '555-0188');

    await after204(org.delete({ sobject: rec }));
    const [status, body] = await httpError(org.getRecord({ type: 'Account', id: created.id }));
    assert.equal(status, 404);
    assert.deepEqual(body, [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
    const all = await org.queryAll({ query: `SELECT Id, IsDeleted FROM Account WHERE Id = '${created.id}'`, raw: true });
    assert.deepEqual(all.records.map((r) => [r.Id, r.IsDeleted]), [[created.id, true]], 'in the Recycle Bin');
    const [s2, b2] = await httpError(org.delete({ sobject: rec }));
    assert.equal(s2, 404);
    assert.deepEqual(b2, [{ message: 'entity is deleted', errorCode: 'ENTITY_IS_DELETED' }]);
  });

  it('upsert by External_Id__c: 201 created; again at v45.0 a 204 (nforce8 rejects), at v59.0 200 created:false', async () => {
    const up = nforce.createSObject('Account', { Name: 'Upserted One' });
    up.setExternalId('External_Id__c', 'NF8-UP-1');
    assert.equal(up.getExternalIdField(), 'external_id__c', 'nforce8 lowercases the field in the URL too');
    const created = await org.upsert({ sobject: up });
    assert.deepEqual(Object.keys(created), ['id', 'success', 'errors'], '`created` only from API 46.0');
    assert.equal(created.success, true);
    assert.match(created.id, /^001/);

    const again = nforce.createSObject('Account', { Name: 'Upserted Two' });
    again.setExternalId('External_Id__c', 'NF8-UP-1');
    await after204(org.upsert({ sobject: again }));
    assert.equal((await readBack('Account', created.id, ['Name'])).record.Name, 'Upserted Two');

    const third = nforce.createSObject('Account', { Name: 'Upserted Three', Phone: '555-0199' });
    third.setExternalId('External_Id__c', 'NF8-UP-1');
    const updated = await org.upsert({ sobject: third, apiVersion: 'v59.0' });
    assert.deepEqual(updated, { id: created.id, success: true, errors: [], created: false });
    const back = await readBack('Account', created.id, ['Name', 'Phone', 'External_Id__c']);
    assert.deepEqual([back.record.Name, back.record.Phone, back.record.External_Id__c],
      ['Upserted Three', '555-0199', 'NF8-UP-1']);
  });

  it('errors: an unknown field, a missing required field, an unknown object, a bad id', async () => {
    let [status, body] = await httpError(org.insert({ sobject: nforce.createSObject('Account', { Name: 'x', Bogus__c: 1 }) }));
    assert.equal(status, 400);
    assert.deepEqual(body, [{ message: "No such column 'bogus__c' on sobject of type Account", errorCode: 'INVALID_FIELD' }]);

    [status, body] = await httpError(org.insert({ sobject: nforce.createSObject('Account', { Industry: 'Energy' }) }));
    assert.equal(status, 400);
    assert.deepEqual(body, [{ message: 'Required fields are missing: [Name]', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['Name'] }]);

    [status, body] = await httpError(org.getDescribe({ type: 'NoSuchThing__c' }));
    assert.equal(status, 404);
    assert.equal(body[0].errorCode, 'NOT_FOUND');

    [status, body] = await httpError(org.getRecord({ type: 'Account', id: '001000000000000AAA' }));
    assert.equal(status, 404);
    assert.deepEqual(body, [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
  });
});

describe('nforce8 query and queryAll', () => {
  let seeded; // ids of the PAGED Accounts, sorted

  before(async () => {
    // nforce8 has no collection call; seed through /composite/sobjects.
    seeded = [];
    for (let i = 0; i < PAGED; i += 200) {
      const records = [];
      for (let j = i; j < Math.min(i + 200, PAGED); j += 1) {
        records.push({ attributes: { type: 'Account' }, Name: `Paged ${String(j).padStart(4, '0')}` });
      }
      const res = await rawRequest(srv, 'POST', '/services/data/v59.0/composite/sobjects', {
        headers: { authorization: `Bearer ${srv.info.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ allOrNone: true, records }),
      });
      assert.equal(res.status, 200, res.text);
      seeded.push(...res.json.map((r) => r.id));
    }
    seeded.sort();
  });

  const SOQL = "SELECT Id, Name FROM Account WHERE Name LIKE 'Paged %'";

  it('one page: 2,000 Records, done false, a /query/ nextRecordsUrl under v45.0', async () => {
    const res = await org.query({ query: SOQL });
    assert.equal(res.totalSize, PAGED);
    assert.equal(res.done, false);
    assert.equal(res.records.length, 2000);
    assert.match(res.nextRecordsUrl, new RegExp(`^/services/data/v${NF_API}/query/01g[A-Za-z0-9]+-2000$`));
    const r = res.records[0];
    assert.ok(r instanceof nforce.Record);
    assert.match(r.get('name'), /^Paged \d{4}$/, 'Record.get is case-insensitive');
    assert.equal(r.attributes.type, 'Account');
  });

  it('fetchAll follows nextRecordsUrl to the end: every seeded Account once', async () => {
    const res = await org.query({ query: SOQL, fetchAll: true });
    assert.equal(res.done, true);
    assert.equal(res.totalSize, PAGED);
    assert.equal(res.nextRecordsUrl, undefined);
    assert.deepEqual(res.records.map((r) => r.getId()).sort(), seeded);
  });

  it('Sforce-Query-Options batchSize through the call\'s headers: pages of 500 with raw records', async () => {
    const headers = { 'Sforce-Query-Options': 'batchSize=500' };
    const first = await org.query({ query: `${SOQL} ORDER BY Name`, headers, raw: true });
    assert.equal(first.records.length, 500);
    assert.match(first.nextRecordsUrl, /-500$/);
    assert.equal(first.records[0].Name, 'Paged 0000');
    assert.equal(first.records[499].Name, 'Paged 0499');
    // the second page by hand, as fetchAll asks for it (getUrl, no headers): the locator keeps 500
    const second = await org.getUrl({ url: first.nextRecordsUrl });
    assert.equal(second.records.length, 500);
    assert.equal(second.records[0].Name, 'Paged 0500');
    assert.match(second.nextRecordsUrl, /-1000$/);

    const all = await org.query({ query: `${SOQL} ORDER BY Name`, headers, raw: true, fetchAll: true });
    assert.equal(all.records.length, PAGED);
    assert.deepEqual(all.records.map((r) => r.Name),
      Array.from({ length: PAGED }, (_, i) => `Paged ${String(i).padStart(4, '0')}`), 'in ORDER BY order across pages');
  });

  it('queryAll with fetchAll includes deleted rows; query does not', async () => {
    const gone = seeded.slice(0, 3);
    for (const id of gone) {
      await after204(org.delete({ sobject: nforce.createSObject('Account', { Id: id }) }));
    }
    const all = await org.queryAll({ query: `SELECT Id, IsDeleted FROM Account WHERE Name LIKE 'Paged %'`, fetchAll: true });
    assert.equal(all.totalSize, PAGED);
    assert.equal(all.records.length, PAGED);
    assert.deepEqual(all.records.filter((r) => r.get('IsDeleted')).map((r) => r.getId()).sort(), [...gone].sort());
    const live = await org.query({ query: 'SELECT COUNT() FROM Account WHERE Name LIKE \'Paged %\'' });
    assert.equal(live.totalSize, PAGED - 3);
    assert.deepEqual(live.records, []);
  });

  it('a bad field: 400 INVALID_FIELD with the caret diagram; a call\'s apiVersion overrides v45.0', async () => {
    const [status, body] = await httpError(org.query({ query: 'SELECT Bogus__c FROM Account' }));
    assert.equal(status, 400);
    assert.equal(body.length, 1);
    assert.equal(body[0].errorCode, 'INVALID_FIELD');
    assert.match(body[0].message, /^\nSELECT Bogus__c FROM Account\n {7}\^\nERROR at Row:1:Column:8\nNo such column 'Bogus__c' on entity 'Account'/);

    const res = await org.query({ query: `SELECT Id FROM Account WHERE Id = '${seeded[10]}'`, apiVersion: 'v59.0', raw: true });
    assert.equal(res.records[0].attributes.url, `/services/data/v59.0/sobjects/Account/${seeded[10]}`);
  });
});

describe('nforce8 describe, limits, resources, search', () => {
  it('getSObjects, getDescribe, getMetadata', async () => {
    const global = await org.getSObjects();
    assert.equal(global.encoding, 'UTF-8');
    assert.equal(global.maxBatchSize, 200);
    const account = global.sobjects.find((s) => s.name === 'Account');
    assert.equal(account.keyPrefix, '001');
    assert.equal(account.urls.sobject, `/services/data/v${NF_API}/sobjects/Account`);

    const d = await org.getDescribe({ type: 'Account' });
    assert.equal(d.name, 'Account');
    const ext = d.fields.find((f) => f.name === 'External_Id__c');
    assert.equal(ext.externalId, true);
    assert.equal(d.fields.find((f) => f.name === 'Id').type, 'id');

    const m = await org.getMetadata({ type: 'Account' });
    assert.equal(m.objectDescribe.name, 'Account');
    assert.ok(Array.isArray(m.recentItems));
  });

  it('getLimits, getResources; the versions through getUrl (getVersions asks na1.salesforce.com)', async () => {
    const limits = await org.getLimits();
    assert.ok(limits.DailyApiRequests.Remaining <= limits.DailyApiRequests.Max);
    const res = await org.getResources();
    assert.equal(res.sobjects, `/services/data/v${NF_API}/sobjects`);
    assert.equal(res.query, `/services/data/v${NF_API}/query`);
    const versions = await org.getUrl({ url: '/services/data' });
    assert.ok(versions.some((v) => v.version === NF_API && v.url === `/services/data/v${NF_API}`), JSON.stringify(versions));
  });

  it('search (SOSL): searchRecords as the API sends them; a malformed search as a 400', async () => {
    const a = await org.insert({ sobject: nforce.createSObject('Account', { Name: 'Zephyrine Holdings' }) });
    const c = await org.insert({ sobject: nforce.createSObject('Contact', { LastName: 'Zephyrine', FirstName: 'Ada' }) });
    const res = await org.search({ search: 'FIND {Zephyrine} RETURNING Account(Id, Name), Contact(Id, Name)' });
    assert.deepEqual(Object.keys(res), ['searchRecords']);
    assert.deepEqual(
      res.searchRecords.map((r) => [r.attributes.type, r.Id, r.Name]).sort(),
      [['Account', a.id, 'Zephyrine Holdings'], ['Contact', c.id, 'Ada Zephyrine']],
    );
    const [status, body] = await httpError(org.search({ search: 'FIND Zephyrine' }));
    assert.equal(status, 400);
    assert.equal(body[0].errorCode, 'MALFORMED_SEARCH');
  });
});

describe('nforce8 streaming (faye)', () => {
  /** A stream client on the single-mode connection, disconnected in after(). */
  function streamClient() {
    const client = org.createStreamClient();
    streamClients.push(client);
    return client;
  }

  /** Subscribe and collect `data`; resolves once the subscribe succeeded. */
  async function subscribe(client, topic, replayId) {
    const datas = [];
    const sub = client.subscribe({ topic, replayId });
    sub.on('data', (d) => datas.push(d));
    await new Promise((resolve, reject) => {
      sub.on('connect', resolve);
      sub.on('error', (e) => reject(new Error(`subscribe ${topic}: ${e.message}`)));
    });
    return datas;
  }

  let created; // { id, createReplay }

  it('CDC, a PushTopic and a platform event: each write seen once, with its header fields', { timeout: TEST_TIMEOUT_MS }, async () => {
    const topic = await org.insert({
      sobject: nforce.createSObject('PushTopic', {
        Name: 'NfEnergyAccounts', ApiVersion: 59.0, NotifyForFields: 'Referenced',
        Query: "SELECT Id, Name, Phone FROM Account WHERE Industry = 'Energy'",
      }),
    });
    assert.match(topic.id, /^0IF/);

    const client = streamClient();
    assert.equal(client._endpoint, `${srv.baseUrl}/cometd/59.0`);
    const [cdc, pushed, shipped] = await Promise.all([
      subscribe(client, '/data/AccountChangeEvent', -1),
      subscribe(client, '/topic/NfEnergyAccounts', -1),
      subscribe(client, '/event/Order_Shipped__e', -1),
    ]);

    const acc = nforce.createSObject('Account', { Name: 'Streamed Energy', Industry: 'Energy' });
    const { id } = await org.insert({ sobject: acc });
    const other = await org.insert({ sobject: nforce.createSObject('Account', { Name: 'Streamed Other', Industry: 'Banking' }) });
    // Both CREATEs awaited: the second may come in a later long-poll answer than the first.
    await waitUntil(() => findChange(cdc, id) && findChange(cdc, other.id) && pushed.length >= 1,
      'both CREATEs and the PushTopic notification',
      { describe: () => `${summary(cdc)} ${JSON.stringify(pushed)}` });

    const c = findChange(cdc, id);
    const h = c.payload.ChangeEventHeader;
    assert.equal(h.entityName, 'Account');
    assert.deepEqual(h.recordIds, [id]);
    assert.equal(h.changeOrigin, `com/salesforce/api/rest/${NF_API}`);
    assert.equal(h.commitUser, srv.info.user_id);
    assert.equal(h.sequenceNumber, 1);
    assert.match(h.transactionKey, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.ok(Math.abs(h.commitTimestamp - Date.now()) < 60000);
    assert.deepEqual(h.changedFields, []);
    assert.equal(c.payload.Name, 'Streamed Energy');
    assert.equal(c.payload.Industry, 'Energy');
    assert.equal(c.payload.OwnerId, srv.info.user_id);
    assert.match(c.schema, /^[\w-]{22}$/);
    assert.ok(findChange(cdc, other.id), 'the other Account is on the CDC channel too');

    assert.deepEqual(pushed[0].sobject, { Id: id, Name: 'Streamed Energy', Phone: null });
    assert.equal(pushed[0].event.type, 'created');
    assert.ok(Number.isInteger(pushed[0].event.replayId));

    // an update (nforce8 rejects on the 204; the change is made and streamed)
    acc.set('Phone', '555-0177');
    await after204(org.update({ sobject: acc }));
    await waitUntil(() => findChange(cdc, id, 'UPDATE') && pushed.length >= 2, 'the UPDATE',
      { describe: () => `${summary(cdc)} ${JSON.stringify(pushed)}` });
    const u = findChange(cdc, id, 'UPDATE');
    assert.deepEqual([...u.payload.ChangeEventHeader.changedFields].sort(), ['LastModifiedDate', 'Phone']);
    assert.equal(u.payload.Phone, '555-0177');
    assert.equal(u.payload.Name, undefined, 'an UPDATE carries only the changed fields');
    assert.ok(u.event.replayId > c.event.replayId);
    assert.deepEqual(pushed[1].sobject, { Id: id, Name: 'Streamed Energy', Phone: '555-0177' });
    assert.equal(pushed[1].event.type, 'updated');

    // a platform event published through nforce8's insert
    const ev = await org.insert({ sobject: nforce.createSObject('Order_Shipped__e', { Order_Number__c: 'NF8-1', Weight__c: 2.5 }) });
    assert.equal(ev.success, true);
    assert.equal(ev.errors[0].statusCode, 'OPERATION_ENQUEUED');
    await waitUntil(() => shipped.length >= 1, 'the platform event');
    assert.equal(shipped[0].payload.Order_Number__c, 'NF8-1');
    assert.equal(shipped[0].payload.Weight__c, 2.5);
    assert.equal(shipped[0].payload.CreatedById, srv.info.user_id);
    assert.equal(shipped[0].event.EventUuid, ev.errors[0].message);

    await settle();
    assert.equal(cdc.filter((d) => d.payload.ChangeEventHeader.recordIds.includes(id)).length, 2, summary(cdc));
    assert.equal(pushed.length, 2, 'nothing for the Banking Account');
    assert.equal(shipped.length, 1);
    created = { id, createReplay: c.event.replayId };
  });

  it('replayId -2 replays the retained events; a stored replay id only later ones', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(created, 'needs the test before');
    const all = await subscribe(streamClient(), '/data/AccountChangeEvent', -2);
    await waitUntil(() => findChange(all, created.id, 'UPDATE'), 'the retained UPDATE', { describe: () => summary(all) });
    const ours = all.filter((d) => d.payload.ChangeEventHeader.recordIds.includes(created.id));
    assert.deepEqual(ours.map((d) => d.payload.ChangeEventHeader.changeType), ['CREATE', 'UPDATE']);
    assert.equal(ours[0].event.replayId, created.createReplay);

    const later = await subscribe(streamClient(), '/data/AccountChangeEvent', created.createReplay);
    await waitUntil(() => findChange(later, created.id, 'UPDATE'), 'the UPDATE after the stored id', { describe: () => summary(later) });
    await settle();
    assert.ok(later.every((d) => d.event.replayId > created.createReplay), summary(later));
    assert.equal(findChange(later, created.id, 'CREATE'), undefined);
  });

  /** The error a subscription reports (fails the test if it connects). */
  function subscribeError(client, topic, replayId) {
    const sub = client.subscribe({ topic, replayId });
    return new Promise((resolve, reject) => {
      sub.on('error', resolve);
      sub.on('connect', () => reject(new Error(`subscribe ${topic} succeeded`)));
    });
  }

  it('without a replayId nforce8 sends its replay map without the channel: refused, as Salesforce does', { timeout: TEST_TIMEOUT_MS }, async () => {
    // nforce8 puts `ext.replay` (its map of channel → replayId, shared by the
    // client's subscriptions) on every subscribe, also when it is empty; a map
    // that does not name the channel is a 400 (streaming-cometd.md §2.4), so
    // its README's `client.subscribe({topic})` needs a replayId (-1: new events).
    let err = await subscribeError(streamClient(), '/data/AccountChangeEvent');
    assert.equal(err.message, "400::The replayId for channel {/data/AccountChangeEvent} wasn't found using the provided "
      + 'replay ID map {{}}. Ensure that the channel name you provided in the replay map is valid and matches the '
      + 'channel name used for subscribing.');
    const client = streamClient();
    await subscribe(client, '/event/Order_Shipped__e', -1);
    err = await subscribeError(client, '/data/AccountChangeEvent');
    assert.match(err.message, /^400::The replayId for channel \{\/data\/AccountChangeEvent\} wasn't found using the provided replay ID map \{\{\/event\/Order_Shipped__e=-1\}\}\./);
  });

  it('a channel that does not exist: the subscription\'s error event', { timeout: TEST_TIMEOUT_MS }, async () => {
    const err = await subscribeError(streamClient(), '/topic/NoSuchTopic', -1);
    assert.equal(err.message, '400::The channel you requested to subscribe to does not exist {/topic/NoSuchTopic}');
  });
});

describe('nforce8 over TLS (NODE_EXTRA_CA_CERTS)', () => {
  function runClient(caFile) {
    const args = [path.join(__dirname, 'helpers', 'nforce8-tls-client.js'), `https://127.0.0.1:${srv.port}`,
      srv.info.username, srv.info.password, srv.info.client_id, srv.info.client_secret];
    const env = { ...process.env };
    if (caFile) env.NODE_EXTRA_CA_CERTS = caFile;
    else delete env.NODE_EXTRA_CA_CERTS;
    return new Promise((resolve) => {
      execFile(process.execPath, args, { env, timeout: 20000 }, (err, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop()));
        } catch {
          resolve({ error: `unparsable output: ${stdout} ${stderr} ${err}` });
        }
      });
    });
  }

  it('login, insert, getRecord and a change event over https with the server\'s CA', { timeout: TEST_TIMEOUT_MS }, async () => {
    const out = await runClient(srv.info.ca_cert);
    assert.equal(out.error, undefined, out.error);
    assert.equal(out.instanceUrl, `https://127.0.0.1:${srv.port}`, 'instance_url keeps the https origin');
    assert.equal(out.name, 'over tls with nforce8');
    assert.deepEqual(out.event, { changeType: 'CREATE', recordIds: [out.id], Name: 'over tls with nforce8' });
  });

  it('is refused without the CA', { timeout: TEST_TIMEOUT_MS }, async () => {
    const out = await runClient(null);
    assert.match(out.error || '', /self-signed certificate|unable to verify/i);
  });
});
