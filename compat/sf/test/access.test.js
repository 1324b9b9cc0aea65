'use strict';
// Users and access through the Salesforce CLI: a server started with
// compat/fixtures/forcebus-access.toml and `--project` of compat/fixtures/sfdx-access-project
// (Account.Salary__c granted to nobody but the administrator; Deal__c Private, with
// Amount__c read/edit for the Sync_Integration permission set of sync@acme.test and
// other@acme.test).
//
// sf is logged in as sync@acme.test with `sf org login access-token` (a token from the
// OAuth password grant) and used through its alias, the instance URL from the stored
// auth. What sf shows is what sync may see: `sf data query` lists only sync's deals (deals
// of sync and of other made first over REST) and reports INVALID_FIELD for Salary__c; `sf
// data import tree` creates deals owned by sync, and a tree naming Account.Salary__c fails
// (plugin-data turns the tree's INVALID_FIELD answer into its FlsError, reading the field
// from between the quotes of the message and the object from its last word). The
// administrator's view (owners, what was or was not written) is read over REST.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, uniq } = require('../../node/test/server');
const { runSf, runSfOk, explain } = require('./sf');

const FIXTURES = path.resolve(__dirname, '../../fixtures');
const CONFIG = path.join(FIXTURES, 'forcebus-access.toml');
const PROJECT = path.join(FIXTURES, 'sfdx-access-project');
const ALIAS = 'sync';

let srv;
let home;
/** OAuth password-grant sessions: {token, userId} of the administrator, sync and other. */
const users = {};

const sf = (args) => runSf(args, { home });
const sfOk = (args) => runSfOk(args, { home });

/** The OAuth password grant for `username`; resolves to {token, userId}. */
async function passwordGrant(username, password) {
  const body = new URLSearchParams({
    grant_type: 'password',
    client_id: srv.info.client_id,
    client_secret: srv.info.client_secret,
    username,
    password,
  });
  const res = await fetch(`${srv.baseUrl}/services/oauth2/token`, { method: 'POST', body });
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return { token: json.access_token, userId: json.id.split('/').pop() };
}

/** A REST call as `user`; returns the parsed answer (fails on a status of 300 or more). */
async function rest(user, method, urlPath, body) {
  const res = await fetch(`${srv.baseUrl}/services/data/v59.0${urlPath}`, {
    method,
    headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.status < 300, `${method} ${urlPath}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** The records of a SOQL query run over REST as `user`. */
async function restQuery(user, soql) {
  return (await rest(user, 'GET', `/query?q=${encodeURIComponent(soql)}`)).records;
}

/** Writes `content` as JSON to `name` under a fresh directory in HOME; returns its path. */
function writeJson(name, content) {
  const dir = fs.mkdtempSync(path.join(home, 'tree-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(content, null, 2));
  return file;
}

before(async () => {
  srv = await startServer('access', { prefix: 'sf', config: CONFIG, extraArgs: ['--project', PROJECT] });
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'forcebus-sf-home-'));
  users.admin = await passwordGrant(srv.info.username, srv.info.password);
  users.sync = await passwordGrant('sync@acme.test', 'sync-secret');
  users.other = await passwordGrant('other@acme.test', 'other-secret');
});
after(async () => {
  await srv?.stop();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

describe('sf logged in as sync@acme.test', () => {
  it('sf org login access-token stores the org under sync@acme.test', async () => {
    const res = await runSf(
      ['org', 'login', 'access-token', '--instance-url', `${srv.baseUrl}/`, '--no-prompt', '--alias', ALIAS, '--json'],
      { home, env: { SF_ACCESS_TOKEN: users.sync.token } },
    );
    assert.equal(res.code, 0, explain(res));
    assert.equal(res.json.result.username, 'sync@acme.test');
    assert.equal(res.json.result.orgId, srv.info.org_id);
  });

  it('sf data query of Deal__c lists only the deals sync owns', async () => {
    const prefix = uniq('query');
    for (const [who, n] of [['sync', 1], ['other', 1], ['sync', 2], ['other', 2]]) {
      await rest(users[who], 'POST', '/sobjects/Deal__c', { Name: `${prefix}-${who}-${n}`, Amount__c: n });
    }
    const soql = `SELECT Name, OwnerId FROM Deal__c WHERE Name LIKE '${prefix}%' ORDER BY Name`;
    const all = await restQuery(users.admin, soql);
    assert.equal(all.length, 4, 'the administrator sees every deal');

    const r = await sfOk(['data', 'query', '--query', soql, '-o', ALIAS]);
    assert.deepEqual(
      r.records.map((x) => [x.Name, x.OwnerId]),
      [[`${prefix}-sync-1`, users.sync.userId], [`${prefix}-sync-2`, users.sync.userId]],
      JSON.stringify(r),
    );
    assert.equal(r.totalSize, 2);
  });

  it('sf data query naming Salary__c fails with INVALID_FIELD', async () => {
    const res = await sf(['data', 'query', '--query', 'SELECT Name, Salary__c FROM Account', '-o', ALIAS, '--json']);
    assert.notEqual(res.code, 0, explain(res));
    assert.ok(res.json, explain(res));
    assert.equal(res.json.name, 'INVALID_FIELD', explain(res));
    assert.match(res.json.message, /No such column 'Salary__c' on entity 'Account'/);
  });

  it('sf data import tree --plan of Deal__c creates deals owned by sync', async () => {
    const prefix = uniq('tree');
    const file = writeJson('deals.json', {
      records: [
        { attributes: { type: 'Deal__c', referenceId: 'DealRef1' }, Name: `${prefix}-1`, Amount__c: 100 },
        { attributes: { type: 'Deal__c', referenceId: 'DealRef2' }, Name: `${prefix}-2`, Amount__c: 200 },
      ],
    });
    const plan = path.join(path.dirname(file), 'plan.json');
    fs.writeFileSync(plan, JSON.stringify([{ sobject: 'Deal__c', files: ['deals.json'] }]));
    const r = await sfOk(['data', 'import', 'tree', '--plan', plan, '-o', ALIAS]);
    assert.deepEqual(r.map((x) => [x.refId, x.type]), [['DealRef1', 'Deal__c'], ['DealRef2', 'Deal__c']]);

    const ids = r.map((x) => `'${x.id}'`).join(', ');
    const rows = await restQuery(users.admin, `SELECT Name, Amount__c, OwnerId, CreatedById FROM Deal__c WHERE Id IN (${ids}) ORDER BY Name`);
    assert.deepEqual(
      rows.map((x) => [x.Name, x.Amount__c, x.OwnerId, x.CreatedById]),
      [[`${prefix}-1`, 100, users.sync.userId, users.sync.userId], [`${prefix}-2`, 200, users.sync.userId, users.sync.userId]],
    );
    assert.deepEqual(await restQuery(users.other, `SELECT Id FROM Deal__c WHERE Name LIKE '${prefix}%'`), [], "other does not see sync's deals");
  });

  it('sf data import tree of Accounts naming Salary__c fails, nothing written', async () => {
    const name = uniq('paid');
    const file = writeJson('accounts.json', {
      records: [{ attributes: { type: 'Account', referenceId: 'AccountRef1' }, Name: name, Salary__c: 90000 }],
    });
    const res = await sf(['data', 'import', 'tree', '--files', file, '-o', ALIAS, '--json']);
    assert.notEqual(res.code, 0, explain(res));
    assert.ok(res.json, explain(res));
    assert.equal(res.json.name, 'FlsError', explain(res));
    assert.match(res.json.message, /access to Salary__c on Account\b/);
    assert.deepEqual(await restQuery(users.admin, `SELECT Id FROM Account WHERE Name = '${name}'`), []);
  });
});
