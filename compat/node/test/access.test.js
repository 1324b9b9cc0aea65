'use strict';
// Users and access through jsforce: a server started with compat/fixtures/forcebus-access.toml
// (the administrator; sync@acme.test and other@acme.test on the Minimum Access - API Only
// Integrations profile with the Sync_Integration permission set; viewer@acme.test on
// Minimum Access - Salesforce, without API Enabled) and `--project` of
// compat/fixtures/sfdx-access-project (Account.Salary__c granted to nobody but the
// administrator, Account.Region__c read-only and Account.Sync_Key__c read/edit for the set,
// the Private object Deal__c with Amount__c read/edit).
//
// Every user signs in with `conn.login(username, password)` (SOAP login). Field-level
// security: describe, SOQL and writes as jsforce reports them (`errorCode`, and the
// entry as `data`). Sharing on Deal__c: queries see the user's own deals, a write to
// another's is INSUFFICIENT_ACCESS_OR_READONLY until its owner shares it (Deal__Share),
// a Bulk API 2.0 update reports the refused rows in failedResults. The administrator sees
// every field and every record. A user without API Enabled cannot log in or call REST.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const jsforce = require('jsforce');
const { startServer, uniq, API_VERSION } = require('./server');

const FIXTURES = path.resolve(__dirname, '../../fixtures');
const CONFIG = path.join(FIXTURES, 'forcebus-access.toml');
const PROJECT = path.join(FIXTURES, 'sfdx-access-project');
const SYNC = ['sync@acme.test', 'sync-secret'];
const OTHER = ['other@acme.test', 'other-secret'];
const VIEWER = ['viewer@acme.test', 'viewer-secret'];
const REFUSED = 'INSUFFICIENT_ACCESS_OR_READONLY';

let srv;
let admin;
let sync;
let other;

/** A jsforce Connection logged in (SOAP login) as `username`. */
async function connect(username, password) {
  const conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(username, password);
  conn.bulk2.pollInterval = 200;
  return conn;
}

/** The error a jsforce call rejects with (fails if it resolves). */
async function rejection(promise) {
  try {
    const res = await promise;
    assert.fail(`expected a rejection, got ${JSON.stringify(res)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return err;
  }
}

/** Creates a Deal__c as `conn`; returns its id. */
async function createDeal(conn, name, amount) {
  const res = await conn.sobject('Deal__c').create({ Name: name, Amount__c: amount });
  assert.equal(res.success, true, JSON.stringify(res));
  return res.id;
}

/** Names of the Deal__c records `conn` can query whose Name starts with `prefix`, sorted. */
async function dealNames(conn, prefix) {
  const res = await conn.query(`SELECT Name FROM Deal__c WHERE Name LIKE '${prefix}%' ORDER BY Name`);
  return res.records.map((r) => r.Name);
}

/** The Amount__c of a deal as the administrator reads it. */
async function amountOf(id) {
  return (await admin.sobject('Deal__c').retrieve(id)).Amount__c;
}

before(async () => {
  srv = await startServer('access', { config: CONFIG, extraArgs: ['--project', PROJECT] });
  admin = await connect(srv.info.username, srv.info.password);
  sync = await connect(...SYNC);
  other = await connect(...OTHER);
});
after(async () => {
  await srv?.stop();
});

describe('field-level security', () => {
  it('describe leaves out Salary__c and shows Region__c read-only, Sync_Key__c read/write', async () => {
    const fields = Object.fromEntries((await sync.sobject('Account').describe()).fields.map((f) => [f.name, f]));
    assert.equal(fields.Salary__c, undefined, 'Salary__c is granted to nobody but the administrator');
    assert.ok(fields.Region__c, 'Region__c is readable through the permission set');
    assert.equal(fields.Region__c.createable, false);
    assert.equal(fields.Region__c.updateable, false);
    assert.equal(fields.Sync_Key__c.createable, true);
    assert.equal(fields.Sync_Key__c.updateable, true);
    assert.equal(fields.Sync_Key__c.externalId, true);

    const adminFields = Object.fromEntries((await admin.sobject('Account').describe()).fields.map((f) => [f.name, f]));
    assert.equal(adminFields.Salary__c?.createable, true, 'the administrator sees and writes Salary__c');
    assert.equal(adminFields.Region__c.updateable, true);
  });

  it('SOQL naming Salary__c is INVALID_FIELD (No such column) for sync, answered for the administrator', async () => {
    const err = await rejection(sync.query('SELECT Id, Salary__c FROM Account'));
    assert.equal(err.errorCode, 'INVALID_FIELD');
    assert.match(err.message, /No such column 'Salary__c' on entity 'Account'/);

    const name = uniq('paid');
    const { id } = await admin.sobject('Account').create({ Name: name, Salary__c: 5000, Region__c: 'EMEA' });
    const res = await admin.query(`SELECT Salary__c, Region__c FROM Account WHERE Id = '${id}'`);
    assert.deepEqual(res.records.map((r) => [r.Salary__c, r.Region__c]), [[5000, 'EMEA']]);
  });

  it('a record read by sync has Region__c but no Salary__c', async () => {
    const { id } = await admin.sobject('Account').create({ Name: uniq('read'), Salary__c: 70000, Region__c: 'APAC' });
    const seen = await sync.sobject('Account').retrieve(id);
    assert.equal(seen.Region__c, 'APAC');
    assert.ok(!('Salary__c' in seen), `sync's read shows Salary__c: ${JSON.stringify(seen)}`);
    assert.equal((await admin.sobject('Account').retrieve(id)).Salary__c, 70000);
  });

  it('creating an Account with the read-only Region__c is INVALID_FIELD_FOR_INSERT_UPDATE, nothing written', async () => {
    const name = uniq('region');
    const err = await rejection(sync.sobject('Account').create({ Name: name, Region__c: 'EMEA' }));
    assert.equal(err.errorCode, 'INVALID_FIELD_FOR_INSERT_UPDATE');
    assert.equal(
      err.message,
      'Unable to create/update fields: Region__c. Please check the security settings of this field and verify that it is read/write for your profile or permission set.',
    );
    assert.deepEqual(err.data.fields, ['Region__c']);
    const found = await admin.query(`SELECT Id FROM Account WHERE Name = '${name}'`);
    assert.equal(found.totalSize, 0);
  });

  it('writing the hidden Salary__c is INVALID_FIELD; Sync_Key__c is written', async () => {
    const err = await rejection(sync.sobject('Account').create({ Name: uniq('salary'), Salary__c: 1 }));
    assert.equal(err.errorCode, 'INVALID_FIELD');
    assert.match(err.message, /Salary__c/);

    const key = uniq('key');
    const res = await sync.sobject('Account').create({ Name: uniq('keyed'), Sync_Key__c: key });
    assert.equal(res.success, true, JSON.stringify(res));
    assert.equal((await admin.sobject('Account').retrieve(res.id)).Sync_Key__c, key);
  });
});

describe('sharing on the Private object Deal__c', () => {
  it("sync sees only its own deals and cannot update or read another's", async () => {
    const prefix = uniq('own');
    const mine = await createDeal(sync, `${prefix}-sync`, 10);
    const theirs = await createDeal(other, `${prefix}-other`, 20);

    assert.deepEqual(await dealNames(sync, prefix), [`${prefix}-sync`]);
    assert.deepEqual(await dealNames(other, prefix), [`${prefix}-other`]);
    assert.deepEqual(await dealNames(admin, prefix), [`${prefix}-other`, `${prefix}-sync`], 'the administrator sees all');

    const err = await rejection(sync.sobject('Deal__c').update({ Id: theirs, Amount__c: 99 }));
    assert.equal(err.errorCode, REFUSED);
    assert.equal(err.message, 'insufficient access rights on object id');
    assert.equal(await amountOf(theirs), 20, 'the refused update changed nothing');

    const notFound = await rejection(sync.sobject('Deal__c').retrieve(theirs));
    assert.equal(notFound.errorCode, 'NOT_FOUND');

    const ok = await sync.sobject('Deal__c').update({ Id: mine, Amount__c: 11 });
    assert.equal(ok.success, true, JSON.stringify(ok));
    assert.equal(await amountOf(mine), 11);
  });

  it('a Read share shows the deal to sync; an Edit share lets sync update it', async () => {
    const prefix = uniq('shared');
    const deal = await createDeal(other, `${prefix}-deal`, 30);
    assert.deepEqual(await dealNames(sync, prefix), []);

    const read = await other.sobject('Deal__Share').create({ ParentId: deal, UserOrGroupId: sync.userInfo.id, AccessLevel: 'Read' });
    assert.equal(read.success, true, JSON.stringify(read));
    assert.deepEqual(await dealNames(sync, prefix), [`${prefix}-deal`], 'a Read share makes it visible');
    assert.equal((await sync.sobject('Deal__c').retrieve(deal)).Amount__c, 30);
    const err = await rejection(sync.sobject('Deal__c').update({ Id: deal, Amount__c: 31 }));
    assert.equal(err.errorCode, REFUSED, 'a Read share does not allow an update');

    const edit = await other.sobject('Deal__Share').create({ ParentId: deal, UserOrGroupId: sync.userInfo.id, AccessLevel: 'Edit' });
    assert.equal(edit.success, true, JSON.stringify(edit));
    const res = await sync.sobject('Deal__c').update({ Id: deal, Amount__c: 32 });
    assert.equal(res.success, true, JSON.stringify(res));
    assert.equal(await amountOf(deal), 32);
    const owner = (await admin.sobject('Deal__c').retrieve(deal)).OwnerId;
    assert.equal(owner, other.userInfo.id, 'sharing does not change the owner');
  });

  it("a Bulk API 2.0 update: others' deals in failedResults with INSUFFICIENT_ACCESS_OR_READONLY", async () => {
    const prefix = uniq('bulk');
    const mine = await createDeal(sync, `${prefix}-sync`, 1);
    const theirs = [await createDeal(other, `${prefix}-other-1`, 2), await createDeal(other, `${prefix}-other-2`, 3)];

    const res = await sync.bulk2.loadAndWaitForResults({
      object: 'Deal__c',
      operation: 'update',
      input: [{ Id: theirs[0], Amount__c: 100 }, { Id: mine, Amount__c: 101 }, { Id: theirs[1], Amount__c: 102 }],
    });
    assert.deepEqual(res.successfulResults.map((r) => r.sf__Id), [mine], JSON.stringify(res));
    assert.deepEqual(res.failedResults.map((r) => r.Id).sort(), [...theirs].sort(), JSON.stringify(res));
    for (const row of res.failedResults) assert.match(row.sf__Error, /^INSUFFICIENT_ACCESS_OR_READONLY:/);
    assert.deepEqual(res.unprocessedRecords, []);

    assert.equal(await amountOf(mine), 101);
    assert.deepEqual([await amountOf(theirs[0]), await amountOf(theirs[1])], [2, 3], 'refused rows changed nothing');
  });
});

// Reads that name a record by id: a SOQL filter on Id, and the /composite/sobjects
// retrieve (the single-record GET answers NOT_FOUND, checked above).
describe("reads by id do not reach another's private deal", () => {
  it("SOQL WHERE Id = / Id IN leaves another's private deal out", async () => {
    const prefix = uniq('byid');
    const mine = await createDeal(sync, `${prefix}-sync`, 1);
    const theirs = await createDeal(other, `${prefix}-other`, 2);
    const one = await sync.query(`SELECT Name FROM Deal__c WHERE Id = '${theirs}'`);
    assert.deepEqual(one.records.map((r) => r.Name), [], JSON.stringify(one.records));
    const both = await sync.query(`SELECT Name FROM Deal__c WHERE Id IN ('${mine}', '${theirs}')`);
    assert.deepEqual(both.records.map((r) => r.Name), [`${prefix}-sync`], JSON.stringify(both.records));
  });

  it("retrieve of several ids (/composite/sobjects) answers another's private deal as a missing one (null)", async () => {
    const prefix = uniq('many');
    const mine = await createDeal(sync, `${prefix}-sync`, 1);
    const theirs = await createDeal(other, `${prefix}-other`, 2);
    const gone = await createDeal(sync, `${prefix}-gone`, 3);
    await sync.sobject('Deal__c').destroy(gone);
    const res = await sync.sobject('Deal__c').retrieve([mine, theirs, gone], { fields: ['Name'] });
    assert.equal(res[2], null, 'a deleted id is null');
    assert.deepEqual(res.map((r) => r?.Name ?? null), [`${prefix}-sync`, null, null], JSON.stringify(res));
  });
});

describe('API Enabled', () => {
  it('viewer@acme.test (no API Enabled) cannot log in with SOAP, and its OAuth token gets API_CURRENTLY_DISABLED', async () => {
    const loginErr = await rejection(connect(...VIEWER));
    assert.match(loginErr.message, /API_CURRENTLY_DISABLED/);

    const form = new URLSearchParams({
      grant_type: 'password',
      client_id: srv.info.client_id,
      client_secret: srv.info.client_secret,
      username: VIEWER[0],
      password: VIEWER[1],
    });
    const token = await fetch(`${srv.baseUrl}/services/oauth2/token`, { method: 'POST', body: form }).then((r) => r.json());
    assert.ok(token.access_token, JSON.stringify(token));
    const viewer = new jsforce.Connection({ instanceUrl: srv.baseUrl, accessToken: token.access_token, version: API_VERSION });
    const err = await rejection(viewer.query('SELECT Id FROM Account'));
    assert.equal(err.errorCode, 'API_CURRENTLY_DISABLED');
    assert.equal(err.message, 'API is disabled for this User');
  });
});
