'use strict';
// describeGlobal, describe, limits.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, API_VERSION } = require('./server');

let srv;
let conn;
before(async () => {
  srv = await startServer('describe');
  conn = new jsforce.Connection({
    instanceUrl: srv.baseUrl,
    accessToken: srv.info.access_token,
    version: API_VERSION,
  });
});
after(async () => {
  await srv?.stop();
});

describe('describe', () => {
  it('describeGlobal lists the standard objects', async () => {
    const res = await conn.describeGlobal();
    assert.ok(Array.isArray(res.sobjects));
    const byName = new Map(res.sobjects.map((s) => [s.name, s]));
    for (const name of ['Account', 'Contact', 'Lead', 'Opportunity', 'Case', 'Task', 'User']) {
      assert.ok(byName.has(name), `describeGlobal lacks ${name}`);
    }
    const account = byName.get('Account');
    assert.equal(account.keyPrefix, '001');
    assert.equal(account.createable, true);
    assert.equal(account.custom, false);
    assert.equal(typeof account.label, 'string');
    assert.equal(account.urls.sobject, `/services/data/v${API_VERSION}/sobjects/Account`);
  });

  it('Account describe has its fields, the custom external id included', async () => {
    const d = await conn.sobject('Account').describe();
    assert.equal(d.name, 'Account');
    assert.equal(d.keyPrefix, '001');
    const fields = new Map(d.fields.map((f) => [f.name, f]));
    for (const name of ['Id', 'Name', 'Phone', 'Industry', 'Website', 'NumberOfEmployees', 'AnnualRevenue', 'BillingCity']) {
      assert.ok(fields.has(name), `Account describe lacks ${name}`);
    }
    assert.equal(fields.get('Id').type, 'id');
    assert.equal(fields.get('Name').type, 'string');
    assert.equal(fields.get('Name').nillable, false);
    assert.equal(fields.get('NumberOfEmployees').type, 'int');
    assert.equal(fields.get('AnnualRevenue').type, 'currency');

    const ext = fields.get('External_Id__c');
    assert.ok(ext, 'the configured External_Id__c field is described');
    assert.equal(ext.custom, true);
    assert.equal(ext.externalId, true);
    assert.equal(ext.unique, true);
    assert.equal(ext.type, 'string');
    assert.equal(ext.length, 64);
  });

  it('Contact describe has AccountId as a reference to Account', async () => {
    const d = await conn.sobject('Contact').describe();
    const accountId = d.fields.find((f) => f.name === 'AccountId');
    assert.ok(accountId);
    assert.equal(accountId.type, 'reference');
    assert.deepEqual(accountId.referenceTo, ['Account']);
    assert.equal(accountId.relationshipName, 'Account');
  });

  it('describe of an unknown object fails with NOT_FOUND', async () => {
    await assert.rejects(conn.sobject('Nope__c').describe(), (err) => err.errorCode === 'NOT_FOUND');
  });

  it('limits has DailyApiRequests', async () => {
    const limits = await conn.limits();
    assert.equal(typeof limits.DailyApiRequests.Max, 'number');
    assert.equal(typeof limits.DailyApiRequests.Remaining, 'number');
  });
});
