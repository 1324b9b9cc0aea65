'use strict';
// jsforce through a node that does not serve the org: two forcebus servers on one
// PostgreSQL database, A holding the lease, B standing by and passing every request on to
// A. jsforce logs in through B (SOAP and OAuth), reads and writes, runs a Bulk API 2.0
// job and streams change events over CometD, all through B; the URLs it is handed point
// at B. Then A is killed: B takes over on the same ports, and the same connection, and a
// new streaming client, keep working without a change.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, API_VERSION } = require('./server');
const { startPostgres, freePort } = require('./postgres');
const { disconnectFaye } = require('./helpers/faye');
const { waitUntil, withTimeout, findChange, summary, TEST_TIMEOUT_MS } = require('./helpers/streaming');

const CHANNEL = '/data/AccountChangeEvent';

let pg;
let a;
let b; // resolves once B holds the lease
let bServer;
let bListen;
const clients = [];

/** GET /forcebus/ready on `http` until it answers 200; its body. */
async function readyAt(http) {
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      const res = await fetch(`http://${http}/forcebus/ready`);
      if (res.status === 200) return res.json();
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`nothing ready at ${http}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  pg = await startPostgres();
  const opts = (listen) => ({
    prefix: 'cluster', inMemory: false, listen,
    extraArgs: ['--store', pg.url], env: { FORCEBUS_LEASE_SECS: '2' },
  });
  a = await startServer('cluster-a', opts(['127.0.0.1:0', '127.0.0.1:0']));
  bListen = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
  b = startServer('cluster-b', opts(bListen));
  b.then((s) => { bServer = s; }, () => {});
});

after(async () => {
  for (const c of clients) await disconnectFaye(c);
  await a?.stop();
  await bServer?.stop();
  pg?.stop();
});

function streamingClient(conn) {
  const client = conn.streaming.createClient();
  clients.push(client);
  return client;
}

describe('jsforce through a node that does not serve the org', () => {
  it('logs in, writes, runs Bulk 2.0 and streams through the standby, then keeps going when it takes over', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    const ready = await readyAt(bListen[0]);
    assert.equal(ready.role, 'standby', JSON.stringify(ready));
    const viaB = `http://${bListen[0]}`;

    // SOAP login through B: the server URL jsforce gets names B.
    const soap = new jsforce.Connection({ loginUrl: viaB, version: API_VERSION });
    await soap.login(a.info.username, a.info.password + a.info.security_token);
    assert.equal(new URL(soap.instanceUrl).host, bListen[0]);
    assert.equal(soap.userInfo.organizationId.slice(0, 15), a.info.org_id.slice(0, 15));

    // OAuth password flow through B.
    const conn = new jsforce.Connection({
      loginUrl: viaB,
      version: API_VERSION,
      oauth2: { clientId: a.info.client_id, clientSecret: a.info.client_secret, loginUrl: viaB },
    });
    await conn.login(a.info.username, a.info.password);
    assert.equal(conn.instanceUrl, viaB);

    const created = await conn.sobject('Account').create({ Name: 'Through B' });
    assert.equal(created.success, true, JSON.stringify(created));
    const found = await conn.query(`SELECT Id, Name FROM Account WHERE Id = '${created.id}'`);
    assert.equal(found.records[0].Name, 'Through B');

    // Bulk API 2.0 through B.
    conn.bulk2.pollInterval = 200;
    const results = await conn.bulk2.loadAndWaitForResults({
      object: 'Contact', operation: 'insert', input: 'LastName\nBulk One\nBulk Two\n',
    });
    assert.equal(results.successfulResults.length, 2, JSON.stringify(results));

    // CometD through B: a change made on A arrives over B's long poll.
    const received = [];
    const client = streamingClient(conn);
    await withTimeout(client.subscribe(CHANNEL, (m) => received.push(m)), `subscribe ${CHANNEL}`);
    const direct = new jsforce.Connection({
      instanceUrl: a.baseUrl, accessToken: a.info.access_token, version: API_VERSION,
    });
    const onA = await direct.sobject('Account').create({ Name: 'Made on A' });
    await waitUntil(() => findChange(received, onA.id), 'the change made on A, through B',
      { describe: () => summary(received) });

    // A dies: B takes over on the ports jsforce already uses.
    await a.kill('SIGKILL');
    await b;
    assert.equal(bServer.info.http, bListen[0]);
    const after = await conn.sobject('Account').create({ Name: 'After the takeover' });
    assert.equal(after.success, true, JSON.stringify(after));
    const again = [];
    const second = streamingClient(conn);
    await withTimeout(second.subscribe(CHANNEL, (m) => again.push(m)), `subscribe ${CHANNEL} again`);
    const last = await conn.sobject('Account').create({ Name: 'Streamed by B' });
    await waitUntil(() => findChange(again, last.id), 'a change on B after the takeover',
      { describe: () => summary(again) });
    const all = await conn.query("SELECT Name FROM Account WHERE Name IN ('Through B', 'Made on A', 'After the takeover', 'Streamed by B')");
    assert.equal(all.totalSize, 4);
  });
});
