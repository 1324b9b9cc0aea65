// The CometD JavaScript client (`cometd` 9 + `cometd-nodejs-client` 2, long-polling)
// behind a loopback proxy that abandons a parked /meta/connect mid-hold: the proxy
// answers the client 504 while the upstream request stays open, and the client retries
// its connect with the same clientId. The session must live through a quiet longer than
// the session timeout (1 s here, fixtures/forcebus-streaming-overlap.toml) and get the
// next events, without a new handshake.
//
// CometD JS retries a failed connect with `advice: {timeout: 0}`, so the server answers
// the retry at once (releasing the abandoned one) and only the connect after it parks:
// this client never has two connects parked at once, and passed on the build before the
// parked-count fix too. The Python suite's aiosfstream-ng retries with a plain connect,
// which parks beside the abandoned one, and fails on that build
// (compat/python/tests/test_streaming_overlap.py).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jsforce from 'jsforce';
import { startServer, rawRequest, uniq, API_VERSION } from './server.js';
import { TEST_TIMEOUT_MS, waitUntil, findChange, summary, settle } from './helpers/streaming.js';
import { cometdClient, handshake, subscribe, disconnect } from './helpers/cometd.mjs';
import { startAbandoningProxy } from './helpers/abandoning-proxy.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONFIG = path.join(HERE, '..', '..', 'fixtures', 'forcebus-streaming-overlap.toml');
const CHANNEL = '/data/AccountChangeEvent';
/** The server's session timeout (the fixture's), and a quiet longer than it. */
const QUIET_MS = 1500;

let srv;
let proxy;
let conn;
const clients = [];
before(async () => {
  srv = await startServer('streaming-overlap', { config: CONFIG });
  proxy = await startAbandoningProxy(srv.port);
  conn = new jsforce.Connection({ instanceUrl: srv.baseUrl, accessToken: srv.info.access_token, version: API_VERSION });
});
after(async () => {
  for (const c of clients) await disconnect(c);
  await proxy?.close();
  await srv?.stop();
});

/** A handshake straight to the server: the server sweeps expired sessions when one is made. */
async function sweepByHandshake() {
  const res = await rawRequest(srv, 'POST', `/cometd/${API_VERSION}`, {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${srv.info.access_token}` },
    body: JSON.stringify([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }]),
  });
  assert.equal(res.json?.[0]?.successful, true, `sweeping handshake: ${res.text}`);
}

describe('Streaming API: a connect abandoned by a proxy mid-hold (CometD JS)', () => {
  it('keeps the session through a quiet past the session timeout and delivers the next event', { timeout: TEST_TIMEOUT_MS + 10000 }, async () => {
    // The second connect is the first the server parks; the proxy gives up on it.
    proxy.abandonConnect(2);
    const { cometd, wire, failures } = cometdClient({ baseUrl: proxy.baseUrl, info: srv.info }, clients);
    const hs = await handshake(cometd);
    assert.equal(hs.successful, true, `handshake: ${hs.error}`);
    const messages = [];
    const datas = () => messages.map((m) => m.data);
    const sub = await subscribe(cometd, CHANNEL, (m) => messages.push(m));
    assert.equal(sub.successful, true, `subscribe: ${sub.error}`);

    // The client sees a 504 and retries; the retry reaches the server, which releases
    // the abandoned connect (answered empty and successful, to the proxy only).
    await waitUntil(() => proxy.stats.abandoned >= 1 && proxy.stats.abandonedAnswers.length >= 1,
      'the server to release the abandoned connect', { describe: () => JSON.stringify(proxy.stats) });
    const released = JSON.parse(proxy.stats.abandonedAnswers[0].body);
    assert.equal(released.length, 1, `the released connect carries no event: ${proxy.stats.abandonedAnswers[0].body}`);
    assert.equal(released[0].channel, '/meta/connect');
    assert.equal(released[0].successful, true);
    assert.ok(failures.some((f) => f.channel === '/meta/connect' && f.httpCode === 504),
      `the client saw the proxy's 504: ${JSON.stringify(failures)}`);

    // A quiet past the session timeout while the retry is parked, then a sweep.
    await settle(QUIET_MS);
    await sweepByHandshake();

    const name = uniq('overlap');
    const res = await conn.sobject('Account').create({ Name: name });
    assert.equal(res.success, true, JSON.stringify(res));
    await waitUntil(() => findChange(datas(), res.id), 'the change event after the quiet',
      { describe: () => `${summary(datas())} failures=${JSON.stringify(failures)}` });

    // The session goes on: the next connect (parked again) gets the next event. On the
    // build before the fix the parked connect still answered with the first event, but
    // the session was gone and the next connect got 403::Unknown client.
    const second = await conn.sobject('Account').create({ Name: `${name}-2` });
    assert.equal(second.success, true, JSON.stringify(second));
    await waitUntil(() => findChange(datas(), second.id), 'the change event after that',
      { describe: () => `${summary(datas())} failures=${JSON.stringify(failures)}` });

    // One session throughout: one handshake, every connect on its clientId, no 403.
    const handshakes = wire.in.filter((m) => m.channel === '/meta/handshake' && m.successful);
    assert.equal(handshakes.length, 1, 'no second handshake');
    const clientId = handshakes[0].clientId;
    const connects = wire.out.filter((m) => m.channel === '/meta/connect');
    assert.ok(connects.length >= 3, `connects sent: ${connects.length}`);
    assert.ok(connects.every((m) => m.clientId === clientId), 'every connect on the one session');
    assert.deepEqual(failures.filter((f) => f.error), [], 'no server-side failure');
  });
});
