// Users and access through the Salesforce Pub/Sub API client for Node (npm
// salesforce-pubsub-api-client): a server started with compat/fixtures/forcebus-access.toml
// and `--project` of compat/fixtures/sfdx-access-project. sync@acme.test (View All on
// Account through the Sync_Integration permission set, Account.Salary__c not granted,
// Region__c read-only) subscribes to /data/AccountChangeEvent and gets the administrator's
// changes without Salary__c, in the body and in ChangeEventHeader.changedFields; the
// administrator's own subscription carries it. viewer@acme.test (no API Enabled) cannot
// sign in; other@acme.test (no View All on Deal__c) is refused /data/Deal__ChangeEvent with
// PERMISSION_DENIED. Each client runs in a child process (test/helpers/access.mjs) that
// trusts the server's CA and signs in with the username-password flow (a SOAP login).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScenario } from './helpers/scenario.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = path.join(HERE, '..', '..', 'fixtures');
const require = createRequire(import.meta.url);
// The server harness shared with the jsforce suite (Node built-ins only).
const { startServer } = require('../../node/test/server.js');
const CLIENT = path.join(HERE, 'helpers', 'access.mjs');
const TOPIC = '/data/AccountChangeEvent';
const SYNC = { username: 'sync@acme.test', password: 'sync-secret' };
const PERMISSION_DENIED = 7;
const AUTHORIZATION_ERROR = 'sfdc.platform.eventbus.grpc.subscription.fetch.authorization.error';

let srv;
before(async () => {
  srv = await startServer('pubsub-access', {
    prefix: 'pubsub',
    config: path.join(FIXTURES, 'forcebus-access.toml'),
    extraArgs: ['--project', path.join(FIXTURES, 'sfdx-access-project')],
  });
});
after(async () => {
  await srv?.stop();
});

/** A REST call with the administrator's token (the ready line's); returns the parsed answer. */
async function rest(method, urlPath, body, token = srv.info.access_token) {
  const res = await fetch(`${srv.baseUrl}/services/data/v59.0${urlPath}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.status < 300, `${method} ${urlPath}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/**
 * The administrator creates an Account (Name, Salary__c, Region__c); `user`'s client
 * subscribes from the earliest event and, once the CREATE arrived, the administrator
 * updates Name and Salary__c. Resolves with the two events of that Account as the
 * client decoded them.
 */
async function createAndUpdateSeenBy(user, label, grants = []) {
  const { id } = await rest('POST', '/sobjects/Account', { Name: `${label} created`, Salary__c: 5000, Region__c: 'EMEA' });
  const lines = await runScenario(CLIENT, srv, 'changes', {
    user,
    topic: TOPIC,
    recordId: id,
    count: 2,
    update: { Name: `${label} updated`, Salary__c: 6000 },
    grants,
  });
  const bad = lines.find((l) => ['error', 'failed', 'unparsable', 'connectFailed'].includes(l.type));
  assert.equal(bad, undefined, JSON.stringify(bad));
  const events = lines.filter((l) => l.type === 'event');
  assert.deepEqual(events.map((e) => [e.changeType, e.name]),
    [['CREATE', `${label} created`], ['UPDATE', `${label} updated`]], JSON.stringify(lines));
  return events;
}

describe('Pub/Sub API: change events as an integration user sees them', () => {
  let created;
  let updated;
  before(async () => {
    [created, updated] = await createAndUpdateSeenBy(SYNC, 'Seen by sync');
  });

  it('sync (View All on Account) subscribes and gets Name and the read-only Region__c', () => {
    assert.equal(created.region, 'EMEA');
    assert.ok(updated.changedFields.includes('Name'), JSON.stringify(updated));
    assert.ok(updated.changedFields.includes('LastModifiedDate'), JSON.stringify(updated));
  });

  it('sync\'s events leave out Salary__c: null in the body, not in changedFields', () => {
      assert.equal(created.salary, null, `the CREATE carries Salary__c: ${JSON.stringify(created)}`);
      assert.equal(updated.salary, null, `the UPDATE carries Salary__c: ${JSON.stringify(updated)}`);
      assert.ok(!updated.changedFields.includes('Salary__c'), `changedFields: ${updated.changedFields}`);
    });

  it("the administrator's events carry Salary__c", async () => {
    const [adminCreated, adminUpdated] = await createAndUpdateSeenBy(
      { username: srv.info.username, password: srv.info.password }, 'Seen by admin');
    assert.equal(adminCreated.salary, 5000);
    assert.equal(adminUpdated.salary, 6000);
    assert.deepEqual([...adminUpdated.changedFields].sort(), ['LastModifiedDate', 'Name', 'Salary__c']);
  });
});

describe('Pub/Sub API: who may subscribe', () => {
  it('viewer@acme.test (no API Enabled) cannot sign in: API_CURRENTLY_DISABLED', async () => {
    const lines = await runScenario(CLIENT, srv, 'refused', {
      user: { username: 'viewer@acme.test', password: 'viewer-secret' },
      topic: TOPIC,
    });
    const failed = lines.find((l) => l.type === 'connectFailed');
    assert.ok(failed, JSON.stringify(lines));
    assert.ok(failed.causes.some((c) => /API_CURRENTLY_DISABLED/.test(c)), JSON.stringify(failed));
    assert.equal(lines.filter((l) => l.type === 'event').length, 0);
  });

  it("viewer@acme.test's OAuth token gets no change events", async () => {
    const form = new URLSearchParams({
      grant_type: 'password',
      client_id: srv.info.client_id,
      client_secret: srv.info.client_secret,
      username: 'viewer@acme.test',
      password: 'viewer-secret',
    });
    const token = await fetch(`${srv.baseUrl}/services/oauth2/token`, { method: 'POST', body: form }).then((r) => r.json());
    assert.ok(token.access_token, JSON.stringify(token));
    await rest('POST', '/sobjects/Account', { Name: 'While viewer subscribes' });
    const lines = await runScenario(CLIENT, srv, 'refused', { user: { accessToken: token.access_token }, topic: TOPIC });
    assert.equal(lines.filter((l) => l.type === 'event').length, 0, JSON.stringify(lines));
    assert.ok(lines.some((l) => l.type === 'grpcError' || l.type === 'connectFailed'), JSON.stringify(lines));
  });

  it('other@acme.test (no View All on Deal__c) is refused /data/Deal__ChangeEvent: PERMISSION_DENIED', async () => {
    const lines = await runScenario(CLIENT, srv, 'refused', {
      user: { username: 'other@acme.test', password: 'other-secret' },
      topic: '/data/Deal__ChangeEvent',
    });
    const err = lines.find((l) => l.type === 'grpcError');
    assert.ok(err, JSON.stringify(lines));
    assert.equal(err.code, PERMISSION_DENIED, JSON.stringify(err));
    assert.equal(err.errorCode, AUTHORIZATION_ERROR, JSON.stringify(err));
    assert.match(err.details, /\/data\/Deal__ChangeEvent/);
  });
});

describe('Pub/Sub API: a change of the subscriber\'s access applies to the next event', () => {
  it('Salary__c granted mid-stream: the CREATE before leaves it out, the UPDATE after carries it', async () => {
    const set = await rest('GET', `/query?q=${encodeURIComponent("SELECT Id FROM PermissionSet WHERE Name = 'Sync_Integration'")}`);
    const grant = ['/sobjects/FieldPermissions', {
      ParentId: set.records[0].Id, SobjectType: 'Account', Field: 'Account.Salary__c',
      PermissionsRead: true, PermissionsEdit: false,
    }];
    const [created, updated] = await createAndUpdateSeenBy(SYNC, 'Granted mid-stream', [grant]);
    assert.equal(created.salary, null, JSON.stringify(created));
    assert.equal(updated.salary, 6000, JSON.stringify(updated));
    assert.ok(updated.changedFields.includes('Salary__c'), `changedFields: ${updated.changedFields}`);
  });
});
