'use strict';
// The real Salesforce CLI (`sf`, @salesforce/cli from npm) against forcebus.
//
// No login step: `-o <access token>` plus SF_ORG_INSTANCE_URL makes sf use the
// token as is (see shared/spec/clients.md and ./sf.js, which runs sf).
//
// What `sf data query` calls: GET /services/data (picks the newest version),
// GET {base}/query?q= (or /queryAll, /tooling/query) following nextRecordsUrl,
// and, when rows came back, GET {base}/query?q=...&columns=true.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, rawRequest, API_VERSION } = require('../../node/test/server');
const { runSf, runSfOk, explain } = require('./sf');

let srv;
let token;
let home;

const sf = (args) => runSf(args, { home, instanceUrl: srv.baseUrl });
const sfOk = (args) => runSfOk(args, { home, instanceUrl: srv.baseUrl });

async function rest(method, urlPath, body) {
  const res = await rawRequest(srv, method, `/services/data/v${API_VERSION}${urlPath}`, {
    headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(res.status < 300, `${method} ${urlPath} answered ${res.status}: ${res.text}`);
  return res.json;
}

async function createMany(records) {
  const ids = [];
  for (let k = 0; k < records.length; k += 200) {
    const res = await rest('POST', '/composite/sobjects', { allOrNone: true, records: records.slice(k, k + 200) });
    assert.ok(res.every((r) => r.success), JSON.stringify(res.slice(0, 3)));
    ids.push(...res.map((r) => r.id));
  }
  return ids;
}

const accounts = new Map(); // name -> id
let contactId;
let deletedIds;
const BULK = 2100; // more than one 2,000-row page

before(async () => {
  srv = await startServer('sf-cli', { prefix: 'sf' });
  token = srv.info.access_token;
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'forcebus-sf-home-'));
  const names = Array.from({ length: 7 }, (_, k) => `SF-${k + 1}`);
  const ids = await createMany(names.map((Name) => ({ attributes: { type: 'Account' }, Name })));
  names.forEach((n, k) => accounts.set(n, ids[k]));
  [contactId] = await createMany([
    { attributes: { type: 'Contact' }, LastName: 'Hopper', AccountId: accounts.get('SF-3') },
  ]);
  await createMany(
    Array.from({ length: BULK }, (_, k) => ({ attributes: { type: 'Account' }, Name: `Bulk-${k}` })),
  );
  deletedIds = await createMany([0, 1, 2].map((k) => ({ attributes: { type: 'Account' }, Name: `Gone-${k}` })));
  for (const id of deletedIds.slice(0, 2)) {
    await rest('DELETE', `/sobjects/Account/${id}`);
  }
});
after(async () => {
  await srv?.stop();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

describe('sf data query', () => {
  it('-q "SELECT Id, Name FROM Account LIMIT 5" --json', async () => {
    const result = await sfOk(['data', 'query', '-q', 'SELECT Id, Name FROM Account LIMIT 5', '-o', token]);
    assert.equal(result.totalSize, 5);
    assert.equal(result.done, true);
    assert.equal(result.records.length, 5);
    for (const r of result.records) {
      assert.equal(r.attributes.type, 'Account');
      assert.match(r.Id, /^001\w{15}$/);
      assert.equal(typeof r.Name, 'string');
      assert.ok(!('Phone' in r), 'only the selected fields');
    }
  });

  it('a WHERE clause, lower-case names, canonical output', async () => {
    const result = await sfOk(['data', 'query', '-q', "select id, name from account where name = 'sf-2'", '-o', token]);
    assert.equal(result.totalSize, 1);
    assert.deepEqual(Object.keys(result.records[0]), ['attributes', 'Id', 'Name']);
    assert.equal(result.records[0].Id, accounts.get('SF-2'));
    assert.equal(result.records[0].Name, 'SF-2');
  });

  it('follows nextRecordsUrl past 2,000 rows', async () => {
    const result = await sfOk(['data', 'query', '-q', "SELECT Id, Name FROM Account WHERE Name LIKE 'Bulk-%'", '-o', token]);
    assert.equal(result.totalSize, BULK);
    assert.equal(result.records.length, BULK);
    assert.equal(new Set(result.records.map((r) => r.Id)).size, BULK);
  });

  it('-r csv: the header comes from columns=true (parent path flattened)', async () => {
    const res = await sf([
      'data', 'query', '-q', "SELECT Id, LastName, Account.Name FROM Contact WHERE LastName = 'Hopper'",
      '-r', 'csv', '-o', token,
    ]);
    assert.equal(res.code, 0, explain(res));
    const lines = res.stdout.trim().split(/\r?\n/);
    assert.deepEqual(lines, ['Id,LastName,Account.Name', `${contactId},Hopper,SF-3`], explain(res));
  });

  it('child subquery and an aggregate make it through (columns=true included)', async () => {
    const sub = await sfOk([
      'data', 'query', '-q', `SELECT Name, (SELECT LastName FROM Contacts) FROM Account WHERE Id = '${accounts.get('SF-3')}'`,
      '-o', token,
    ]);
    assert.equal(sub.records[0].Contacts.totalSize, 1);
    assert.equal(sub.records[0].Contacts.records[0].LastName, 'Hopper');

    const res = await sf(['data', 'query', '-q', "SELECT COUNT(Id) FROM Account WHERE Name LIKE 'SF-%'", '-r', 'csv', '-o', token]);
    assert.equal(res.code, 0, explain(res));
    // unaliased aggregate: sf renames expr0 to the column's displayName
    assert.deepEqual(res.stdout.trim().split(/\r?\n/), ['COUNT(Id)', '7'], explain(res));
  });

  it('--all-rows uses queryAll and shows deleted rows', async () => {
    const soql = "SELECT Id, IsDeleted FROM Account WHERE Name LIKE 'Gone-%'";
    const live = await sfOk(['data', 'query', '-q', soql, '-o', token]);
    assert.deepEqual(live.records.map((r) => r.Id), [deletedIds[2]]);
    const all = await sfOk(['data', 'query', '--all-rows', '-q', soql, '-o', token]);
    assert.equal(all.totalSize, 3);
    const byId = Object.fromEntries(all.records.map((r) => [r.Id, r.IsDeleted]));
    assert.deepEqual(byId, { [deletedIds[0]]: true, [deletedIds[1]]: true, [deletedIds[2]]: false });
  });

  it('--use-tooling-api -q "SELECT Id, Username FROM User"', async () => {
    const result = await sfOk(['data', 'query', '--use-tooling-api', '-q', 'SELECT Id, Username FROM User', '-o', token]);
    assert.ok(result.totalSize >= 1);
    assert.ok(
      result.records.some((r) => r.Username === srv.info.username && r.Id === srv.info.user_id),
      JSON.stringify(result.records),
    );
  });

  it('a SOQL error is reported with its errorCode', async () => {
    const res = await sf(['data', 'query', '-q', 'SELECT Bogus__c FROM Account', '-o', token, '--json']);
    assert.notEqual(res.code, 0, explain(res));
    assert.ok(res.json, explain(res));
    assert.equal(res.json.name, 'INVALID_FIELD', explain(res));
  });
});

describe('sf data get record', () => {
  it('--where builds SELECT id FROM ... and fetches the one match', async () => {
    const result = await sfOk(['data', 'get', 'record', '-s', 'Account', '-w', 'Name=SF-4', '-o', token]);
    assert.equal(result.Id, accounts.get('SF-4'));
    assert.equal(result.Name, 'SF-4');
  });
});
