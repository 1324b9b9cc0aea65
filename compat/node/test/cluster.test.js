'use strict';
// jsforce through a node that does not serve the org: three forcebus nodes on one
// PostgreSQL database, each on ports of its own. A, started first, serves the default
// org; B and C serve none of it and pass its requests on to A. jsforce logs in through B
// (SOAP and OAuth), reads and writes, runs a Bulk API 2.0 job and streams change events
// over CometD, all through B; the URLs it is handed point at B. Then A is killed: B or C
// takes the org over, and the same connection and the same streaming client keep working
// through B without a change (writes answered 503 for the seconds the org has no node,
// as Salesforce answers while an instance is away; the streaming client re-handshakes by
// itself).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, API_VERSION } = require('./server');
const { startPostgres } = require('./postgres');
const { disconnectFaye } = require('./helpers/faye');
const { waitUntil, withTimeout, findChange, summary, TEST_TIMEOUT_MS } = require('./helpers/streaming');

const CHANNEL = '/data/AccountChangeEvent';

let pg;
let a;
let b;
let c;
const clients = [];

/** GET `path` on node `srv` (`/forcebus/health`, `/forcebus/ready`): [status, body]. */
async function nodeGet(srv, path) {
  const res = await fetch(`${srv.baseUrl}${path}`);
  return [res.status, await res.json()];
}

before(async () => {
  pg = await startPostgres();
  const opts = {
    prefix: 'cluster', inMemory: false,
    extraArgs: ['--store', pg.url], env: { FORCEBUS_LEASE_SECS: '2' },
  };
  a = await startServer('cluster-a', opts);
  [b, c] = await Promise.all([startServer('cluster-b', opts), startServer('cluster-c', opts)]);
});

after(async () => {
  for (const client of clients) await disconnectFaye(client);
  for (const srv of [a, b, c]) await srv?.stop();
  pg?.stop();
});

function streamingClient(conn) {
  const client = conn.streaming.createClient();
  clients.push(client);
  return client;
}

/**
 * `fn()` until it resolves: while the org's node is gone and before another has taken it
 * over, requests are answered 503 (jsforce rejects). Gives up after 30 s.
 */
async function whenServed(fn) {
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

describe('jsforce through a node that does not serve the org', () => {
  it('logs in, writes, runs Bulk 2.0 and streams through another node, and keeps going when the serving node is killed', { timeout: TEST_TIMEOUT_MS * 4 }, async () => {
    // Every node is ready at once; B is a different node from A.
    const [, health] = await nodeGet(a, '/forcebus/health');
    const [readyStatus, ready] = await nodeGet(b, '/forcebus/ready');
    assert.equal(readyStatus, 200, JSON.stringify(ready));
    assert.equal(ready.status, 'ready');
    assert.notEqual(ready.node, health.node, 'B is a node of its own');
    assert.equal(b.info.org_id, a.info.org_id, 'B reports the org A serves');
    const viaB = b.baseUrl;

    // SOAP login through B: the server URL jsforce gets names B.
    const soap = new jsforce.Connection({ loginUrl: viaB, version: API_VERSION });
    await soap.login(a.info.username, a.info.password + a.info.security_token);
    assert.equal(new URL(soap.instanceUrl).host, b.info.http);
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

    // CometD through B: changes made on A and through C arrive over B's long poll.
    const received = [];
    const client = streamingClient(conn);
    await withTimeout(client.subscribe(CHANNEL, (m) => received.push(m)), `subscribe ${CHANNEL}`);
    const direct = new jsforce.Connection({
      instanceUrl: a.baseUrl, accessToken: a.info.access_token, version: API_VERSION,
    });
    const onA = await direct.sobject('Account').create({ Name: 'Made on A' });
    const viaC = new jsforce.Connection({
      instanceUrl: c.baseUrl, accessToken: c.info.access_token, version: API_VERSION,
    });
    const onC = await viaC.sobject('Account').create({ Name: 'Made through C' });
    await waitUntil(() => findChange(received, onA.id) && findChange(received, onC.id),
      'the changes made on A and through C, through B', { describe: () => summary(received) });

    // A dies. The same connection writes through B once the org is served again.
    await a.kill('SIGKILL');
    const afterKill = await whenServed(() => conn.sobject('Account').create({ Name: 'After the takeover' }));
    assert.equal(afterKill.success, true, JSON.stringify(afterKill));

    // The same streaming client finds its way back by itself (its client id died with A:
    // it handshakes again through B and resubscribes): a change made now reaches it.
    const later = [];
    let lastWrite = 0;
    await waitUntil(() => {
      const seen = later.find((id) => findChange(received, id));
      if (!seen && Date.now() - lastWrite > 500) {
        lastWrite = Date.now();
        viaC.sobject('Account').create({ Name: 'Streamed after the takeover' })
          .then((r) => later.push(r.id), () => {});
      }
      return seen;
    }, 'a change after the takeover, on the streaming client made before it',
    { ms: 40000, describe: () => summary(received) });

    const all = await conn.query("SELECT Name FROM Account WHERE Name IN ('Through B', 'Made on A', 'Made through C', 'After the takeover')");
    assert.equal(all.totalSize, 4);
  });
});
