// The Salesforce Pub/Sub API client for Node (npm salesforce-pubsub-api-client) against
// forcebus over TLS: each scenario runs in a child process (test/helpers/client.mjs)
// that trusts the server's CA, and prints what the client saw as JSON lines.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { runScenario } from './helpers/scenario.mjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
// The npm client's tooling query (managed subscriptions) asks for API v62.0.
process.env.COMPAT_FORCEBUS_CONFIG ??= path.join(HERE, '..', '..', 'fixtures', 'forcebus-pubsub.toml');
const require = createRequire(import.meta.url);
// The server harness shared with the jsforce suite (Node built-ins only).
const { startServer } = require('../../node/test/server.js');
const CLIENT = path.join(HERE, 'helpers', 'client.mjs');

/** Runs one scenario; resolves with the parsed JSON lines. */
function run(srv, scenario, extra = {}) {
  return runScenario(CLIENT, srv, scenario, { auth: 'user-supplied', ...extra });
}

const events = (lines) => lines.filter((l) => l.type === 'event');
function assertDone(lines) {
  const bad = lines.find((l) => l.type === 'error' || l.type === 'failed');
  assert.equal(bad, undefined, JSON.stringify(bad));
}

async function rest(srv, method, urlPath, body) {
  const res = await fetch(`${srv.baseUrl}/services/data/v59.0${urlPath}`, {
    method,
    headers: { Authorization: `Bearer ${srv.info.access_token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.status < 300, `${method} ${urlPath}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

describe('Pub/Sub API: change events with each auth type', () => {
  for (const auth of ['user-supplied', 'username-password', 'oauth-client-credentials']) {
    it(`${auth}: create, update, delete, undelete with changedFields by name, then a live event`, async () => {
      const srv = await startServer(`pubsub-crud-${auth}`, { prefix: 'pubsub' });
      try {
        const lines = await run(srv, 'crud', { auth });
        assertDone(lines);
        assert.ok(lines.some((l) => l.type === 'connected' && l.auth === auth));
        const id = lines.find((l) => l.type === 'record').id;
        const got = events(lines);
        assert.deepEqual(
          got.map((e) => e.changeType),
          ['CREATE', 'UPDATE', 'UPDATE', 'DELETE', 'UNDELETE', 'UPDATE'],
        );
        for (const e of got) {
          assert.deepEqual(e.recordIds, [id]);
          assert.equal(e.id.length, 36, 'event UUID');
          assert.equal(e.schemaId.length, 22);
        }
        const ids = got.map((e) => e.replayId);
        assert.deepEqual([...ids].sort((a, b) => a - b), ids, 'replay ids increase');
        assert.deepEqual(got[0].changedFields, [], 'a CREATE lists no changed fields');
        assert.equal(got[0].name, 'Pubsub Co');
        assert.equal(got[0].phone, '555-0100');
        assert.deepEqual([...got[1].changedFields].sort(), ['LastModifiedDate', 'Name', 'Phone']);
        assert.equal(got[1].name, 'Acme');
        assert.deepEqual(
          [...got[2].changedFields].sort(),
          ['BillingAddress.City', 'LastModifiedDate', 'Phone'],
        );
        assert.deepEqual(got[2].nulledFields, ['Phone']);
        assert.equal(got[2].billingCity, 'Paris');
        assert.deepEqual([...got[5].changedFields].sort(), ['LastModifiedDate', 'Name']);
        assert.equal(got[5].name, 'Live');
      } finally {
        await srv.stop();
      }
    });
  }
});

describe('Pub/Sub API: flow control, replay, managed subscriptions, publish', () => {
  let srv;
  before(async () => {
    srv = await startServer('pubsub-suite', { prefix: 'pubsub' });
  });
  after(async () => {
    await srv.stop();
  });

  it('requestAdditionalEvents after lastEvent delivers the next batch', async () => {
    const lines = await run(srv, 'additional');
    assertDone(lines);
    const kinds = lines
      .filter((l) => ['event', 'lastEvent', 'requestAdditionalEvents'].includes(l.type))
      .map((l) => l.type);
    assert.deepEqual(kinds, ['event', 'event', 'lastEvent', 'requestAdditionalEvents', 'event', 'event', 'lastEvent']);
    assert.deepEqual(events(lines).map((e) => e.name), ['R1', 'R2', 'R3', 'R4']);
  });

  it('managed subscribe by name with commits, then by id resumes after the commit', async () => {
    const created = await rest(srv, 'POST', '/tooling/sobjects/ManagedEventSubscription', {
      FullName: 'Accounts_Managed',
      Metadata: {
        label: 'Accounts Managed',
        topicName: '/data/AccountChangeEvent',
        defaultReplay: 'EARLIEST',
        errorRecoveryReplay: 'EARLIEST',
        state: 'RUN',
      },
    });
    assert.ok(created.id.startsWith('18x'), created.id);
    const first = await run(srv, 'managed', {
      subscription: 'Accounts_Managed',
      subscriptionId: created.id,
      count: 2,
    });
    assertDone(first);
    const a = events(first);
    assert.equal(a.length, 2);
    assert.equal(first.filter((l) => l.type === 'commit').length, 2);
    await rest(srv, 'POST', '/sobjects/Account', { Name: 'After the commit' });
    const second = await run(srv, 'managed', {
      subscription: created.id,
      subscriptionId: created.id,
      count: 2,
    });
    assertDone(second);
    const b = events(second);
    assert.equal(b.length, 2);
    assert.ok(b[0].replayId > a[1].replayId, `${b[0].replayId} after ${a[1].replayId}`);
  });

  it('a stopped managed subscription is refused by the client', async () => {
    const created = await rest(srv, 'POST', '/tooling/sobjects/ManagedEventSubscription', {
      FullName: 'Stopped_Sub',
      Metadata: { label: 'Stopped', topicName: '/data/AccountChangeEvent', defaultReplay: 'LATEST', errorRecoveryReplay: 'LATEST', state: 'STOP' },
    });
    const lines = await run(srv, 'managed', { subscription: 'Stopped_Sub', subscriptionId: created.id, count: 1 });
    const err = lines.find((l) => l.type === 'error');
    assert.ok(err, JSON.stringify(lines));
    assert.match(err.causes.join(' '), /STOP state/);
  });

  it('publishing to a change event topic is refused with the server error', async () => {
    const lines = await run(srv, 'publish');
    assertDone(lines);
    const e = lines.find((l) => l.type === 'publishError');
    assert.ok(e, JSON.stringify(lines));
    assert.match(e.causes.join(' '), /isn't allowed.*rpcId: /);
  });
});

describe('Pub/Sub API: resume after a server restart', () => {
  it('subscribeFromReplayId with a stored replay id gets only later events', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'forcebus-pubsub-restart-'));
    try {
      let srv = await startServer('pubsub-restart-1', { prefix: 'pubsub', dataDir, inMemory: false });
      for (const n of ['Before 1', 'Before 2']) {
        await rest(srv, 'POST', '/sobjects/Account', { Name: n });
      }
      const first = await run(srv, 'earliest', { count: 2 });
      assertDone(first);
      const stored = events(first).pop().replayId;
      await srv.kill('SIGKILL');
      srv = await startServer('pubsub-restart-2', { prefix: 'pubsub', dataDir, inMemory: false });
      try {
        const second = await run(srv, 'resume', { replayId: stored, name: 'After restart', count: 1 });
        assertDone(second);
        const got = events(second);
        assert.equal(got.length, 1, JSON.stringify(got));
        assert.equal(got[0].name, 'After restart');
        assert.ok(got[0].replayId > stored);
      } finally {
        await srv.stop();
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('Pub/Sub API: failover on PostgreSQL', () => {
  it('a subscriber resubscribes from its replay id after the serving server is killed, and misses nothing', async () => {
    const { startPostgres, freePort } = require('../../node/test/postgres.js');
    const pg = await startPostgres();
    const listen = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
    const opts = (name) => ({
      prefix: 'pubsub', inMemory: false, listen,
      extraArgs: ['--store', pg.url], env: { FORCEBUS_LEASE_SECS: '2' },
    });
    const servers = [];
    try {
      const first = await startServer('pubsub-failover-1', opts());
      servers.push(first);
      // The second node waits for the ports the first one holds (a restart in place):
      // ready once it listens.
      const second = startServer('pubsub-failover-2', opts());
      second.then((s) => servers.push(s), () => {});
      await new Promise((r) => setTimeout(r, 1000));
      const lines = await run(first, 'failover', { killPid: first.pid });
      assertDone(lines);
      await second;
      // In replay id order: the client hands each FetchResponse to an async handler that
      // awaits the schema, so two responses that arrive together may reach the callback
      // in either order (the server sends them in order).
      const got = events(lines).sort((a, b) => a.replayId - b.replayId);
      assert.deepEqual(got.map((e) => e.name), ['Before', 'While away', 'After'], JSON.stringify(lines));
      const ids = got.map((e) => e.replayId);
      assert.equal(new Set(ids).size, ids.length, 'each event once');
      assert.ok(lines.some((l) => l.type === 'resubscribing' && l.from === ids[0]), 'resubscribed from the stored id');
    } finally {
      for (const s of servers) await s.stop();
      pg.stop();
    }
  });
});

describe('Pub/Sub API: through a node that does not serve the org', () => {
  it('logs in and subscribes through another node, and resubscribes there when the serving node is killed', async () => {
    const { startPostgres } = require('../../node/test/postgres.js');
    const pg = await startPostgres();
    const opts = {
      prefix: 'pubsub', inMemory: false,
      extraArgs: ['--store', pg.url], env: { FORCEBUS_LEASE_SECS: '2' },
    };
    const servers = [];
    try {
      // Three nodes on ports of their own: the first serves the default org.
      const serving = await startServer('pubsub-via-a', opts);
      servers.push(serving);
      const others = await Promise.all(['b', 'c'].map((n) => startServer(`pubsub-via-${n}`, opts)));
      servers.push(...others);
      const nodeOf = async (srv) => (await (await fetch(`${srv.baseUrl}/forcebus/health`)).json()).node;
      const ids = await Promise.all(servers.map(nodeOf));
      assert.equal(new Set(ids).size, 3, JSON.stringify(ids));
      for (const srv of others) {
        const res = await fetch(`${srv.baseUrl}/forcebus/ready`);
        assert.equal(res.status, 200);
        assert.equal((await res.json()).status, 'ready');
      }
      // Every call of the scenario (SOAP login over TLS, REST, SOAP undelete, the gRPC
      // stream over TLS) goes to B, which passes it on to the serving node.
      const [b, c] = others;
      const lines = await run(b, 'crud', { auth: 'username-password' });
      assertDone(lines);
      assert.deepEqual(
        events(lines).map((e) => e.changeType),
        ['CREATE', 'UPDATE', 'UPDATE', 'DELETE', 'UNDELETE', 'UPDATE'],
      );
      // A subscriber through C; the serving node is killed under it: B or C takes the org
      // over, and the subscriber resubscribes through C from its replay id.
      const failover = await run(c, 'failover', { killPid: serving.pid });
      assertDone(failover);
      // From the earliest: the scenario's events follow the six above.
      const got = events(failover).sort((x, y) => x.replayId - y.replayId);
      assert.deepEqual(got.slice(6).map((e) => e.name), ['Before', 'While away', 'After'], JSON.stringify(failover));
      const replayIds = got.map((e) => e.replayId);
      assert.equal(new Set(replayIds).size, replayIds.length, 'each event once');
      const resubscribed = failover.findIndex((l) => l.type === 'resubscribing');
      const stored = Math.max(...events(failover.slice(0, resubscribed)).map((e) => e.replayId));
      assert.equal(failover[resubscribed].from, stored, 'resubscribed from the stored id');
    } finally {
      for (const s of servers) await s.stop();
      pg.stop();
    }
  });
});
