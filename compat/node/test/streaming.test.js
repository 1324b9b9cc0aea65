'use strict';
// Streaming API (CometD / Bayeux long-polling) through jsforce's faye client:
// Change Data Capture events on /data/AccountChangeEvent produced by REST
// writes, jsforce's Replay extension (-2 and a stored replay id) and its
// AuthFailure extension (handshake denied; token revoked mid-session, then a
// new login and a new client resume). On a server with its data on disk:
// one Account's CREATE / UPDATE / DELETE / UNDELETE on /data/ChangeEvents and
// /data/AccountChangeEvent, a restart (SIGKILL) and replay from -2 and from the
// stored ids, and the invalid-replay-id error.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const jsforce = require('jsforce');
const { StreamingExtension } = require('jsforce/api/streaming');
const { startServer, revokeToken, uniq, API_VERSION } = require('./server');
const {
  TEST_TIMEOUT_MS, waitUntil, withTimeout, findChange, summary, checkChangeEvent, assertIncreasing,
  accountLifecycle, checkLifecycle, invalidReplayError, settle,
} = require('./helpers/streaming');

const CHANNEL = '/data/AccountChangeEvent';
const ALL = '/data/ChangeEvents';

let srv;
let conn;
const clients = [];
before(async () => {
  srv = await startServer('streaming');
  conn = new jsforce.Connection({
    instanceUrl: srv.baseUrl,
    accessToken: srv.info.access_token,
    version: API_VERSION,
  });
});
after(async () => {
  // A faye client left connected keeps a long poll (and this process) alive.
  for (const c of clients) await disconnect(c);
  await srv?.stop();
});

/** A faye client from jsforce with the given extensions; disconnected in after(). */
function streamingClient(connection, extensions) {
  const client = connection.streaming.createClient(extensions);
  clients.push(client);
  return client;
}

async function disconnect(client) {
  try {
    const p = client.disconnect();
    if (p) await withTimeout(p, 'faye disconnect', 5000);
  } catch {
    // already gone
  }
  // The disconnect releases the parked connect; wait for its reply too, so a
  // server killed right afterwards cannot fail it (faye would then schedule a
  // retry 5 s later and keep this process alive).
  await waitUntil(() => client._dispatcher._envelopes.size === 0, 'faye requests settled', { ms: 2000 })
    .catch(() => {});
  try {
    client._dispatcher.close();
  } catch {
    // ignore
  }
}

/** An AuthFailure extension that fails the test by recording the message. */
function noAuthFailure(failures) {
  return new StreamingExtension.AuthFailure((msg) => failures.push(msg));
}

async function createAccount(fields) {
  const res = await conn.sobject('Account').create(fields);
  assert.equal(res.success, true, `create Account: ${JSON.stringify(res)}`);
  return res.id;
}

describe('jsforce streaming: Change Data Capture over CometD', () => {
  it('replays retained events with -2, then receives live ones', { timeout: TEST_TIMEOUT_MS }, async () => {
    const n1 = uniq('stream-a');
    const n2 = uniq('stream-b');
    const n3 = uniq('stream-c');
    const id1 = await createAccount({ Name: n1 });
    const id2 = await createAccount({ Name: n2, Phone: '555-0101' });

    const received = [];
    const failures = [];
    const replay = new StreamingExtension.Replay(CHANNEL, -2);
    const client = streamingClient(conn, [replay, noAuthFailure(failures)]);
    const sub = client.subscribe(CHANNEL, (data) => received.push(data));
    await withTimeout(sub, `subscribe ${CHANNEL}`);

    await waitUntil(() => findChange(received, id1) && findChange(received, id2),
      'the two retained CREATE events (replay -2)', { describe: () => summary(received) });

    // Live: written while the client is subscribed (its connect is parked).
    const id3 = await createAccount({ Name: n3, Industry: 'Technology' });
    await waitUntil(() => findChange(received, id3), 'the live CREATE event',
      { describe: () => summary(received) });
    await conn.sobject('Account').update({ Id: id3, Phone: '555-0199' });
    await waitUntil(() => findChange(received, id3, 'UPDATE'), 'the live UPDATE event',
      { describe: () => summary(received) });
    await conn.sobject('Account').destroy(id2);
    await waitUntil(() => findChange(received, id2, 'DELETE'), 'the live DELETE event',
      { describe: () => summary(received) });

    assert.deepEqual(failures, [], 'AuthFailure never fired');
    const userId = srv.info.user_id;
    const e1 = findChange(received, id1);
    const e2 = findChange(received, id2);
    const e3 = findChange(received, id3);
    const u3 = findChange(received, id3, 'UPDATE');
    const d2 = findChange(received, id2, 'DELETE');
    checkChangeEvent(e1, { entityName: 'Account', recordId: id1, changeType: 'CREATE', userId, fields: { Name: n1 } });
    checkChangeEvent(e2, {
      entityName: 'Account', recordId: id2, changeType: 'CREATE', userId, fields: { Name: n2, Phone: '555-0101' },
    });
    checkChangeEvent(e3, {
      entityName: 'Account', recordId: id3, changeType: 'CREATE', userId, fields: { Name: n3, Industry: 'Technology' },
    });
    checkChangeEvent(u3, { entityName: 'Account', recordId: id3, changeType: 'UPDATE', userId, fields: { Phone: '555-0199' } });
    assert.ok(u3.payload.ChangeEventHeader.changedFields.includes('Phone'), 'UPDATE lists Phone in changedFields');
    assert.ok(u3.payload.ChangeEventHeader.changedFields.includes('LastModifiedDate'),
      'UPDATE lists LastModifiedDate in changedFields');
    assert.ok(!('Name' in u3.payload), 'UPDATE carries only the changed fields');
    checkChangeEvent(d2, { entityName: 'Account', recordId: id2, changeType: 'DELETE', userId });

    // Delivered once each, in commit order, with increasing replay ids.
    const ours = [e1, e2, e3, u3, d2];
    for (const e of ours) {
      assert.equal(received.filter((d) => d.event.replayId === e.event.replayId).length, 1,
        `replayId ${e.event.replayId} delivered once`);
    }
    assertIncreasing(received);
    const order = ours.map((e) => received.indexOf(e));
    assert.deepEqual(order, [...order].sort((a, b) => a - b), 'events arrive in the order the writes happened');
    assert.equal(replay._replay, d2.event.replayId, 'the Replay extension remembers the last replay id');

    await disconnect(client);
  });

  it('resubscribing from a stored replay id receives only newer events', { timeout: TEST_TIMEOUT_MS }, async () => {
    const idA = await createAccount({ Name: uniq('resume-a') });

    // First session: read everything, keep the replay id the extension stored.
    const first = [];
    const replay1 = new StreamingExtension.Replay(CHANNEL, -2);
    const c1 = streamingClient(conn, [replay1]);
    await withTimeout(c1.subscribe(CHANNEL, (d) => first.push(d)), 'first subscribe');
    const eA = await waitUntil(() => findChange(first, idA), 'event A in the first session',
      { describe: () => summary(first) });
    await disconnect(c1);
    const stored = replay1._replay;
    assert.ok(stored >= eA.event.replayId, `stored replay id ${stored} covers event A (${eA.event.replayId})`);

    // Written while nobody listens.
    const idB = await createAccount({ Name: uniq('resume-b') });
    const idC = await createAccount({ Name: uniq('resume-c') });

    const second = [];
    const c2 = streamingClient(conn, [new StreamingExtension.Replay(CHANNEL, stored)]);
    await withTimeout(c2.subscribe(CHANNEL, (d) => second.push(d)), 'second subscribe');
    await waitUntil(() => findChange(second, idB) && findChange(second, idC),
      'events B and C (after the stored replay id)', { describe: () => summary(second) });
    const idD = await createAccount({ Name: uniq('resume-d') });
    await waitUntil(() => findChange(second, idD), 'live event D', { describe: () => summary(second) });

    assert.equal(findChange(second, idA), undefined, 'event A (at or before the stored id) is not replayed');
    for (const d of second) {
      assert.ok(d.event.replayId > stored, `replayId ${d.event.replayId} > stored ${stored}`);
    }
    assertIncreasing(second);
    await disconnect(c2);
  });

  it('AuthFailure fires when the handshake is denied for a bad token', { timeout: TEST_TIMEOUT_MS }, async () => {
    const bad = new jsforce.Connection({
      instanceUrl: srv.baseUrl,
      accessToken: '00DFAKE0000000000!not.a.real.token',
      version: API_VERSION,
    });
    let onFailure;
    const failed = new Promise((resolve) => { onFailure = resolve; });
    const received = [];
    const client = streamingClient(bad, [
      new StreamingExtension.Replay(CHANNEL, -2),
      new StreamingExtension.AuthFailure((msg) => onFailure(msg)),
    ]);
    client.subscribe(CHANNEL, (d) => received.push(d)).then(null, () => {});
    const msg = await withTimeout(failed, 'AuthFailure callback');
    assert.equal(msg.channel, '/meta/handshake');
    assert.equal(msg.successful, false);
    assert.equal(msg.error, '403::Handshake denied');
    assert.equal(msg.advice?.reconnect, 'none');
    assert.equal(msg.ext?.sfdc?.failureReason, '401::Authentication invalid');
    assert.equal(msg.ext?.replay, true);
    assert.deepEqual(received, []);
  });

  it('AuthFailure fires on /meta/connect after a revoke; a fresh token and a new client resume', { timeout: TEST_TIMEOUT_MS }, async () => {
    // OAuth password grant (jsforce's login() with a client id and secret):
    // POST /services/oauth2/token, a session of its own.
    const own = new jsforce.Connection({
      oauth2: { loginUrl: srv.baseUrl, clientId: srv.info.client_id, clientSecret: srv.info.client_secret },
      version: API_VERSION,
    });
    await own.login(srv.info.username, srv.info.password);
    const firstToken = own.accessToken;
    assert.notEqual(firstToken, srv.info.access_token, 'a session of its own');

    const failures = [];
    const received = [];
    const replay = new StreamingExtension.Replay(CHANNEL, -1);
    const client = streamingClient(own, [replay, new StreamingExtension.AuthFailure((msg) => failures.push(msg))]);
    await withTimeout(client.subscribe(CHANNEL, (d) => received.push(d)), 'subscribe');
    const idBefore = await createAccount({ Name: uniq('revoke-before') });
    await waitUntil(() => findChange(received, idBefore), 'an event while the token is valid',
      { describe: () => summary(received) });

    await revokeToken(srv, firstToken);
    // Wake the parked connect (written with the suite's other, valid token);
    // the client's next connect carries the revoked token. (If that connect
    // went out before the revoke landed it fails at once, and the new client
    // below gets this event by replay instead.)
    const idAfter = await createAccount({ Name: uniq('revoke-after') });
    const msg = await waitUntil(() => failures[0], 'AuthFailure callback after revoke');
    assert.equal(msg.channel, '/meta/connect');
    assert.equal(msg.successful, false);
    assert.equal(msg.error, '401::Authentication invalid');
    assert.equal(msg.advice?.reconnect, 'none');

    // What the AuthFailure callback is for: log in again (a new token from the
    // password grant) and handshake on a new client, resuming after the last
    // replay id the old client's Replay extension saw.
    await own.login(srv.info.username, srv.info.password);
    assert.notEqual(own.accessToken, firstToken, 'a fresh token');
    const resumeFrom = replay._replay;
    const wire = [];
    const client2 = streamingClient(own, [
      new StreamingExtension.Replay(CHANNEL, resumeFrom),
      new StreamingExtension.AuthFailure((m) => failures.push(m)),
      { incoming(m, cb) { wire.push(m); cb(m); } },
    ]);
    const received2 = [];
    await withTimeout(client2.subscribe(CHANNEL, (d) => received2.push(d)), 'subscribe on the new client');
    const idRecovered = await createAccount({ Name: uniq('revoke-recovered') });
    await waitUntil(() => findChange(received2, idRecovered), 'a live event on the new client',
      { describe: () => summary(received2) });

    const hs = wire.find((m) => m.channel === '/meta/handshake');
    assert.equal(hs?.successful, true, 'the new client handshook with the fresh token');
    assert.equal(failures.length, 1, `no AuthFailure after the new login: ${JSON.stringify(failures)}`);
    // Nothing lost or repeated across the two clients.
    const all = [...received, ...received2];
    for (const id of [idBefore, idAfter, idRecovered]) {
      assert.equal(all.filter((d) => findChange([d], id)).length, 1, `event for ${id} delivered once: ${summary(all)}`);
    }
    for (const d of received2) assert.ok(d.event.replayId > resumeFrom, `replayId ${d.event.replayId} > ${resumeFrom}`);
  });
});

// One faye client per channel: jsforce's Replay extension writes a one-channel
// ext.replay map on every subscribe, so two of them on one client would
// overwrite each other's entry.
describe('jsforce streaming: both CDC channels across a server restart', () => {
  const CHANNELS = [ALL, CHANNEL];
  let dataDir;
  let s1;
  let s2;
  const mine = [];
  // Carried from the live test to the restart test.
  const state = {};

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'forcebus-jsforce-restart-'));
    s1 = await startServer('streaming-restart-1', { dataDir, inMemory: false });
  });
  after(async () => {
    for (const c of mine) await disconnect(c);
    await s1?.stop();
    await s2?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  function connectionTo(server) {
    return new jsforce.Connection({ instanceUrl: server.baseUrl, accessToken: server.info.access_token, version: API_VERSION });
  }

  /** One client per channel with a Replay extension from `replayFrom[channel]`; resolves once all are subscribed. */
  async function subscribeAll(connection, replayFrom) {
    const subs = {};
    for (const ch of CHANNELS) {
      const replay = new StreamingExtension.Replay(ch, replayFrom[ch]);
      const failures = [];
      const client = streamingClient(connection, [replay, noAuthFailure(failures)]);
      mine.push(client);
      const received = [];
      await withTimeout(client.subscribe(ch, (d) => received.push(d)), `subscribe ${ch} from ${replayFrom[ch]}`);
      subs[ch] = { client, replay, received, failures };
    }
    return subs;
  }

  it('CREATE, UPDATE, DELETE, UNDELETE of one Account arrive on both channels (-1)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const conn1 = connectionTo(s1);
    // -1: only what is written after the subscribe, so not the seed User's
    // startup CREATE that /data/ChangeEvents retains.
    const subs = await subscribeAll(conn1, { [ALL]: -1, [CHANNEL]: -1 });
    const rec = await accountLifecycle(conn1, uniq('life'));
    for (const ch of CHANNELS) {
      await waitUntil(() => findChange(subs[ch].received, rec.id, 'UNDELETE'), `the UNDELETE on ${ch}`,
        { describe: () => summary(subs[ch].received) });
    }
    await settle();
    const userId = s1.info.user_id;
    for (const ch of CHANNELS) {
      const { received, replay, failures } = subs[ch];
      assert.equal(received.length, 4, `exactly four events on ${ch}: ${summary(received)}`);
      checkLifecycle(received, rec, userId);
      assert.equal(replay._replay, received[3].event.replayId, `${ch}: the Replay extension stored the last id`);
      assert.deepEqual(failures, []);
      await disconnect(subs[ch].client);
    }
    Object.assign(state, {
      rec,
      live: Object.fromEntries(CHANNELS.map((ch) => [ch, subs[ch].received])),
      stored: Object.fromEntries(CHANNELS.map((ch) => [ch, subs[ch].replay._replay])),
    });
  });

  it('after a restart on the same data: -2 replays events from before it, a stored id only later ones', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(state.rec, 'the previous test stored its record and replay ids');
    const killed = await s1.kill('SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    s2 = await startServer('streaming-restart-2', { dataDir, inMemory: false });
    // New port, new token: a new Connection.
    const conn2 = connectionTo(s2);
    const userId = s2.info.user_id;
    assert.equal(userId, s1.info.user_id, 'the same org and user after the restart');
    const phone2 = '555-0143';
    const up = await conn2.sobject('Account').update({ Id: state.rec.id, Phone: phone2 });
    assert.equal(up.success, true, 'update after the restart');

    const all = await subscribeAll(conn2, { [ALL]: -2, [CHANNEL]: -2 });
    const later = await subscribeAll(conn2, state.stored);
    const isLater = (d) => {
      const h = d.payload.ChangeEventHeader;
      return h.changeType === 'UPDATE' && d.payload.Phone === phone2;
    };
    for (const subs of [all, later]) {
      for (const ch of CHANNELS) {
        await waitUntil(() => subs[ch].received.find(isLater), `the post-restart UPDATE on ${ch}`,
          { describe: () => summary(subs[ch].received) });
      }
    }
    await settle();

    for (const ch of CHANNELS) {
      const replayed = all[ch].received;
      // -2: the seed User's CREATE (on /data/ChangeEvents only), the four
      // events from before the restart exactly as they were delivered live,
      // then the update written after it.
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

      // From the stored id: only the event written after the restart.
      assert.deepEqual(later[ch].received, [accounts[4]], `${ch} from ${state.stored[ch]}: ${summary(later[ch].received)}`);
      assert.deepEqual(all[ch].failures, []);
      assert.deepEqual(later[ch].failures, []);
      await disconnect(all[ch].client);
      await disconnect(later[ch].client);
    }
  });

  it('an invalid replay id fails the subscription with the Salesforce error', { timeout: TEST_TIMEOUT_MS }, async () => {
    const server = s2 || s1;
    const wire = [];
    const bad = 999999999;
    const client = streamingClient(connectionTo(server), [
      new StreamingExtension.Replay(CHANNEL, bad),
      { incoming(m, cb) { wire.push(m); cb(m); } },
    ]);
    mine.push(client);
    const received = [];
    const err = await withTimeout(
      client.subscribe(CHANNEL, (d) => received.push(d)).then(() => assert.fail('subscribe succeeded'), (e) => e),
      'the subscription error',
    );
    const expected = invalidReplayError(bad);
    const reply = wire.find((m) => m.channel === '/meta/subscribe');
    assert.equal(reply?.successful, false);
    assert.equal(reply.subscription, CHANNEL);
    assert.equal(reply.error, expected);
    // faye's Error.parse only splits code::message when the text fits its
    // Bayeux grammar (no braces, no commas), so here the whole string is the message.
    assert.equal(err.message, expected);
    assert.deepEqual(received, []);
    await disconnect(client);
  });
});

/** The value of the server's counter `name` with every label in `labels` (undefined when
 * no such series exists yet). */
async function counter(name, labels) {
  const text = await (await fetch(`${srv.baseUrl}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

/** The server's count of HTTP connections served by `path` (`lean` or `hyper`). */
async function connectionsServedBy(path) {
  const n = await counter('forcebus_http_connections_total', { served_by: path });
  assert.ok(n !== undefined, `no ${path} series in /metrics`);
  return n;
}

/** The server's count of Streaming API requests answered 400 (faye's WebSocket probes). */
async function streamingRefusals() {
  return (await counter('forcebus_http_requests_total', { family: 'cometd', status: '400' })) ?? 0;
}

describe('jsforce streaming: the connections it opens', () => {
  it('REST and faye (its WebSocket probe, then long polls) all stay on the lean path', { timeout: TEST_TIMEOUT_MS }, async () => {
    const hyper = await connectionsServedBy('hyper');
    const lean = await connectionsServedBy('lean');
    const refusals = await streamingRefusals();
    await conn.query('SELECT Id FROM Account LIMIT 1');
    const received = [];
    const client = streamingClient(conn, []);
    await withTimeout(client.subscribe(CHANNEL, (data) => received.push(data)), `subscribe ${CHANNEL}`);
    const id = await createAccount({ Name: uniq('stream-lean') });
    await waitUntil(() => findChange(received, id), 'the live CREATE event', { describe: () => summary(received) });
    // faye probes for a WebSocket first (a GET with `Upgrade: websocket`), which the
    // Streaming API refuses; nothing jsforce sent handed a connection to hyper.
    assert.ok(await streamingRefusals() > refusals, 'faye sent its WebSocket probe and it was refused');
    assert.equal(await connectionsServedBy('hyper'), hyper, 'connections handed to hyper');
    assert.ok(await connectionsServedBy('lean') > lean, 'faye opened connections of its own');
  });
});
