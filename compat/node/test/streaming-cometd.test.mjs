// Streaming API through the CometD JavaScript client on Node (`cometd` 9 +
// `cometd-nodejs-client` 2, both ESM): long-polling with WebSocket
// unregistered, the fallback from WebSocket to long-polling when it is left
// registered (the server refuses the upgrade), replay -2 passed as subscribe
// props, retained and live Change Data Capture events, a refused subscribe, a
// revoked token (fresh token into requestHeaders, handshake again, resubscribe
// from the /meta/handshake listener). On a server with its data on disk, with
// an EMP-style replay extension (the whole replay map on every subscribe): one
// Account's CREATE / UPDATE / DELETE / UNDELETE on /data/ChangeEvents and
// /data/AccountChangeEvent, a restart (SIGKILL) and replay from -2 and from the
// stored ids, the invalid-replay-id error in the subscribe callback.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { adapt } from 'cometd-nodejs-client';
import { CometD } from 'cometd';
import jsforce from 'jsforce';
import { startServer, revokeToken, uniq, API_VERSION } from './server.js';
import {
  TEST_TIMEOUT_MS, waitUntil, withTimeout, findChange, summary, checkChangeEvent, assertIncreasing,
  accountLifecycle, checkLifecycle, passwordGrant, invalidReplayError, settle,
} from './helpers/streaming.js';

adapt();

const CHANNEL = '/data/AccountChangeEvent';
const ALL = '/data/ChangeEvents';

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
function cometdClient({ websocket = false, server = srv, token = server.info.access_token } = {}) {
  const cometd = new CometD();
  if (!websocket) cometd.unregisterTransport('websocket');
  cometd.configure({
    url: `${server.baseUrl}/cometd/${API_VERSION}`,
    requestHeaders: { Authorization: `Bearer ${token}` },
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

/**
 * The replay extension pattern of Salesforce's CometD samples, sending the
 * whole map on every subscribe as EMP Connector does: `map[channel]` is the
 * replay id for `channel`, moved on by every event received on it.
 */
function replayExtension(map) {
  return {
    outgoing(m) {
      if (m.channel === '/meta/subscribe') m.ext = { ...m.ext, replay: { ...map } };
      return m;
    },
    incoming(m) {
      const id = m.data?.event?.replayId;
      if (!m.channel.startsWith('/meta/') && id && m.channel in map) map[m.channel] = id;
      return m;
    },
  };
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

  it('a revoked token: 401 on /meta/connect, then a fresh token, a new handshake and a resubscribe', { timeout: TEST_TIMEOUT_MS }, async () => {
    const firstToken = await passwordGrant(srv);
    const { cometd, wire } = cometdClient({ token: firstToken });
    const replayMap = { [CHANNEL]: -1 };
    cometd.registerExtension('replay', replayExtension(replayMap));
    const messages = [];
    const datas = () => messages.map((m) => m.data);
    const tokens = [firstToken];
    const subscribeReplies = [];
    // Salesforce sample pattern: (re)subscribe whenever a handshake succeeds,
    // since CometD drops its subscriptions on every handshake.
    const seenAtHandshake = [];
    cometd.addListener('/meta/handshake', (m) => {
      if (!m.successful) return;
      seenAtHandshake.push(messages.length);
      cometd.subscribe(CHANNEL, (e) => messages.push(e), (r) => subscribeReplies.push(r));
    });
    // On 401::Authentication invalid (advice reconnect:none, so CometD stops):
    // a fresh token from the password grant into requestHeaders, then handshake.
    const refreshes = [];
    cometd.addListener('/meta/connect', (m) => {
      if (m.successful || !String(m.error).startsWith('401::')) return;
      refreshes.push(passwordGrant(srv).then((token) => {
        tokens.push(token);
        cometd.configure({ requestHeaders: { Authorization: `Bearer ${token}` } });
        cometd.handshake();
      }));
    });
    cometd.handshake();
    await waitUntil(() => subscribeReplies.length === 1, 'the first subscribe reply');
    assert.equal(subscribeReplies[0].successful, true, `subscribe: ${subscribeReplies[0].error}`);

    const idBefore = await createAccount({ Name: uniq('cometd-revoke-before') });
    await waitUntil(() => findChange(datas(), idBefore), 'an event while the token is valid',
      { describe: () => summary(datas()) });
    await revokeToken(srv, firstToken);
    // Wakes the parked connect (sent while the token was valid); the next
    // connect carries the revoked token.
    const idAfter = await createAccount({ Name: uniq('cometd-revoke-after') });
    await waitUntil(() => subscribeReplies.length === 2, 'the resubscribe after the new handshake',
      { describe: () => JSON.stringify(wire.in.filter((m) => m.channel.startsWith('/meta/'))) });
    await Promise.all(refreshes);
    assert.equal(subscribeReplies[1].successful, true, `resubscribe: ${subscribeReplies[1].error}`);
    const idRecovered = await createAccount({ Name: uniq('cometd-revoke-recovered') });
    await waitUntil(() => findChange(datas(), idRecovered), 'a live event after the recovery',
      { describe: () => summary(datas()) });

    const failed = wire.in.filter((m) => m.channel === '/meta/connect' && !m.successful);
    assert.equal(failed.length, 1, `one failed connect: ${JSON.stringify(failed)}`);
    assert.equal(failed[0].error, '401::Authentication invalid');
    assert.equal(failed[0].advice?.reconnect, 'none');
    assert.equal(refreshes.length, 1, 'one token refresh');
    assert.equal(tokens.length, 2);
    assert.notEqual(tokens[1], tokens[0], 'a fresh token');
    const handshakes = wire.in.filter((m) => m.channel === '/meta/handshake');
    assert.deepEqual(handshakes.map((m) => m.successful), [true, true], 'two successful handshakes');
    assert.notEqual(handshakes[1].clientId, handshakes[0].clientId, 'a new session');
    // The resubscribe carried the last replay id seen (idBefore's or idAfter's:
    // whether the old session got idAfter depends on whether its connect with
    // the revoked token was already out), so nothing is lost or repeated.
    const subsOut = wire.out.filter((m) => m.channel === '/meta/subscribe');
    assert.equal(subsOut[0].ext.replay[CHANNEL], -1);
    const lastSeen = messages[seenAtHandshake[1] - 1];
    assert.ok(lastSeen, 'the first session received at least idBefore');
    assert.equal(subsOut[1].ext.replay[CHANNEL], lastSeen.data.event.replayId,
      'resubscribed from the last replay id received');
    for (const id of [idBefore, idAfter, idRecovered]) {
      assert.equal(datas().filter((d) => findChange([d], id)).length, 1, `event for ${id} delivered once: ${summary(datas())}`);
    }
    assertIncreasing(datas());
    await disconnect(cometd);
  });
});

describe('CometD JS: both CDC channels across a server restart', () => {
  const CHANNELS = [ALL, CHANNEL];
  let dataDir;
  let s1;
  let s2;
  const state = {};

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'forcebus-cometd-restart-'));
    s1 = await startServer('streaming-cometd-restart-1', { dataDir, inMemory: false });
  });
  after(async () => {
    // Clients of these servers: closed here, before the servers go.
    for (const c of clients.splice(0)) await disconnect(c);
    await s1?.stop();
    await s2?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  function jsforceTo(server) {
    return new jsforce.Connection({ instanceUrl: server.baseUrl, accessToken: server.info.access_token, version: API_VERSION });
  }

  /**
   * Handshake a client on `server` with the replay extension over `replayMap`
   * and subscribe every channel of the map; `received[channel]` collects event data.
   */
  async function subscribeAll(server, replayMap) {
    const client = cometdClient({ server });
    const initial = { ...replayMap };
    client.cometd.registerExtension('replay', replayExtension(replayMap));
    const hs = await handshake(client.cometd);
    assert.equal(hs.successful, true, `handshake: ${hs.error}`);
    const received = {};
    for (const ch of Object.keys(replayMap)) {
      received[ch] = [];
      const reply = await subscribe(client.cometd, ch, (m) => {
        assert.equal(m.channel, ch);
        received[ch].push(m.data);
      });
      assert.equal(reply.successful, true, `subscribe ${ch}: ${reply.error}`);
    }
    const sent = client.wire.out.filter((m) => m.channel === '/meta/subscribe');
    for (const m of sent) {
      assert.deepEqual(Object.keys(m.ext.replay).sort(), Object.keys(initial).sort(),
        'every subscribe carried the whole replay map');
      assert.equal(m.ext.replay[m.subscription], initial[m.subscription], `replay id for ${m.subscription}`);
    }
    return { ...client, received };
  }

  it('CREATE, UPDATE, DELETE, UNDELETE of one Account arrive on both channels (-1)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const conn1 = jsforceTo(s1);
    // -1: not the seed User's startup CREATE that /data/ChangeEvents retains.
    const replayMap = { [ALL]: -1, [CHANNEL]: -1 };
    const client = await subscribeAll(s1, replayMap);
    const rec = await accountLifecycle(conn1, uniq('cometd-life'));
    for (const ch of CHANNELS) {
      await waitUntil(() => findChange(client.received[ch], rec.id, 'UNDELETE'), `the UNDELETE on ${ch}`,
        { describe: () => summary(client.received[ch]) });
    }
    await settle();
    for (const ch of CHANNELS) {
      const received = client.received[ch];
      assert.equal(received.length, 4, `exactly four events on ${ch}: ${summary(received)}`);
      checkLifecycle(received, rec, s1.info.user_id);
      assert.equal(replayMap[ch], received[3].event.replayId, `${ch}: the extension stored the last id`);
    }
    assert.deepEqual(client.failures, []);
    await disconnect(client.cometd);
    Object.assign(state, { rec, live: client.received, stored: { ...replayMap } });
  });

  it('after a restart on the same data: -2 replays events from before it, a stored id only later ones', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(state.rec, 'the previous test stored its record and replay ids');
    const killed = await s1.kill('SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    s2 = await startServer('streaming-cometd-restart-2', { dataDir, inMemory: false });
    const userId = s2.info.user_id;
    const phone2 = '555-0144';
    const up = await jsforceTo(s2).sobject('Account').update({ Id: state.rec.id, Phone: phone2 });
    assert.equal(up.success, true, 'update after the restart');

    const all = await subscribeAll(s2, { [ALL]: -2, [CHANNEL]: -2 });
    const later = await subscribeAll(s2, { ...state.stored });
    const isLater = (d) => d.payload.ChangeEventHeader.changeType === 'UPDATE' && d.payload.Phone === phone2;
    for (const client of [all, later]) {
      for (const ch of CHANNELS) {
        await waitUntil(() => client.received[ch].find(isLater), `the post-restart UPDATE on ${ch}`,
          { describe: () => summary(client.received[ch]) });
      }
    }
    await settle();

    for (const ch of CHANNELS) {
      const replayed = all.received[ch];
      const seed = replayed.filter((d) => d.payload.ChangeEventHeader.entityName === 'User');
      const accounts = replayed.filter((d) => d.payload.ChangeEventHeader.entityName === 'Account');
      if (ch === ALL) {
        assert.equal(seed.length, 1, `one seed User CREATE retained on ${ch}: ${summary(replayed)}`);
        assert.equal(seed[0].payload.ChangeEventHeader.changeType, 'CREATE');
        assert.deepEqual(seed[0].payload.ChangeEventHeader.recordIds, [userId]);
        assert.equal(replayed[0], seed[0], 'the seed event comes first');
      } else {
        assert.deepEqual(seed, [], `no User events on ${ch}`);
      }
      assert.equal(accounts.length, 5, `four retained Account events and the later one on ${ch}: ${summary(replayed)}`);
      assert.equal(replayed.length, seed.length + accounts.length);
      assert.deepEqual(accounts.slice(0, 4), state.live[ch], `${ch}: retained events replay as delivered live`);
      checkChangeEvent(accounts[4], {
        entityName: 'Account', recordId: state.rec.id, changeType: 'UPDATE', userId, fields: { Phone: phone2 },
      });
      assert.ok(accounts[4].payload.ChangeEventHeader.changedFields.includes('LastModifiedDate'));
      assert.ok(accounts[4].event.replayId > state.stored[ch], 'the later event has a higher replay id');
      assertIncreasing(replayed);
      assert.deepEqual(later.received[ch], [accounts[4]], `${ch} from ${state.stored[ch]}: ${summary(later.received[ch])}`);
    }
    assert.deepEqual([...all.failures, ...later.failures], []);
    await disconnect(all.cometd);
    await disconnect(later.cometd);
  });

  it('an invalid replay id: the subscribe callback gets successful:false and the Salesforce error', { timeout: TEST_TIMEOUT_MS }, async () => {
    const server = s2 || s1;
    const { cometd, wire, failures } = cometdClient({ server });
    const hs = await handshake(cometd);
    assert.equal(hs.successful, true, `handshake: ${hs.error}`);
    const bad = 999999999;
    const messages = [];
    const reply = await subscribe(cometd, CHANNEL, (m) => messages.push(m), { ext: { replay: { [CHANNEL]: bad } } });
    const expected = invalidReplayError(bad);
    assert.equal(reply.successful, false);
    assert.equal(reply.subscription, CHANNEL);
    assert.equal(reply.error, expected);
    const onWire = wire.in.find((m) => m.channel === '/meta/subscribe');
    assert.equal(onWire.error, expected, 'as sent by the server');
    assert.deepEqual(failures.map((f) => [f.channel, f.error]), [['/meta/subscribe', expected]],
      '/meta/unsuccessful saw the same failure');
    assert.deepEqual(messages, []);
    await disconnect(cometd);
  });
});
