// Many orgs on one server, through the repository's own test helper (clients/js,
// `forcebus-test`) with node:test's hooks: the helper starts a server from FORCEBUS_BIN and
// gives each test a fresh org. jsforce in eight orgs at once (REST writes, SOQL, and a
// streaming subscriber per org on /data/AccountChangeEvent) sees only its own records and
// events; a username signs in to its own org.

import { before, after, beforeEach, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { useForcebusOrg } from '../../../clients/js/index.js';

const require = createRequire(import.meta.url);
const jsforce = require('jsforce');
const { StreamingExtension } = require('jsforce/api/streaming');

const ORGS = 8;
const RECORDS = 4;
const TIMEOUT_MS = 30_000;

const fb = useForcebusOrg({ hooks: { before, after, beforeEach, afterEach } });

function connect(org) {
  return new jsforce.Connection({ instanceUrl: org.instance_url, accessToken: org.access_token, version: org.api_version });
}

/** Subscribes on /data/AccountChangeEvent from the retained events (-2); collects names. */
async function subscribe(conn) {
  const seen = [];
  const client = conn.streaming.createClient([new StreamingExtension.Replay('/data/AccountChangeEvent', -2)]);
  const subscription = client.subscribe('/data/AccountChangeEvent', (m) => seen.push(m.payload.Name));
  await subscription;
  return { seen, close: async () => { subscription.cancel(); await client.disconnect(); } };
}

async function until(check, what) {
  const end = Date.now() + TIMEOUT_MS;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('one org per test (forcebus-test)', () => {
  it('gives this test an empty org of its own', async () => {
    assert.match(fb.org.org_id, /^00D/);
    const conn = connect(fb.org);
    assert.equal((await conn.query('SELECT Id FROM Account')).totalSize, 0);
    await conn.sobject('Account').create({ Name: 'left behind' });
  });

  it('and the next test another, the last one gone', async () => {
    const conn = connect(fb.org);
    assert.equal((await conn.query('SELECT Id FROM Account')).totalSize, 0);
    const orgs = await fb.server.listOrgs();
    assert.equal(orgs.filter((o) => !o.default).length, 1, JSON.stringify(orgs));
  });

  it('signs a username in to its own org (SOAP login through jsforce)', async () => {
    const made = await fb.server.createOrg({ config: { users: [{ username: 'login@orgs.test', password: 'pw-login' }] } });
    try {
      // SOAP login() is gone from API 65.0 (Salesforce refuses it with INVALID_OPERATION,
      // and so does forcebus at its default 66.0): jsforce logs in at 64.0, as it must
      // against a real org.
      const conn = new jsforce.Connection({ loginUrl: fb.server.url, version: '64.0' });
      const info = await conn.login(made.username, made.password + made.security_token);
      assert.equal(info.organizationId, made.org_id);
      assert.equal((await conn.query('SELECT Username FROM User')).records[0].Username, 'login@orgs.test');
    } finally {
      await fb.server.deleteOrg(made.org_id);
    }
  });
});

describe('eight orgs at once', () => {
  it('each sees only its own records and events', { timeout: 120_000 }, async () => {
    const orgs = await Promise.all(Array.from({ length: ORGS }, (_, i) => fb.server.createOrg({ name: `parallel-${i}` })));
    try {
      assert.equal(new Set(orgs.map((o) => o.org_id)).size, ORGS);
      const conns = orgs.map(connect);
      const streams = await Promise.all(conns.map(subscribe));
      const ids = await Promise.all(conns.map(async (conn, i) => {
        const made = [];
        for (let j = 0; j < RECORDS; j++) made.push((await conn.sobject('Account').create({ Name: `org${i}-${j}` })).id);
        return made;
      }));
      await Promise.all(conns.map(async (conn, i) => {
        const names = (await conn.query('SELECT Name FROM Account ORDER BY Name')).records.map((r) => r.Name);
        assert.deepEqual(names, Array.from({ length: RECORDS }, (_, j) => `org${i}-${j}`));
      }));
      for (const [i, s] of streams.entries()) {
        await until(() => s.seen.length >= RECORDS, `org ${i}'s events`);
        assert.deepEqual([...s.seen].sort(), Array.from({ length: RECORDS }, (_, j) => `org${i}-${j}`), `org ${i}: only its own events`);
      }
      // Another org's record id is not found with this org's token.
      await assert.rejects(conns[0].sobject('Account').retrieve(ids[1][0]), (e) => e.errorCode === 'NOT_FOUND');
      await Promise.all(streams.map((s) => s.close()));
    } finally {
      await Promise.all(orgs.map((o) => fb.server.deleteOrg(o.org_id)));
    }
  });
});
