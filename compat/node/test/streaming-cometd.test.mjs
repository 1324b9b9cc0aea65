// Streaming API through the CometD JavaScript client on Node (`cometd` 9 +
// `cometd-nodejs-client` 2, both ESM): long-polling with WebSocket
// unregistered, the fallback from WebSocket to long-polling when it is left
// registered (the server refuses the upgrade), replay -2 passed as subscribe
// props, retained and live Change Data Capture events, a refused subscribe.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { adapt } from 'cometd-nodejs-client';
import { CometD } from 'cometd';
import jsforce from 'jsforce';
import { startServer, uniq, API_VERSION } from './server.js';
import {
  TEST_TIMEOUT_MS, waitUntil, withTimeout, findChange, summary, checkChangeEvent, assertIncreasing,
} from './helpers/streaming.js';

adapt();

const CHANNEL = '/data/AccountChangeEvent';

let srv;
let conn;
const clients = [];
before(async () => {
  srv = await startServer('streaming-cometd');
  conn = new jsforce.Connection({
    instanceUrl: srv.baseUrl,
    accessToken: srv.info.access_token,
    version: API_VERSION,
  });
});
after(async () => {
  for (const c of clients) await disconnect(c);
  await srv?.stop();
});

/**
 * A CometD client on `/cometd/59.0` with a Bearer token; records every message
 * it sends and receives (`wire.out`, `wire.in`).
 */
function cometdClient({ websocket = false } = {}) {
  const cometd = new CometD();
  if (!websocket) cometd.unregisterTransport('websocket');
  cometd.configure({
    url: `${srv.baseUrl}/cometd/${API_VERSION}`,
    requestHeaders: { Authorization: `Bearer ${srv.info.access_token}` },
    appendMessageTypeToURL: false,
    logLevel: 'warn',
  });
  const wire = { out: [], in: [] };
  cometd.registerExtension('wire-log', {
    outgoing(m) { wire.out.push(structuredClone(m)); return m; },
    incoming(m) { wire.in.push(structuredClone(m)); return m; },
  });
  const failures = [];
  // (Failure messages hold the transport's request objects: no JSON.stringify.)
  cometd.addListener('/meta/unsuccessful', (m) => failures.push({
    channel: m.channel,
    error: m.error,
    transport: m.failure?.connectionType,
    reason: m.failure?.reason,
    httpCode: m.failure?.httpCode,
  }));
  clients.push(cometd);
  return { cometd, wire, failures };
}

/**
 * Handshake; resolves with the first successful reply, or with the last failed
 * one if none succeeds in time. (With WebSocket registered the callback first
 * sees the failed WebSocket attempt, then CometD retries over long-polling.)
 */
async function handshake(cometd) {
  const replies = [];
  cometd.handshake((reply) => replies.push(reply));
  try {
    return await waitUntil(() => replies.find((r) => r.successful), 'a successful handshake reply',
      { describe: () => JSON.stringify(replies.map((r) => [r.successful, r.error, r.failure?.reason])) });
  } catch (e) {
    if (replies.length) return replies[replies.length - 1];
    throw e;
  }
}

function subscribe(cometd, channel, onMessage, props) {
  return withTimeout(
    new Promise((resolve) => cometd.subscribe(channel, onMessage, props, (reply) => resolve(reply))),
    `subscribe ${channel}`,
  );
}

async function disconnect(cometd) {
  if (cometd.isDisconnected()) return;
  await withTimeout(new Promise((resolve) => cometd.disconnect(() => resolve())), 'disconnect', 5000)
    .catch(() => {});
}

/** GET with `Upgrade: websocket` (as the `ws` package sends it); resolves with status and body. */
function upgradeProbe(path) {
  return withTimeout(new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: srv.port,
      path,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  }), 'WebSocket upgrade probe', 5000);
}

async function createAccount(fields) {
  const res = await conn.sobject('Account').create(fields);
  assert.equal(res.success, true, `create Account: ${JSON.stringify(res)}`);
  return res.id;
}

/** Receive replayed (-2) and live events on CHANNEL through `client`. */
async function replayThenLive({ cometd, wire, failures }) {
  const n1 = uniq('cometd-a');
  const n2 = uniq('cometd-b');
  const id1 = await createAccount({ Name: n1 });
  const id2 = await createAccount({ Name: n2 });

  const hs = await handshake(cometd);
  assert.equal(hs.successful, true, `handshake: ${hs.error}`);
  assert.equal(cometd.getTransport().type, 'long-polling');

  const messages = [];
  const datas = () => messages.map((m) => m.data);
  const sub = await subscribe(cometd, CHANNEL, (m) => messages.push(m), { ext: { replay: { [CHANNEL]: -2 } } });
  assert.equal(sub.successful, true, `subscribe: ${sub.error}`);
  assert.equal(sub.subscription, CHANNEL);

  await waitUntil(() => findChange(datas(), id1) && findChange(datas(), id2),
    'the two retained CREATE events (replay -2)', { describe: () => summary(datas()) });
  const n3 = uniq('cometd-c');
  const id3 = await createAccount({ Name: n3 });
  await waitUntil(() => findChange(datas(), id3), 'the live CREATE event', { describe: () => summary(datas()) });

  const userId = srv.info.user_id;
  checkChangeEvent(findChange(datas(), id1), { entityName: 'Account', recordId: id1, changeType: 'CREATE', userId, fields: { Name: n1 } });
  checkChangeEvent(findChange(datas(), id2), { entityName: 'Account', recordId: id2, changeType: 'CREATE', userId, fields: { Name: n2 } });
  checkChangeEvent(findChange(datas(), id3), { entityName: 'Account', recordId: id3, changeType: 'CREATE', userId, fields: { Name: n3 } });
  for (const m of messages) {
    assert.equal(m.channel, CHANNEL, 'event channel is the subscribed string');
    assert.ok(!('successful' in m), 'event messages carry no "successful"');
  }
  assertIncreasing(datas());
  const order = [id1, id2, id3].map((id) => messages.findIndex((m) => m.data === findChange(datas(), id)));
  assert.deepEqual(order, [...order].sort((a, b) => a - b), 'events arrive in write order');
  // (Failures the client makes up itself carry no server `error`: the refused
  // WebSocket attempt, checked by the WebSocket test.)
  assert.deepEqual(failures.filter((f) => f.error !== undefined || f.transport !== 'websocket'), [],
    'no unsuccessful meta replies');

  const disc = await withTimeout(new Promise((resolve) => cometd.disconnect((r) => resolve(r))), 'disconnect');
  assert.equal(disc.successful, true, 'disconnect acknowledged');
  return { hs, wire };
}

describe('CometD JS (cometd-nodejs-client): Change Data Capture over long-polling', () => {
  it('handshake, subscribe with replay -2, retained then live events', { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = cometdClient();
    const { hs, wire } = await replayThenLive(client);

    const hsOut = wire.out.find((m) => m.channel === '/meta/handshake');
    assert.deepEqual(hsOut.supportedConnectionTypes.includes('websocket'), false, 'websocket unregistered');
    assert.equal(typeof hs.clientId, 'string');
    assert.ok(hs.clientId.length > 0);
    assert.deepEqual(hs.supportedConnectionTypes, ['long-polling']);
    assert.equal(hs.version, '1.0');
    assert.equal(hs.ext?.replay, true, 'handshake reply advertises ext.replay');
    const connects = wire.in.filter((m) => m.channel === '/meta/connect');
    assert.ok(connects.length >= 1);
    assert.equal(connects[0].successful, true);
    assert.equal(connects[0].advice?.timeout, 110000, 'first connect reply advises the hold time');
    assert.equal(connects[0].advice?.interval, 0);
    assert.equal(connects[0].advice?.reconnect, 'retry');
  });

  it('with WebSocket left registered, falls back to long-polling', { timeout: TEST_TIMEOUT_MS }, async () => {
    // What the WebSocket transport meets: a prompt non-101 answer to the upgrade.
    const probe = await upgradeProbe(`/cometd/${API_VERSION}`);
    assert.equal(probe.status, 400, `upgrade probe answered ${probe.status}: ${probe.body}`);

    const client = cometdClient({ websocket: true });
    const { wire } = await replayThenLive(client);
    assert.deepEqual(client.failures.map((f) => [f.channel, f.transport]), [['/meta/handshake', 'websocket']],
      'exactly one failure: the WebSocket handshake attempt the server refused');
    const hsOut = wire.out.filter((m) => m.channel === '/meta/handshake');
    assert.equal(hsOut[0].supportedConnectionTypes[0], 'websocket', 'the client did try WebSocket first');
    const hsIn = wire.in.filter((m) => m.channel === '/meta/handshake' && m.successful);
    assert.equal(hsIn.length, 1, 'one successful handshake (over long-polling)');
  });

  it('a subscribe to a channel that does not exist is refused; the session survives', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { cometd } = cometdClient();
    const hs = await handshake(cometd);
    assert.equal(hs.successful, true, `handshake: ${hs.error}`);
    const missing = '/data/NoSuchThingChangeEvent';
    const bad = await subscribe(cometd, missing, () => {}, { ext: { replay: { [missing]: -1 } } });
    assert.equal(bad.successful, false);
    assert.equal(bad.subscription, missing, 'failed reply echoes the subscription');
    assert.match(String(bad.error), /^400::/, `error ${bad.error}`);
    assert.ok(String(bad.error).includes(missing), `error names the channel: ${bad.error}`);

    const messages = [];
    const ok = await subscribe(cometd, CHANNEL, (m) => messages.push(m), { ext: { replay: { [CHANNEL]: -1 } } });
    assert.equal(ok.successful, true, `subscribe after the refusal: ${ok.error}`);
    const id = await createAccount({ Name: uniq('cometd-after-refusal') });
    await waitUntil(() => findChange(messages.map((m) => m.data), id), 'a live event after the refused subscribe');
    await disconnect(cometd);
  });
});
